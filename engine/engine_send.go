package engine

import (
	"context"
	"errors"
	"fmt"

	"herald"

	"herald/botframework"
)

// maxErrText is the most bytes of a call's error a delivery records.
const maxErrText = 1000

// deliver makes the calls for one delivery and returns its result.
func (e *Engine) deliver(ctx context.Context, it *item, c *caller) herald.DeliveryResult {
	d := &it.d
	res := herald.DeliveryResult{ID: d.ID}
	svc := e.serviceURL(ctx, d)
	cl := e.cfg.Connector.Client(svc)
	act := it.rt.activity(d)
	var err error
	switch d.Kind {
	case herald.KindPersonal:
		err = e.sendPersonal(ctx, it, c, cl, act, &res)
	case herald.KindChannel:
		err = e.sendChannel(ctx, it, c, cl, act, svc, &res)
	case herald.KindReply:
		err = e.sendReply(ctx, it, c, cl, act, svc, &res)
	case herald.KindGroupChat:
		err = e.sendGroupChat(ctx, it, c, cl, act, svc, &res)
	default:
		err = fmt.Errorf("unknown delivery kind %q", d.Kind)
		res.State, res.Reason, res.Error = herald.DeliveryFailed, herald.ReasonOther, err.Error()
		return res
	}
	now := e.now()
	if err == nil {
		res.State, res.DeliveredAt = herald.DeliveryDelivered, now
		return res
	}
	return e.failed(ctx, it, err, res)
}

// failed records a failed call: retry, failure, or uncertain outcome.
func (e *Engine) failed(ctx context.Context, it *item, err error, res herald.DeliveryResult) herald.DeliveryResult {
	d := &it.d
	cls := botframework.Classify(err)
	o := decide(cls, attemptInfo{
		attempts:    d.Attempts,
		now:         e.now(),
		deadline:    it.rt.deadline,
		atLeastOnce: it.rt.n.Request.AtLeastOnce,
		policy:      e.cfg.Retry,
		jitter:      e.cfg.Rand(),
	})
	res.Error = botframework.Clip(err.Error(), maxErrText)
	switch o.verdict {
	case verdictRetry:
		res.State, res.NextAttemptAt, res.Throttled = herald.DeliveryPending, o.at, o.throttled
	case verdictUncertain:
		res.State, res.Reason = herald.DeliveryUncertain, o.reason
	case verdictDelivered:
		res.State, res.DeliveredAt = herald.DeliveryDelivered, e.now()
	default:
		res.State, res.Reason = herald.DeliveryFailed, o.reason
		if cls.Retryable || cls.Reason == botframework.ReasonServiceError || cls.Reason == botframework.ReasonUnknown || cls.Reason == botframework.ReasonUnauthorized {
			res.Error = botframework.Clip(fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err), maxErrText)
		}
		e.learn(ctx, d, cls.Reason)
	}
	return res
}

// learn records in the directory what a permanent failure says about the
// recipient, so later notifications skip it.
func (e *Engine) learn(ctx context.Context, d *herald.Delivery, r botframework.Reason) {
	var err error
	switch {
	case d.Kind == herald.KindPersonal && r == botframework.ReasonBlockedByUser:
		err = e.store.UserSetBlocked(ctx, d.UserID, true)
	case d.Kind == herald.KindPersonal && (r == botframework.ReasonNotInRoster || r == botframework.ReasonNotInstalled):
		err = e.store.UserSetInstalled(ctx, d.UserID, false, e.now())
	case d.Kind == herald.KindChannel && r == botframework.ReasonNotInRoster:
		err = e.store.TeamSetInstalled(ctx, d.TeamID, false, e.now())
	case d.Kind == herald.KindGroupChat && (r == botframework.ReasonNotInRoster || r == botframework.ReasonNotInstalled):
		err = e.store.ConversationSetRemoved(ctx, d.ConversationID, true)
	}
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		e.log.Warn("record recipient state", "delivery", d.ID, "reason", r, "err", err)
	}
}

// sendPersonal posts (or updates) a personal message, creating the
// conversation when none is known and recreating it once when Teams says
// it does not exist.
func (e *Engine) sendPersonal(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.UserID, act, res)
		if done || err != nil {
			return err
		}
	}
	conv := d.ConversationID
	recreated := false
	for {
		if conv == "" {
			err := c.do(ctx, func() error {
				id, err := cl.CreatePersonalConversation(ctx, e.cfg.Bot, d.UserID, d.TenantID)
				conv = id
				return err
			})
			if err != nil {
				return err
			}
			res.UserID, res.UserConversation = d.UserID, conv
			d.ConversationID = conv
		}
		var rr *botframework.ResourceResponse
		err := c.do(ctx, func() error {
			var err error
			rr, err = cl.SendToConversation(ctx, conv, act)
			return err
		})
		if err != nil && !recreated && botframework.Classify(err).Reason == botframework.ReasonConversationNotFound {
			recreated, conv = true, ""
			continue
		}
		if err != nil {
			return err
		}
		res.ConversationID, res.ActivityID = conv, rr.ID
		if key != "" {
			res.Message = &herald.MessageRef{Key: key, Target: d.UserID, Kind: herald.KindPersonal, ConversationID: conv,
				ActivityID: rr.ID, TenantID: d.TenantID, NotificationID: d.NotificationID}
		}
		return nil
	}
}

