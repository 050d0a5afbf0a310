package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"herald"

	"github.com/riverqueue/river"
)

// Expansion chunk sizes: rows per DeliveryExpand, identifiers resolved per
// step, and how long one expansion job runs before yielding its worker.
const (
	expandChunk    = 2000
	resolveChunk   = 500
	expandBudget   = time.Minute
	partUsers      = "users"
	partTeams      = "teams"
	partChannels   = "channels"
	partReplies    = "replies"
	partTenants    = "tenants"
	partTopics     = "topics"
	partConvs      = "conversations"
	recipientUser  = "user:"
	recipientTeam  = "team:"
	recipientChan  = "channel:"
	recipientReply = "reply:"
	recipientTen   = "tenant:"
	recipientConv  = "conversation:"
)

// expandParts is the order in which audience parts are expanded. A saved
// cursor names a part by its index, so new parts go at the end: a
// notification expanding across an upgrade resumes where it was.
var expandParts = [...]string{partUsers, partTeams, partChannels, partReplies, partTenants, partTopics, partConvs}

// cursor is the expansion's resume point, saved with every chunk: part
// index, entry index within the part, and the keyset position within the
// entry.
type cursor struct {
	Part  int    `json:"p"`
	Item  int    `json:"i"`
	After string `json:"a,omitempty"`
}

func parseCursor(s string) cursor {
	var c cursor
	if s != "" {
		_ = json.Unmarshal([]byte(s), &c) // a bad cursor restarts; inserts are idempotent
	}
	return c
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// expand runs (or resumes) the expansion of a notification.
func (e *Engine) expand(ctx context.Context, id string) error {
	n, err := e.store.NotificationGet(ctx, id)
	if err != nil {
		return fmt.Errorf("expand %s: %w", id, err)
	}
	if n.State.Final() {
		return nil
	}
	if n.Expanded {
		return e.kickSenders(ctx, id, true)
	}
	if n.State == herald.NotificationScheduled {
		if at := n.NotBefore(); at.After(e.now()) {
			return river.JobSnooze(at.Sub(e.now()))
		}
		if _, err := e.store.NotificationSetState(ctx, herald.NotificationSetStateParams{
			ID: id, From: []herald.NotificationState{herald.NotificationScheduled}, To: herald.NotificationExpanding, Now: e.now(),
		}); err != nil {
			return fmt.Errorf("expand %s: %w", id, err)
		}
	}
	start := e.now()
	c := parseCursor(n.Cursor)
	for c.Part < len(expandParts) {
		if e.isStopping() || e.now().Sub(start) > expandBudget {
			return river.JobSnooze(0)
		}
		if e.rt.isCancelled(id) {
			return nil
		}
		next, tenants, err := e.expandStep(ctx, n, c)
		if err != nil {
			return fmt.Errorf("expand %s: %w", id, err)
		}
		if err := e.insertSenders(ctx, id, n.Request.Priority, tenants); err != nil {
			return fmt.Errorf("expand %s: %w", id, err)
		}
		if len(tenants) > 0 {
			e.rt.expanded(id, tenants)
		}
		c = next
	}
	ok, err := e.store.NotificationSetState(ctx, herald.NotificationSetStateParams{
		ID: id, From: []herald.NotificationState{herald.NotificationExpanding}, To: herald.NotificationSending, Expanded: true, Now: e.now(),
	})
	if err != nil {
		return fmt.Errorf("expand %s: %w", id, err)
	}
	e.rt.expanded(id, nil)
	e.signalExpanded()
	if !ok {
		return nil // cancelled meanwhile
	}
	e.log.Debug("notification expanded", "id", id)
	return e.kickSenders(ctx, id, true)
}

// expandStep records one chunk at cursor c and returns the next cursor and
// the tenants of the new pending deliveries.
func (e *Engine) expandStep(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	a := n.Request.Audience
	nextPart := cursor{Part: c.Part + 1}
	switch expandParts[c.Part] {
	case partUsers:
		if c.Item >= len(a.Users) {
			return nextPart, nil, nil
		}
		return e.expandUsers(ctx, n, c)
	case partTeams:
		if c.Item >= len(a.Teams) {
			return nextPart, nil, nil
		}
		return e.expandTeam(ctx, n, c)
	case partChannels:
		if c.Item >= len(a.Channels) {
			return nextPart, nil, nil
		}
		return e.expandChannel(ctx, n, c)
	case partReplies:
		if c.Item >= len(a.Replies) {
			return nextPart, nil, nil
		}
		return e.expandReply(ctx, n, c)
	case partTenants:
		if c.Item >= len(a.Tenants) {
			return nextPart, nil, nil
		}
		return e.expandSource(ctx, n, c, source{src: herald.SourceTenant, value: a.Tenants[c.Item], unknown: recipientTen})
	case partTopics:
		if c.Item >= len(a.Topics) {
			return nextPart, nil, nil
		}
		name, defaultOn := e.topicDefault(a.Topics[c.Item])
		return e.expandSource(ctx, n, c, source{src: herald.SourceTopic, value: name, defaultOn: defaultOn})
	case partConvs:
		if c.Item >= len(a.Conversations) {
			return nextPart, nil, nil
		}
		return e.expandConversation(ctx, n, c)
	}
	return nextPart, nil, nil
}

// expandUsers resolves the next identifiers of Audience.Users.
func (e *Engine) expandUsers(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	a := n.Request.Audience
	end := min(c.Item+resolveChunk, len(a.Users))
	var ids []string
	vars := map[string]map[string]string{}
	var unresolved []herald.Delivery
	for _, ident := range a.Users[c.Item:end] {
		ident = strings.TrimSpace(ident)
		u, err := e.findUser(ctx, ident)
		switch {
		case errors.Is(err, herald.ErrNotFound):
			unresolved = append(unresolved, unresolvedDelivery(recipientUser+ident, herald.KindPersonal))
			continue
		case err != nil:
			return c, nil, fmt.Errorf("find user: %w", err)
		}
		ids = append(ids, u.ID)
		if v := n.Request.RecipientVariables[ident]; len(v) > 0 {
			vars[u.ID] = v
		}
	}
	next := cursor{Part: c.Part, Item: end}
	var tenants []string
	if len(ids) > 0 {
		res, err := e.store.DeliveryExpand(ctx, herald.DeliveryExpandParams{
			NotificationID: n.ID, Source: herald.SourceUsers, UserIDs: ids, Variables: vars,
			Topic: n.Request.Topic, Critical: n.Request.Critical, Cursor: next.String(), Now: e.now(),
		})
		if err != nil {
			return c, nil, err
		}
		tenants = res.Tenants
	}
	if len(unresolved) > 0 || len(ids) == 0 {
		t, err := e.store.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Deliveries: unresolved, Cursor: next.String(), Now: e.now()})
		if err != nil {
			return c, nil, err
		}
		tenants = append(tenants, t...)
	}
	return next, tenants, nil
}

