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
// implements it): accept a notification, wait for it to end, read its
// deliveries and retry the failed ones.
type Notifier interface {
	Send(ctx context.Context, req herald.NotificationRequest) (herald.Notification, error)
	Wait(ctx context.Context, id string) (herald.Notification, error)
	Deliveries(ctx context.Context, id string, f herald.DeliveryFilter, p herald.Page) ([]herald.Delivery, error)
	Retry(ctx context.Context, id string, opts herald.RetryOptions) (int, error)
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
// on its own. It waits for the delivery's outcome.
//
// With SendOptions.Key (the bot gives every welcome one) the
// notification's idempotency key is derived from it, so a repeated send —
// a welcome task retried after a crash, a duplicate install event —
// returns the first send's outcome instead of posting again. A delivery
// whose outcome is uncertain (the process died during the call) counts as
// sent: a welcome is sent at most once. A repeated send of a delivery that
// failed for a passing reason retries that delivery.
//
// What a notification cannot carry goes through fallback (normally
// NewConnectorSender): replies (ReplyToID set), posts into an existing
// personal chat, group chat or thread by conversation id (command
// answers, follow-up answers), and activities with entities, channel
// data, suggested actions or a value. The engine must be started and
// share the bot's store.
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

// send submits req, waits for its one delivery and maps the outcome.
func (s *engineSender) send(ctx context.Context, req herald.NotificationRequest) (string, error) {
	n, err := s.eng.Send(ctx, req)
	if errors.Is(err, herald.ErrInvalid) {
		return "", fmt.Errorf("send through the engine: %w: %w", err, errDrop)
	}
	if err != nil {
		return "", fmt.Errorf("send through the engine: %w", err)
	}
	if n.State == herald.NotificationCompleted {
		// A send with the same key ended earlier. If its delivery failed
		// for a passing reason, this retry sends it again.
		d, err := s.delivery(ctx, n.ID)
		if err != nil {
			return "", err
		}
		if d.State == herald.DeliveryFailed && d.Reason == herald.ReasonOther {
			if _, err := s.eng.Retry(ctx, n.ID, herald.RetryOptions{}); err != nil {
				return "", fmt.Errorf("send through the engine: %w", err)
			}
		}
	}
	id := n.ID
	if n, err = s.eng.Wait(ctx, id); err != nil {
		return "", fmt.Errorf("wait for the delivery of %s: %w", id, err)
	}
	if n.State == herald.NotificationCancelled {
		return "", fmt.Errorf("notification %s was cancelled: %w", n.ID, errDrop)
	}
	d, err := s.delivery(ctx, id)
	if err != nil {
		return "", err
	}
	return d.ActivityID, deliveryErr(d)
}

func (s *engineSender) delivery(ctx context.Context, id string) (herald.Delivery, error) {
	ds, err := s.eng.Deliveries(ctx, id, herald.DeliveryFilter{}, herald.Page{Limit: 1})
	if err != nil {
		return herald.Delivery{}, fmt.Errorf("send through the engine: %w", err)
	}
	if len(ds) == 0 {
		return herald.Delivery{}, fmt.Errorf("send through the engine: notification %s has no delivery", id)
	}
	return ds[0], nil
}

// deliveryErr maps a final delivery to the error a Sender returns: nil
// when delivered (or perhaps delivered), ErrUnreachable when the
// recipient cannot be reached, errDrop when retrying cannot help, and a
// plain error (retried by the bot's task) otherwise.
func deliveryErr(d herald.Delivery) error {
	desc := fmt.Sprintf("delivery %d of %s %s (%s)", d.ID, d.NotificationID, d.State, d.Reason)
	if d.Error != "" {
		desc += ": " + d.Error
	}
	switch {
	case d.State == herald.DeliveryDelivered, d.State == herald.DeliveryUncertain:
		return nil
	case d.Reason == herald.ReasonUnreachable, d.Reason == herald.ReasonBlocked, d.Reason == herald.ReasonUninstalled,
		d.Reason == herald.ReasonDisabledByAdmin, d.Reason == herald.ReasonConversationNotFound:
		return fmt.Errorf("%s: %w", desc, herald.ErrUnreachable)
	case d.State == herald.DeliveryFailed && d.Reason == herald.ReasonOther:
		return errors.New(desc)
	}
	return fmt.Errorf("%s: %w", desc, errDrop)
}
