package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"herald"

	"herald/botframework"
)

// threadMarker separates a channel id from the root message of a thread in
// a thread's conversation id ("19:…@thread.tacv2;messageid=17").
const threadMarker = ";messageid="

// expandConversation records the post into one stored conversation of
// Audience.Conversations: a personal message to a personal chat's user, a
// new thread in a channel, a reply in a channel thread, or a message in a
// group chat. An id the directory does not hold is unresolved; a
// conversation the bot was removed from is skipped as app-uninstalled.
func (e *Engine) expandConversation(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	raw := strings.TrimSpace(n.Request.Audience.Conversations[c.Item])
	asked := recipientConv + raw
	conv, err := e.findConversation(ctx, raw)
	if errors.Is(err, herald.ErrNotFound) {
		return e.insertOne(ctx, n, c, unresolvedDelivery(asked, guessKind(raw)))
	}
	if err != nil {
		return c, nil, err
	}
	kind := conversationKind(conv)
	if conv.Removed {
		d := herald.Delivery{Recipient: asked, Kind: kind, TenantID: conv.TenantID, TeamID: conv.TeamID,
			ChannelID: conv.ChannelID, ConversationID: raw, State: herald.DeliverySkipped, Reason: herald.ReasonUninstalled}
		return e.insertOne(ctx, n, c, d)
	}
	_, msgID, threaded := strings.Cut(raw, threadMarker)
	switch {
	case kind == herald.KindChannel:
		d, err := e.channelConversation(ctx, conv, raw, msgID, threaded)
		if err != nil {
			return c, nil, err
		}
		return e.insertOne(ctx, n, c, d)
	case threaded: // only channels have threads
		return e.insertOne(ctx, n, c, unresolvedDelivery(asked, kind))
	case kind == herald.KindPersonal:
		return e.personalConversation(ctx, n, c, conv, asked)
	}
	return e.insertOne(ctx, n, c, herald.Delivery{
		Recipient: asked, Kind: herald.KindGroupChat, TenantID: conv.TenantID, ConversationID: conv.ID,
		ServiceURL: conv.ServiceURL, Name: conv.Name, State: herald.DeliveryPending,
	})
}

// findConversation looks a conversation id up: the conversation itself
// (a thread by its channel, or as stored), else a team by its id, which is
// its General channel's.
func (e *Engine) findConversation(ctx context.Context, id string) (herald.Conversation, error) {
	base, _, threaded := strings.Cut(id, threadMarker)
	conv, err := e.store.ConversationGet(ctx, base)
	if errors.Is(err, herald.ErrNotFound) && threaded {
		conv, err = e.store.ConversationGet(ctx, id)
	}
	if !errors.Is(err, herald.ErrNotFound) {
		if err != nil {
			return conv, fmt.Errorf("get conversation: %w", err)
		}
		return conv, nil
	}
	team, err := e.store.TeamGet(ctx, base)
	switch {
	case errors.Is(err, herald.ErrNotFound):
		return herald.Conversation{}, err
	case err != nil:
		return herald.Conversation{}, fmt.Errorf("get team: %w", err)
	}
	return herald.Conversation{ID: base, Type: botframework.ConversationChannel, TenantID: team.TenantID,
		ServiceURL: team.ServiceURL, TeamID: team.ID, ChannelID: base}, nil
}

// conversationKind is what a post to conv is, from its type or, for a
// reference stored without one, its shape.
func conversationKind(conv herald.Conversation) herald.DeliveryKind {
	switch conv.Type {
	case botframework.ConversationPersonal:
		return herald.KindPersonal
	case botframework.ConversationChannel:
		return herald.KindChannel
	case botframework.ConversationGroupChat:
		return herald.KindGroupChat
	}
	switch {
	case conv.UserID != "":
		return herald.KindPersonal
	case conv.TeamID != "":
		return herald.KindChannel
	}
	return guessKind(conv.ID)
}

