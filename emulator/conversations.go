package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"herald/botframework"
)

// Connector answers, in Teams' shapes.
type resourceResponse struct {
	ID string `json:"id"`
}

type conversationResourceResponse struct {
	ID         string `json:"id"`
	ActivityID string `json:"activityId,omitempty"`
}

// decodeActivity decodes an activity body; an activity without a type is
// malformed.
func (e *Emulator) decodeActivity(c *call) (*botframework.Activity, error) {
	var a botframework.Activity
	if err := e.decode(c, &a); err != nil {
		return nil, err
	}
	if a.Type == "" {
		e.fail(fmt.Errorf("%s %s: activity has no type", c.r.Method, c.r.URL.Path))
		return nil, errBadArgument("Activity type is required.")
	}
	return &a, e.checkSize(c.body)
}

// resolve finds a conversation by id. Caller holds e.mu.
func (e *Emulator) resolve(id string) (*conversation, error) {
	if c := e.convs[id]; c != nil {
		return c, nil
	}
	return nil, errNotFound()
}

// limitKey is the thread a conversation's requests count towards: a channel
// for its threads, else the conversation itself.
func limitKey(c *conversation) string {
	if c.kind == kindChannel {
		return c.channelID
	}
	return c.id
}

// canPost checks that the bot may post to c. Caller holds e.mu.
func (e *Emulator) canPost(c *conversation) error {
	if t := e.tenants[c.tenantID]; t != nil && t.disabled {
		return errDisabled()
	}
	switch c.kind {
	case kindPersonal:
		u := e.findUser(c.userID)
		switch {
		case u == nil:
			return errNotFound()
		case u.blocked:
			return errBlocked()
		case !e.reachable(u):
			return errNotInRoster()
		}
	case kindChannel:
		if t := e.teams[c.teamID]; t == nil || !t.installed {
			return errNotInRoster()
		}
	case kindGroupChat:
		if !c.botInstalled {
			return errNotInRoster()
		}
	}
	return nil
}

