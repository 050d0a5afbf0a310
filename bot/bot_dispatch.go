package bot

import (
	"context"
	"strings"

	"herald/botframework"
)

// dispatch runs the built-in commands and the registered handlers for a
// recorded activity. Commands are every personal message and, in channels
// and group chats, the messages that @mention the bot; Herald's card
// actions (Action.Execute invokes and Action.Submit messages) are handled
// wherever the card is (card_action.go).
func (b *Bot) dispatch(ctx context.Context, t *Turn) error {
	a := t.Activity
	switch a.Type {
	case botframework.TypeMessage:
		personal := isPersonal(a, a.Team())
		if len(a.Value) > 0 && strings.TrimSpace(a.Text) == "" {
			if !b.cfg.DisableCommands {
				if handled, err := b.cardSubmit(ctx, t); handled {
					return err
				}
			}
			return runHandlers(ctx, t, b.onCard)
		}
		if text, ok := b.commandText(a, personal); ok && !b.cfg.DisableCommands {
			if handled, err := b.command(ctx, t, text, len(b.onMessage) == 0); handled {
				return err
			}
		}
		return runHandlers(ctx, t, b.onMessage)
	case botframework.TypeInvoke:
		if a.Name == botframework.InvokeAdaptiveCardAction {
			return b.cardAction(ctx, t)
		}
		return runHandlers(ctx, t, b.onCard)
	case botframework.TypeEvent:
		return runHandlers(ctx, t, b.onEvent)
	}
	return nil
}

func runHandlers(ctx context.Context, t *Turn, hs []Handler) error {
	for _, h := range hs {
		if err := h(ctx, t); err != nil {
			return err
		}
	}
	return nil
}