// guessKind is the kind of a post to a conversation id by its shape alone.
func guessKind(id string) herald.DeliveryKind {
	switch {
	case strings.HasPrefix(id, "a:"):
		return herald.KindPersonal
	case strings.Contains(id, threadMarker):
		return herald.KindReply
	case strings.HasSuffix(id, "@thread.v2"):
		return herald.KindGroupChat
	}
	return herald.KindChannel
}

// channelConversation is the delivery into a channel conversation: a new
// thread (as channel: would post), or a reply when the id names a thread.
func (e *Engine) channelConversation(ctx context.Context, conv herald.Conversation, raw, msgID string, threaded bool) (herald.Delivery, error) {
	team, err := e.store.TeamGet(ctx, conv.TeamID)
	switch {
	case errors.Is(err, herald.ErrNotFound):
		team = herald.Team{ID: conv.TeamID, TenantID: conv.TenantID, ServiceURL: conv.ServiceURL}
	case err != nil:
		return herald.Delivery{}, fmt.Errorf("get team: %w", err)
	}
	channelID := conv.ChannelID
	if channelID == "" {
		channelID, _, _ = strings.Cut(conv.ID, threadMarker)
	}
	ch, err := e.store.ChannelFind(ctx, team.ID, channelID)
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		return herald.Delivery{}, fmt.Errorf("find channel: %w", err)
	}
	d := channelPost(team, channelID, ch.Deleted)
	if d.ServiceURL == "" {
		d.ServiceURL = conv.ServiceURL
	}
	if d.TenantID == "" {
		d.TenantID = conv.TenantID
	}
	if threaded {
		d.Recipient, d.Kind, d.ConversationID, d.ReplyToID = recipientReply+raw, herald.KindReply, raw, msgID
	}
	return d, nil
}

// personalConversation records a personal message to the user of a
// personal chat, as a users entry would (opt-outs, a user known to be
// unreachable); without the user's record, the message goes into the chat
// itself.
func (e *Engine) personalConversation(ctx context.Context, n herald.Notification, c cursor, conv herald.Conversation, asked string) (cursor, []string, error) {
	next := cursor{Part: c.Part, Item: c.Item + 1}
	if conv.UserID != "" {
		_, err := e.store.UserGet(ctx, conv.UserID)
		switch {
		case err == nil:
			res, err := e.store.DeliveryExpand(ctx, herald.DeliveryExpandParams{
				NotificationID: n.ID, Source: herald.SourceUsers, UserIDs: []string{conv.UserID},
				Topic: n.Request.Topic, Critical: n.Request.Critical, Cursor: next.String(), Now: e.now(),
			})
			if err != nil {
				return c, nil, err
			}
			return next, res.Tenants, nil
		case !errors.Is(err, herald.ErrNotFound):
			return c, nil, fmt.Errorf("get user: %w", err)
		}
	}
	recipient := conv.UserID
	if recipient == "" {
		recipient = asked
	}
	return e.insertOne(ctx, n, c, herald.Delivery{
		Recipient: recipient, Kind: herald.KindPersonal, UserID: conv.UserID, TenantID: conv.TenantID,
		ConversationID: conv.ID, ServiceURL: conv.ServiceURL, State: herald.DeliveryPending,
	})
}

// findUser resolves a users entry. "29:<id>@<tenant id>" names a user
// even when the directory has never seen them: the user is recorded in
// that tenant, and the personal chat is created when the message is sent.
func (e *Engine) findUser(ctx context.Context, ident string) (herald.User, error) {
	id, tenant, ok := herald.SplitUserTenant(ident)
	if !ok {
		return e.store.UserFind(ctx, "", ident)
	}
	u, err := e.store.UserGet(ctx, id)
	if !errors.Is(err, herald.ErrNotFound) {
		return u, err
	}
	u, err = e.store.UserUpsert(ctx, herald.UserUpsertParams{ID: id, TenantID: tenant, ServiceURL: e.tenantServiceURL(ctx, tenant)})
	if err != nil {
		return u, fmt.Errorf("record user %s: %w", id, err)
	}
	e.log.Debug("recorded a user named with their tenant", "user", id, "tenant", tenant)
	return u, nil
}