// createConversation is POST /v3/conversations: a 1:1 chat, which needs
// the tenant, or a new thread in a channel, whose tenant Teams knows
// (botbuilder's sendMessageToTeamsChannel sends none).
func (e *Emulator) createConversation(c *call) (result, error) {
	var p botframework.ConversationParameters
	if err := e.decode(c, &p); err != nil {
		return result{}, err
	}
	tenantID := p.TenantID
	if tenantID == "" && p.ChannelData != nil && p.ChannelData.Tenant != nil {
		tenantID = p.ChannelData.Tenant.ID
	}
	var channelID string
	if cd := p.ChannelData; cd != nil {
		channelID = cd.TeamsChannelID
		if cd.Channel != nil && cd.Channel.ID != "" {
			channelID = cd.Channel.ID
		}
	}
	if tenantID == "" && channelID == "" {
		return result{}, &apiError{status: http.StatusBadRequest, code: "BadSyntax", message: "Could not parse tenant id"}
	}
	if p.Activity != nil {
		if p.Activity.Type == "" {
			e.fail(fmt.Errorf("create conversation: activity has no type"))
			return result{}, errBadArgument("Activity type is required.")
		}
		if err := e.checkSize(c.body); err != nil {
			return result{}, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if tenantID == "" {
		t := e.teamOf(channelID)
		if t == nil {
			return result{}, errNotFound()
		}
		tenantID = t.tenantID
	}
	tn := e.tenants[tenantID]
	switch {
	case tn == nil:
		return result{}, errBadArgument("Tenant " + tenantID + " not found.")
	case tn.disabled:
		return result{}, errDisabled()
	}
	if channelID != "" {
		return e.createThread(c, tn, channelID, p.Activity)
	}
	if p.IsGroup || len(p.Members) > 1 {
		return result{}, errBadSyntax() // bots cannot create group chats
	}
	return e.createPersonal(c, tn, p)
}

func (e *Emulator) createThread(c *call, tn *tenant, channelID string, a *botframework.Activity) (result, error) {
	t := e.teamOf(channelID)
	c.conv = channelID
	switch {
	case t == nil || t.tenantID != tn.id:
		return result{}, errNotFound()
	case !t.installed:
		return result{}, errNotInRoster()
	case a == nil:
		return result{}, errBadSyntax() // a thread starts with its first message
	}
	if err := e.rate(classCreate, tn.id, channelID); err != nil {
		return result{}, err
	}
	rec := e.postFromBot(e.convs[channelID], a, "")
	return result{http.StatusCreated, conversationResourceResponse{ID: threadID(channelID, rec.id), ActivityID: rec.id}}, nil
}

func (e *Emulator) createPersonal(c *call, tn *tenant, p botframework.ConversationParameters) (result, error) {
	if len(p.Members) != 1 {
		return result{}, errBadArgument("A 1:1 conversation needs exactly one member.")
	}
	m := p.Members[0]
	if m.ID == "" {
		return result{}, errBadArgument("Member id is required: put the user's 29: id or Entra object id in members[0].id.")
	}
	u := e.findUser(m.ID)
	if u == nil || u.tenantID != tn.id || !userKey(m.ID) {
		return result{}, errBadArgument("Invalid user identity in provided tenant")
	}
	forbidden := &apiError{status: http.StatusForbidden, code: "ForbiddenOperationException", message: "Bot is not installed in user's personal scope"}
	switch {
	case u.removed:
		return result{}, errNotInRoster()
	case isGUID(m.ID) && !u.installed:
		return result{}, forbidden
	case !e.reachable(u):
		return result{}, forbidden
	}
	id := personalID(e.cfg.AppID, u.id)
	c.conv = id
	if err := e.rate(classCreate, tn.id, id); err != nil {
		return result{}, err
	}
	conv := e.personalConv(u)
	res := conversationResourceResponse{ID: conv.id}
	if p.Activity != nil {
		if u.blocked {
			return result{}, errBlocked()
		}
		res.ActivityID = e.postFromBot(conv, p.Activity, "").id
	}
	return result{http.StatusCreated, res}, nil
}

// errBadSyntax is Teams' answer to a create that is neither a 1:1 chat nor
// a channel thread with its first message: every group-chat variant
// (teams-protocol-2026.md §3).
func errBadSyntax() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadSyntax", message: "Incorrect conversation creation parameters"}
}

// userKey reports whether id can name a user to Teams when creating chats
// or batches: a 29: id or an Entra object id, not an email or UPN.
func userKey(id string) bool { return strings.HasPrefix(id, "29:") || isGUID(id) }

// personalConv returns u's personal chat with the bot, creating it if
// there is none. Caller holds e.mu.
func (e *Emulator) personalConv(u *user) *conversation {
	id := personalID(e.cfg.AppID, u.id)
	if c := e.convs[id]; c != nil {
		return c
	}
	return e.addConversation(&conversation{id: id, kind: kindPersonal, tenantID: u.tenantID, userID: u.id, created: e.now()})
}

// sendToConversation is POST /v3/conversations/{id}/activities. In a
// channel it starts a new thread; in a thread or chat it appends.
func (e *Emulator) sendToConversation(c *call) (result, error) {
	return e.post(c, "")
}

// replyToActivity is POST /v3/conversations/{id}/activities/{activityId}.
// In a channel the reply goes to the thread of activityId.
func (e *Emulator) replyToActivity(c *call) (result, error) {
	return e.post(c, c.r.PathValue("activityId"))
}

func (e *Emulator) post(c *call, replyTo string) (result, error) {
	a, err := e.decodeActivity(c)
	if err != nil {
		return result{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	conv, err := e.resolve(c.conv)
	if err != nil {
		return result{}, err
	}
	if replyTo != "" && conv.kind == kindChannel && conv.rootID == "" {
		thread := e.convs[threadID(conv.id, replyTo)]
		if thread == nil {
			return result{}, errActivityNotFound()
		}
		conv = thread
	}
	if err := e.rate(classSend, conv.tenantID, limitKey(conv)); err != nil {
		return result{}, err
	}
	if err := e.canPost(conv); err != nil {
		return result{}, err
	}
	rec := e.postFromBot(conv, a, replyTo)
	return result{http.StatusCreated, resourceResponse{ID: rec.id}}, nil
}

// botMessage finds the bot's own, undeleted message activityID in the
// request's conversation, after the limits and permissions. Caller holds
// e.mu.
func (e *Emulator) botMessage(c *call) (*conversation, *record, error) {
	conv, err := e.resolve(c.conv)
	if err != nil {
		return nil, nil, err
	}
	if err := e.rate(classSend, conv.tenantID, limitKey(conv)); err != nil {
		return nil, nil, err
	}
	if err := e.canPost(conv); err != nil {
		return nil, nil, err
	}
	rec := conv.record(c.r.PathValue("activityId"))
	switch {
	case rec == nil || !rec.deletedAt.IsZero():
		return nil, nil, errActivityNotFound()
	case rec.direction != FromBot:
		return nil, nil, &apiError{status: http.StatusForbidden, code: "NotEnoughPermissions", message: "The bot can only change its own messages."}
	}
	return conv, rec, nil
}

// updateActivity is PUT /v3/conversations/{id}/activities/{activityId}.
func (e *Emulator) updateActivity(c *call) (result, error) {
	a, err := e.decodeActivity(c)
	if err != nil {
		return result{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	conv, rec, err := e.botMessage(c)
	if err != nil {
		return result{}, err
	}
	var old botframework.Activity
	_ = json.Unmarshal(rec.body, &old)
	now := e.now()
	e.stamp(conv, a, rec.id, old.ReplyToID)
	a.Timestamp = old.Timestamp
	body, err := json.Marshal(a)
	if err != nil {
		return result{}, fmt.Errorf("encode activity: %w", err)
	}
	stamp := rec.at
	if !rec.updatedAt.IsZero() {
		stamp = rec.updatedAt
	}
	rec.history = append(rec.history, revision{at: stamp, body: rec.body})
	rec.body, rec.updatedAt, rec.views = body, now, nil
	return result{http.StatusOK, resourceResponse{ID: rec.id}}, nil
}

// deleteActivity is DELETE /v3/conversations/{id}/activities/{activityId}.
func (e *Emulator) deleteActivity(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, rec, err := e.botMessage(c)
	if err != nil {
		return result{}, err
	}
	rec.deletedAt = e.now()
	return result{status: http.StatusOK}, nil
}

// postFromBot records an activity the bot sent to conv and returns its
// record. A post to a channel (not a thread) starts a thread. Caller holds
// e.mu.
func (e *Emulator) postFromBot(conv *conversation, a *botframework.Activity, replyTo string) *record {
	now := e.now()
	id := e.clock.next(now)
	e.stamp(conv, a, id, replyTo)
	a.Timestamp = now.UTC().Truncate(time.Millisecond)
	if conv.kind == kindChannel && conv.rootID == "" {
		a.Conversation.ID = threadID(conv.id, id)
	}
	body, _ := json.Marshal(a)
	rec := &record{id: id, direction: FromBot, at: now, body: body}
	e.addRecord(conv, rec)
	if conv.kind == kindChannel && conv.rootID == "" {
		e.startThread(conv, rec)
	}
	e.stats.activities(0, 1)
	return rec
}

// startThread creates the thread conversation of root message rec in
// channel ch. Caller holds e.mu.
func (e *Emulator) startThread(ch *conversation, rec *record) *conversation {
	t := e.addConversation(&conversation{id: threadID(ch.id, rec.id), kind: kindChannel, tenantID: ch.tenantID,
		teamID: ch.teamID, channelID: ch.id, rootID: rec.id, created: rec.at})
	e.addRecord(t, rec)
	return t
}

// stamp sets the members of a bot's activity that Teams sets. Caller holds
// e.mu.
func (e *Emulator) stamp(conv *conversation, a *botframework.Activity, id, replyTo string) {
	a.ID = id
	a.ChannelID = botframework.ChannelTeams
	a.ServiceURL = e.ServiceURL()
	a.From = &botframework.ChannelAccount{ID: e.BotID(), Name: e.cfg.BotName, Role: botframework.RoleBot}
	ca := e.conversationAccount(conv)
	a.Conversation = &ca
	if conv.kind == kindPersonal {
		if u := e.findUser(conv.userID); u != nil {
			acc := u.account()
			a.Recipient = &acc
		}
	}
	if replyTo != "" {
		a.ReplyToID = replyTo
	}
}

// conversationAccount returns conv as activities carry it.
func (e *Emulator) conversationAccount(conv *conversation) botframework.ConversationAccount {
	ca := botframework.ConversationAccount{ID: conv.id, ConversationType: conv.kind, TenantID: conv.tenantID}
	switch conv.kind {
	case kindChannel:
		ca.IsGroup = true
		if t := e.teams[conv.teamID]; t != nil {
			if ch := t.channel(conv.channelID); ch != nil && ch.id != t.id {
				ca.Name = ch.name
			}
		}
	case kindGroupChat:
		ca.IsGroup = true
		ca.Name = conv.topic
	}
	return ca
}
