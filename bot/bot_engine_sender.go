package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"herald"

	"herald/botframework"
)

// Notifier is what the bot needs of a delivery engine (*engine.Engine
// implements it): accept a notification, stored durably with its first job
// before SendWith returns, running also in the same transaction (nil: no
// more).
type Notifier interface {
	SendWith(ctx context.Context, req herald.NotificationRequest, also herald.TxFunc) (herald.Notification, error)
}

// engineSender is the Sender that goes through the delivery engine.
type engineSender struct {
	eng      Notifier
	fallback Sender
}

// NewEngineSender returns a Sender that sends the bot's messages through
// the delivery engine: a message to a user's personal chat, or a new post
// in a channel, becomes a high-priority notification to that one
// recipient — paced within Teams' limits, retried, recorded as a
// delivery, and exempt from topic opt-outs like any message the bot sends
// on its own. It returns as soon as the notification is stored (the id it
// returns is the notification's, not the message's), so no worker waits
// for Teams; with it, a personal welcome is stored as a notification while
// the install event is answered: one durable hop.
//
// With SendOptions.Key (the bot gives every welcome one) the
// notification's idempotency key is derived from it, so a repeated send —
// a welcome job retried after a crash, a duplicate install event — adds
// nothing.
//
// What a notification cannot carry goes through fallback (normally
// NewConnectorSender): replies (ReplyToID set), posts into an existing
// personal chat, group chat or thread by conversation id (command
// answers, follow-up answers), and activities with entities, channel
// data, suggested actions or a value. The engine must share the bot's
// store.
func NewEngineSender(eng Notifier, fallback Sender) Sender {
	return &engineSender{eng: eng, fallback: fallback}
}

// SendToConversation implements Sender: a channel's root conversation
// gets a new post through the engine; anything else goes to the fallback.
func (s *engineSender) SendToConversation(ctx context.Context, conv herald.Conversation, activity *botframework.Activity, opts SendOptions) (string, error) {
	if conv.Type != botframework.ConversationChannel || conv.TeamID == "" || conv.ID != conv.ChannelID || !carried(activity) {
		return s.fallback.SendToConversation(ctx, conv, activity, opts)
	}
	target := herald.ChannelTarget{Team: conv.TeamID, Channel: conv.ChannelID}
	if conv.ChannelID == conv.TeamID {
		target.Channel = "" // General, whose id is the team's
	}
	req := request(activity, opts)
	req.Audience = herald.Audience{Channels: []herald.ChannelTarget{target}}
	return s.send(ctx, req)
}

// SendToUser implements Sender.
func (s *engineSender) SendToUser(ctx context.Context, u herald.User, activity *botframework.Activity, opts SendOptions) (string, error) {
	if !u.Reachable() {
		return "", fmt.Errorf("send to user %s (blocked %v, uninstalled %v): %w", u.ID, u.Blocked, u.Uninstalled, herald.ErrUnreachable)
	}
	if !carried(activity) {
		return s.fallback.SendToUser(ctx, u, activity, opts)
	}
	req := request(activity, opts)
	req.Audience = herald.Audience{Users: []string{u.ID}}
	return s.send(ctx, req)
}

// carried reports whether a notification's content can carry activity.
func carried(a *botframework.Activity) bool {
	return (a.Type == "" || a.Type == botframework.TypeMessage) && a.ReplyToID == "" && len(a.Entities) == 0 &&
		a.ChannelData == nil && a.SuggestedActions == nil && len(a.Value) == 0
}

// request turns an activity into a single-recipient notification request
// (without its audience).
func request(a *botframework.Activity, opts SendOptions) herald.NotificationRequest {
	req := herald.NotificationRequest{
		Title: firstNonEmpty(a.Summary, "Message from the bot"),
		Content: herald.Content{Text: a.Text, TextFormat: a.TextFormat, Summary: a.Summary,
			Attachments: a.Attachments, AttachmentLayout: a.AttachmentLayout},
		Priority: herald.PriorityHigh,
		Critical: true,
	}
	if opts.Key != "" {
		req.IdempotencyKey = "bot:" + opts.Key
		if len(req.IdempotencyKey) > 512 {
			sum := sha256.Sum256([]byte(opts.Key))
			req.IdempotencyKey = "bot-sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return req
}

// send submits req and returns the notification's id.
func (s *engineSender) send(ctx context.Context, req herald.NotificationRequest) (string, error) {
	n, err := s.eng.SendWith(ctx, req, nil)
	if errors.Is(err, herald.ErrIdempotencyMismatch) {
		// A message went under this key before, with other content (a
		// name changed between a welcome job's attempts): that one stands.
		return "", nil
	}
	if errors.Is(err, herald.ErrInvalid) {
		return "", fmt.Errorf("send through the engine: %w: %w", err, errDrop)
	}
	if err != nil {
		return "", fmt.Errorf("send through the engine: %w", err)
	}
	return n.ID, nil
}
