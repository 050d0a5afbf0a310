package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"herald"

	"herald/botframework"
)

// Kinds of background task.
const (
	taskTeamAdded       = "team.added" // roster fetch, then the team welcome
	taskTeamSync        = "team.sync"  // periodic roster refresh
	taskWelcomePersonal = "welcome.personal"
	taskMemberChannel   = "welcome.member.channel"
	taskMemberPersonal  = "welcome.member.personal"
	taskReply           = "reply"        // a command's answer, or a card update
	taskUserDetails     = "user.details" // a user's email and UPN (bot_details.go)
	// Group chats (welcome_groupchat.go): the members fetch and welcome
	// on install, the card naming people added later.
	taskGroupChatAdded   = "groupchat.added"
	taskGroupChatMembers = "welcome.groupchat.members"
)

// errDrop marks a task failure that retrying cannot fix.
var errDrop = herald.ErrPermanent

// rosterLoop queues roster refreshes for the teams whose roster is due,
// now and then, until ctx ends (Start).
func (b *Bot) rosterLoop(ctx context.Context) {
	if b.cfg.RosterRefresh <= 0 {
		return
	}
	every := min(b.cfg.RosterRefresh/4, 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := b.RefreshRosters(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("schedule roster refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunJob runs one of the bot's durable jobs (register it with the job
// runner: engine.Engine.HandleJobs(bot.RunJob)). It tells the runner how
// a failure should be treated: permanent failures (the user is gone, a
// 403, a malformed job) wrap herald.ErrPermanent and are not retried;
// Teams' Retry-After comes as a herald.RetryAfterError.
func (b *Bot) RunJob(ctx context.Context, j herald.Job) error {
	err := b.handleTask(ctx, j)
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, herald.ErrPermanent):
		return err
	case permanent(err):
		return fmt.Errorf("%w: %w", err, herald.ErrPermanent)
	}
	if after := botframework.Classify(err).RetryAfter; after > 0 {
		return &herald.RetryAfterError{Err: err, After: after}
	}
	return err
}

// permanent reports whether retrying the work that failed with err cannot
// help: it was marked so, the recipient cannot be reached, or Teams
// refused it for good (403, 404, …).
func permanent(err error) bool {
	return errors.Is(err, herald.ErrPermanent) || errors.Is(err, herald.ErrUnreachable) ||
		botframework.Classify(err).Reason.Permanent()
}

func (b *Bot) handleTask(ctx context.Context, t herald.Job) error {
	switch t.Kind {
	case taskTeamAdded:
		var p teamAddedTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.teamAdded(ctx, p)
	case taskTeamSync:
		_, err := b.syncTeam(ctx, t.Key)
		return err
	case taskWelcomePersonal:
		var p personalWelcomeTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.welcomePersonal(ctx, p)
	case taskMemberChannel, taskMemberPersonal:
		var p memberWelcomeTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		if t.Kind == taskMemberChannel {
			return b.welcomeMemberChannel(ctx, p)
		}
		return b.welcomeMemberPersonal(ctx, p)
	case taskUserDetails:
		return b.runUserDetails(ctx, t)
	case taskGroupChatAdded:
		var p groupChatAddedTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.groupChatAdded(ctx, p)
	case taskGroupChatMembers:
		var p groupChatMembersTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.welcomeGroupChatMembers(ctx, p)
	case taskFollowUp:
		return b.followUp(ctx, t)
	case taskFollowUpSend:
		return b.followUpSend(ctx, t)
	case taskReply:
		var p replyTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.reply(ctx, p)
	}
	return fmt.Errorf("unknown task kind %q: %w", t.Kind, errDrop)
}

func decodeTask(t herald.Job, v any) error {
	if err := json.Unmarshal(t.Args, v); err != nil {
		return fmt.Errorf("decode %s task: %w: %w", t.Kind, err, errDrop)
	}
	return nil
}

// RefreshRosters queues a roster fetch for every installed team whose
// roster is older than RosterRefresh (Start's refresh loop calls it
// periodically); the job runner then runs them.
func (b *Bot) RefreshRosters(ctx context.Context) error {
	if b.cfg.RosterRefresh < 0 {
		return nil
	}
	before := b.now().Add(-b.cfg.RosterRefresh)
	after := ""
	for {
		teams, err := b.store.TeamList(ctx, herald.TeamListParams{InstalledOnly: true, RosterBefore: before, After: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, t := range teams {
			if err := b.addTask(ctx, taskTeamSync, t.ID, struct{}{}); err != nil {
				return err
			}
		}
		if len(teams) < 500 {
			return nil
		}
		after = teams[len(teams)-1].ID
	}
}

// replyTask is a message (or card update) queued by a command.
type replyTask struct {
	ConversationID string                 `json:"conversationId"`
	ServiceURL     string                 `json:"serviceUrl"`
	UpdateID       string                 `json:"updateId,omitempty"`
	Activity       *botframework.Activity `json:"activity"`
}

func (b *Bot) reply(ctx context.Context, p replyTask) error {
	if p.Activity == nil {
		return fmt.Errorf("reply task without activity: %w", errDrop)
	}
	if p.UpdateID != "" {
		a := *p.Activity
		a.ID = p.UpdateID
		a.Conversation = &botframework.ConversationAccount{ID: p.ConversationID}
		_, err := b.cfg.Connector.Client(p.ServiceURL).UpdateActivity(ctx, p.ConversationID, p.UpdateID, &a)
		if err != nil {
			return fmt.Errorf("update card: %w", err)
		}
		return nil
	}
	conv, err := b.store.ConversationGet(ctx, p.ConversationID)
	if errors.Is(err, herald.ErrNotFound) {
		conv = herald.Conversation{ID: p.ConversationID, ServiceURL: p.ServiceURL}
	} else if err != nil {
		return err
	}
	_, err = b.sender.SendToConversation(ctx, conv, p.Activity, SendOptions{})
	return err
}