// updateInPlace updates the message sent earlier under key to target. It
// reports done when it updated; a message Teams no longer has is
// forgotten and a new one is posted instead.
func (e *Engine) updateInPlace(ctx context.Context, c *caller, cl *botframework.Client, key, target string, act *botframework.Activity, res *herald.DeliveryResult) (bool, error) {
	ref, err := e.store.MessageFind(ctx, key, target)
	if errors.Is(err, herald.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find message: %w", err)
	}
	err = c.do(ctx, func() error {
		_, err := cl.UpdateActivity(ctx, ref.ConversationID, ref.ActivityID, act)
		return err
	})
	switch r := botframework.Classify(err).Reason; {
	case err == nil:
		res.ConversationID, res.ActivityID, res.Updated = ref.ConversationID, ref.ActivityID, true
		ref.UpdatedAt = e.now()
		res.Message = &ref
		return true, nil
	case r == botframework.ReasonActivityNotFound || r == botframework.ReasonConversationNotFound:
		return false, nil
	}
	return false, err
}

// sendChannel posts a new thread in a channel, or updates the thread
// posted earlier under the notification's key.
func (e *Engine) sendChannel(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, svc string, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.ChannelID, act, res)
		if done || err != nil {
			return err
		}
	}
	var conv, activityID string
	err := c.do(ctx, func() error {
		var err error
		conv, activityID, err = cl.CreateChannelThread(ctx, e.cfg.Bot, d.TeamID, d.ChannelID, d.TenantID, act)
		return err
	})
	if err != nil {
		return err
	}
	res.ConversationID, res.ActivityID = conv, activityID
	if key != "" {
		res.Message = &herald.MessageRef{Key: key, Target: d.ChannelID, Kind: herald.KindChannel, ConversationID: conv,
			ActivityID: activityID, TenantID: d.TenantID, TeamID: d.TeamID, ChannelID: d.ChannelID,
			ServiceURL: svc, NotificationID: d.NotificationID}
	}
	return nil
}

// sendReply replies in a thread posted earlier (or updates the reply sent
// earlier under the notification's own key).
func (e *Engine) sendReply(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, svc string, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.Recipient, act, res)
		if done || err != nil {
			return err
		}
	}
	var rr *botframework.ResourceResponse
	err := c.do(ctx, func() error {
		var err error
		rr, err = cl.ReplyToActivity(ctx, d.ConversationID, d.ReplyToID, act)
		return err
	})
	if err != nil {
		return err
	}
	res.ConversationID, res.ActivityID = d.ConversationID, rr.ID
	if key != "" {
		res.Message = &herald.MessageRef{Key: key, Target: d.Recipient, Kind: herald.KindReply, ConversationID: d.ConversationID,
			ActivityID: rr.ID, TenantID: d.TenantID, TeamID: d.TeamID, ChannelID: d.ChannelID,
			ServiceURL: svc, NotificationID: d.NotificationID}
	}
	return nil
}

// sendGroupChat posts a message into a group chat
// (POST /v3/conversations/{chat id}/activities; bots cannot create group
// chats), or updates the message posted there earlier under the
// notification's key. Its failures are a channel post's: a 403 or 404 ends
// it with the mapped reason, and a bot no longer in the chat marks the
// conversation removed (learn).
func (e *Engine) sendGroupChat(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, svc string, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.ConversationID, act, res)
		if done || err != nil {
			return err
		}
	}
	var rr *botframework.ResourceResponse
	err := c.do(ctx, func() error {
		var err error
		rr, err = cl.SendToConversation(ctx, d.ConversationID, act)
		return err
	})
	if err != nil {
		return err
	}
	res.ConversationID, res.ActivityID = d.ConversationID, rr.ID
	if key != "" {
		res.Message = &herald.MessageRef{Key: key, Target: d.ConversationID, Kind: herald.KindGroupChat, ConversationID: d.ConversationID,
			ActivityID: rr.ID, TenantID: d.TenantID, ServiceURL: svc, NotificationID: d.NotificationID}
	}
	return nil
}

// serviceURL picks where to call for a delivery: its own serviceUrl, its
// tenant's, or the default.
func (e *Engine) serviceURL(ctx context.Context, d *herald.Delivery) string {
	if d.ServiceURL != "" {
		return d.ServiceURL
	}
	return e.tenantServiceURL(ctx, d.TenantID)
}

// tenantServiceURL is where to call for a tenant: the serviceUrl of its
// last activity, else the configured default (Config.DefaultServiceURL).
func (e *Engine) tenantServiceURL(ctx context.Context, tenantID string) string {
	if v, ok := e.tenSvc.Load(tenantID); ok {
		if s := v.(string); s != "" {
			return s
		}
		return e.cfg.DefaultServiceURL
	}
	svc := ""
	if t, err := e.store.TenantGet(ctx, tenantID); err == nil {
		svc = t.ServiceURL
		e.tenSvc.Store(tenantID, svc)
	}
	if svc == "" {
		return e.cfg.DefaultServiceURL
	}
	return svc
}