// expandTeam records the next chunk of a team's members.
func (e *Engine) expandTeam(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	ident := n.Request.Audience.Teams[c.Item]
	team, err := e.store.TeamFind(ctx, strings.TrimSpace(ident))
	if errors.Is(err, herald.ErrNotFound) {
		return e.insertOne(ctx, n, c, unresolvedDelivery(recipientTeam+ident, herald.KindPersonal))
	}
	if err != nil {
		return c, nil, fmt.Errorf("find team: %w", err)
	}
	return e.expandSource(ctx, n, c, source{src: herald.SourceTeam, value: team.ID, teamRemoved: team.Deleted || botRemoved(team)})
}

// botRemoved reports whether the bot was removed from a team: installed
// once (InstalledAt set), not installed now. A team the directory holds
// without ever having seen the install is not taken as removed.
func botRemoved(t herald.Team) bool { return !t.Installed && !t.InstalledAt.IsZero() }

// topicDefault returns the configured name of topic and whether it is
// default-on. A topic that is not configured reaches only those who
// opted in to it.
func (e *Engine) topicDefault(topic string) (string, bool) {
	tp, ok := herald.FindTopic(e.cfg.Topics, strings.TrimSpace(topic))
	if !ok {
		return topic, false
	}
	return tp.Name, !tp.DefaultOff
}

// source is one entry of a team, tenant or topic part for expandSource.
type source struct {
	src   herald.ExpandSource
	value string
	// unknown, when set, is the recipient prefix of an entry recorded as
	// unresolved when its first chunk is empty.
	unknown string
	// defaultOn: the topic is default-on.
	defaultOn bool
	// teamRemoved: the bot is no longer in the team (DeliveryExpandParams.TeamRemoved).
	teamRemoved bool
}

// expandSource records the next chunk of a team, tenant or topic. When the
// first chunk is empty and s.unknown names a recipient prefix, the entry
// is recorded as unresolved (a tenant nobody in the directory belongs to).
func (e *Engine) expandSource(ctx context.Context, n herald.Notification, c cursor, s source) (cursor, []string, error) {
	next := cursor{Part: c.Part, Item: c.Item + 1}
	res, err := e.store.DeliveryExpand(ctx, herald.DeliveryExpandParams{
		NotificationID: n.ID, Source: s.src, Value: s.value, After: c.After, Limit: expandChunk,
		Topic: n.Request.Topic, Critical: n.Request.Critical, TopicDefaultOn: s.defaultOn, TeamRemoved: s.teamRemoved,
		Now: e.now(), Cursor: cursor{Part: c.Part, Item: c.Item, After: c.After}.String(),
	})
	if err != nil {
		return c, nil, err
	}
	if res.Scanned == expandChunk {
		next = cursor{Part: c.Part, Item: c.Item, After: res.Last}
		// Save the advanced cursor with the next chunk; a crash repeats
		// this chunk, which inserts nothing new.
		return next, res.Tenants, nil
	}
	if res.Scanned == 0 && c.After == "" && s.unknown != "" {
		return e.insertOne(ctx, n, c, unresolvedDelivery(s.unknown+s.value, herald.KindPersonal))
	}
	return next, res.Tenants, nil
}

