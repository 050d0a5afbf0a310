package bot

import (
	"context"
	"errors"
	"fmt"

	"herald"

	"herald/botframework"
)

// Sender sends the bot's own messages: welcomes, command replies and
// follow-up answers. The default, NewConnectorSender, calls the Connector
// directly; NewEngineSender sends through the delivery engine, which adds
// pacing, retries and a delivery record.
type Sender interface {
	// SendToConversation posts activity into a stored conversation and
	// returns the new activity's id.
	SendToConversation(ctx context.Context, conv herald.Conversation, activity *botframework.Activity, opts SendOptions) (string, error)
	// SendToUser posts activity into the user's personal chat, creating
	// the chat if none is known. It refuses unreachable users with
	// ErrUnreachable without calling Teams.
	SendToUser(ctx context.Context, user herald.User, activity *botframework.Activity, opts SendOptions) (string, error)
}

// SendOptions qualify one send.
type SendOptions struct {
	// Key identifies the message across retries: a Sender that can
	// deduplicate (NewEngineSender) sends at most one message per Key and
	// answers a repeated send with the first one's outcome. The bot gives
	// every welcome a key derived from its kind, subject and the previous
	// welcome of that kind. Empty means no deduplication.
	Key string
}

// connectorSender is the direct Sender.
type connectorSender struct {
	conn  *botframework.Connector
	store herald.DirectoryStore
	bot   botframework.ChannelAccount
}

// NewConnectorSender returns a Sender that calls the Connector directly,
// once per message (it ignores SendOptions.Key), and keeps the directory
// true: it records new personal conversation ids, marks users blocked on a
// 403 that says so, and forgets a conversation id Teams no longer knows.
func NewConnectorSender(conn *botframework.Connector, store herald.DirectoryStore, bot botframework.ChannelAccount) Sender {
	return &connectorSender{conn: conn, store: store, bot: bot}
}

// SendToConversation implements Sender.
func (s *connectorSender) SendToConversation(ctx context.Context, conv herald.Conversation, activity *botframework.Activity, _ SendOptions) (string, error) {
	if conv.ServiceURL == "" {
		return "", fmt.Errorf("send to conversation %s: no serviceUrl: %w", conv.ID, herald.ErrUnreachable)
	}
	a := *activity
	if a.Type == "" {
		a.Type = botframework.TypeMessage
	}
	res, err := s.conn.Client(conv.ServiceURL).SendToConversation(ctx, conv.ID, &a)
	if err != nil {
		return "", fmt.Errorf("send to conversation: %w", err)
	}
	return res.ID, nil
}

// SendToUser implements Sender.
func (s *connectorSender) SendToUser(ctx context.Context, u herald.User, activity *botframework.Activity, _ SendOptions) (string, error) {
	if !u.Reachable() {
		return "", fmt.Errorf("send to user %s (blocked %v, uninstalled %v): %w", u.ID, u.Blocked, u.Uninstalled, herald.ErrUnreachable)
	}
	svc := u.ServiceURL
	if svc == "" && u.TenantID != "" {
		if t, err := s.store.TenantGet(ctx, u.TenantID); err == nil {
			svc = t.ServiceURL
		} else if !errors.Is(err, herald.ErrNotFound) {
			return "", fmt.Errorf("send to user: %w", err)
		}
	}
	if svc == "" {
		return "", fmt.Errorf("send to user %s: no serviceUrl known: %w", u.ID, herald.ErrUnreachable)
	}
	cl := s.conn.Client(svc)
	convID := u.ConversationID
	if convID == "" {
		if u.TenantID == "" {
			return "", fmt.Errorf("send to user %s: no tenant known: %w", u.ID, herald.ErrUnreachable)
		}
		id, err := cl.CreatePersonalConversation(ctx, s.bot, u.ID, u.TenantID)
		if err != nil {
			return "", s.failed(ctx, u, fmt.Errorf("send to user: %w", err))
		}
		convID = id
		if err := s.store.UserSetConversation(ctx, u.ID, convID); err != nil {
			return "", fmt.Errorf("send to user: %w", err)
		}
	}
	a := *activity
	if a.Type == "" {
		a.Type = botframework.TypeMessage
	}
	res, err := cl.SendToConversation(ctx, convID, &a)
	if err != nil {
		return "", s.failed(ctx, u, fmt.Errorf("send to user: %w", err))
	}
	return res.ID, nil
}

// failed records what a failed send says about the user and returns err.
func (s *connectorSender) failed(ctx context.Context, u herald.User, err error) error {
	return recordUserFailure(ctx, s.store, u.ID, err)
}

// recordUserFailure records what a failed call to a user's personal chat
// says about the user (blocked: marked blocked; chat gone: its id
// forgotten) and returns err, joined with the store's error if recording
// failed.
func recordUserFailure(ctx context.Context, store herald.DirectoryStore, userID string, err error) error {
	var serr error
	switch botframework.Classify(err).Reason {
	case botframework.ReasonBlockedByUser:
		serr = store.UserSetBlocked(ctx, userID, true)
	case botframework.ReasonConversationNotFound:
		serr = store.UserSetConversation(ctx, userID, "")
	}
	if serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// SendToUser sends activity to a user of the directory (by id, Entra
// object id, UPN or email) in their personal chat, through the bot's
// Sender. Blocked and uninstalled users are refused with ErrUnreachable
// before any call to Teams.
func (b *Bot) SendToUser(ctx context.Context, user string, activity *botframework.Activity) (string, error) {
	u, err := b.store.UserFind(ctx, "", user)
	if err != nil {
		return "", fmt.Errorf("send to user: %w", err)
	}
	return b.sender.SendToUser(ctx, u, activity, SendOptions{})
}