// expandChannel records a channel post.
func (e *Engine) expandChannel(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	target := n.Request.Audience.Channels[c.Item]
	name := target.Team + "/" + target.Channel
	team, err := e.store.TeamFind(ctx, strings.TrimSpace(target.Team))
	if errors.Is(err, herald.ErrNotFound) {
		return e.insertOne(ctx, n, c, unresolvedDelivery(recipientChan+name, herald.KindChannel))
	}
	if err != nil {
		return c, nil, fmt.Errorf("find team: %w", err)
	}
	chName := strings.TrimSpace(target.Channel)
	if chName == "" {
		chName = "General"
	}
	ch, err := e.store.ChannelFind(ctx, team.ID, chName)
	channelID := ch.ID
	switch {
	case errors.Is(err, herald.ErrNotFound) && strings.EqualFold(chName, "General"):
		channelID = team.GeneralChannelID
		if channelID == "" {
			channelID = team.ID
		}
	case errors.Is(err, herald.ErrNotFound):
		return e.insertOne(ctx, n, c, unresolvedDelivery(recipientChan+name, herald.KindChannel))
	case err != nil:
		return c, nil, fmt.Errorf("find channel: %w", err)
	}
	return e.insertOne(ctx, n, c, channelPost(team, channelID, ch.Deleted))
}

// channelPost is the delivery of a new thread in a team's channel: skipped
// as unreachable when the team is deleted or archived or the channel
// deleted, and as app-uninstalled when the bot was removed from the team.
func channelPost(team herald.Team, channelID string, channelDeleted bool) herald.Delivery {
	d := herald.Delivery{
		Recipient: recipientChan + channelID, Kind: herald.KindChannel, TenantID: team.TenantID,
		TeamID: team.ID, ChannelID: channelID, ServiceURL: team.ServiceURL, State: herald.DeliveryPending,
		Name: team.Name,
	}
	switch {
	case team.Deleted || team.Archived || channelDeleted:
		d.State, d.Reason = herald.DeliverySkipped, herald.ReasonUnreachable
	case botRemoved(team):
		d.State, d.Reason = herald.DeliverySkipped, herald.ReasonUninstalled
	}
	return d
}

// expandReply records a reply in each channel thread posted under a key.
func (e *Engine) expandReply(ctx context.Context, n herald.Notification, c cursor) (cursor, []string, error) {
	key := n.Request.Audience.Replies[c.Item]
	refs, err := e.store.MessageList(ctx, key)
	if err != nil {
		return c, nil, fmt.Errorf("list threads: %w", err)
	}
	next := cursor{Part: c.Part, Item: c.Item + 1}
	var ds []herald.Delivery
	for _, r := range refs {
		if r.Kind != herald.KindChannel {
			continue
		}
		ds = append(ds, herald.Delivery{
			Recipient: recipientReply + r.ConversationID, Kind: herald.KindReply, TenantID: r.TenantID,
			TeamID: r.TeamID, ChannelID: r.ChannelID, ConversationID: r.ConversationID,
			ReplyToID: r.ActivityID, ServiceURL: r.ServiceURL, State: herald.DeliveryPending,
		})
	}
	if len(ds) == 0 {
		ds = append(ds, unresolvedDelivery(recipientReply+key, herald.KindReply))
	}
	tenants, err := e.store.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Deliveries: ds, Cursor: next.String(), Now: e.now()})
	if err != nil {
		return c, nil, err
	}
	return next, tenants, nil
}

// insertOne records one delivery and moves to the next entry.
func (e *Engine) insertOne(ctx context.Context, n herald.Notification, c cursor, d herald.Delivery) (cursor, []string, error) {
	next := cursor{Part: c.Part, Item: c.Item + 1}
	tenants, err := e.store.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Deliveries: []herald.Delivery{d}, Cursor: next.String(), Now: e.now()})
	if err != nil {
		return c, nil, err
	}
	return next, tenants, nil
}

func unresolvedDelivery(recipient string, kind herald.DeliveryKind) herald.Delivery {
	return herald.Delivery{Recipient: recipient, Kind: kind, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved}
}
