package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"herald/botframework"
)

// Universal Actions (teams-protocol-2026.md §4): a press of an
// Action.Execute button, or a card's refresh, reaches the bot as an
// adaptiveCard/action invoke, and the bot answers in the HTTP response.
// When the answer is a card, Teams shows it to the person who acted in
// place of the message's card: the emulator keeps it as that person's
// view of the message (RecordedActivity.Views).

// ExecuteSpec is a press of an Action.Execute button on a card the bot
// posted, or the card's refresh.
type ExecuteSpec struct {
	// From is who acts, by 29: id, Entra object id, UPN or email.
	From string `json:"from"`
	// ConversationID is where the card is, as Activities names it: a
	// personal chat, a group chat, a channel (for a root post) or a
	// thread. Empty means From's personal chat with the bot.
	ConversationID string `json:"conversationId,omitempty"`
	// MessageID is the bot's message whose card is acted on. Required.
	MessageID string `json:"messageId"`
	// Button is the title of an Action.Execute on the card as From sees
	// it (their view, else the message's card): its verb and data are
	// sent. Set one of Button, Verb and Refresh.
	Button string `json:"button,omitempty"`
	// Verb and Data are sent as they are when set (Data may be empty).
	Verb string          `json:"verb,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
	// Refresh sends the card's refresh action, as Teams does when From
	// sees the card: trigger "automatic" when the refresh's userIds name
	// From (or, without userIds, in a conversation of at most 60
	// members), else "manual" (the "Refresh card" menu item).
	Refresh bool `json:"refresh,omitempty"`
}

// ExecuteResult is the bot's answer to an adaptiveCard/action invoke, as
// Teams reads it.
type ExecuteResult struct {
	// ActivityID is the invoke's id.
	ActivityID string `json:"activityId"`
	// ConversationID is the invoke's conversation id (for a channel post,
	// its thread).
	ConversationID string `json:"conversationId"`
	// Trigger is "manual" or "automatic".
	Trigger string `json:"trigger"`
	// BotStatus is the HTTP status the bot answered (0: no bot).
	BotStatus int `json:"botStatus"`
	// Response is the body the bot answered, when it is JSON.
	Response json.RawMessage `json:"response,omitempty"`
	// Outcome is what Teams makes of the answer: OutcomeCard,
	// OutcomeMessage, OutcomeError, OutcomeOther or OutcomeInvalid.
	Outcome string `json:"outcome"`
	// Card is the card From now sees (OutcomeCard).
	Card json.RawMessage `json:"card,omitempty"`
	// Text is the text Teams shows briefly (OutcomeMessage).
	Text string `json:"text,omitempty"`
	// Error is the bot's error (OutcomeError).
	Error *botframework.InvokeError `json:"error,omitempty"`
	// Problem says why Teams would show a failure instead (OutcomeInvalid).
	Problem string `json:"problem,omitempty"`
}

// Outcomes of an invoke answer.
const (
	OutcomeCard    = "card"    // an updated card for the person who acted
	OutcomeMessage = "message" // a short text
	OutcomeError   = "error"   // an error body (statusCode 4xx or 5xx)
	OutcomeOther   = "other"   // a sign-in request or another documented type
	OutcomeInvalid = "invalid" // no invoke response Teams accepts
)

// maxRefreshAuto is the largest conversation in which a refresh without
// userIds runs automatically.
const maxRefreshAuto = 60

// pendingInvoke is an invoke built under e.mu, waiting to be posted.
type pendingInvoke struct {
	in      inbound
	card    *record // the message acted on
	userID  string
	trigger string
}

// Execute sends the bot the adaptiveCard/action invoke of s, reads its
// synchronous answer, checks its shape, and, when it is a card, records it
// as From's view of the message. An answer Teams would not accept is
// reported in the result's Problem and recorded as an error (Err).
func (e *Emulator) Execute(ctx context.Context, s ExecuteSpec) (ExecuteResult, error) {
	e.mu.Lock()
	p, err := e.invokeLocked(s)
	var rec *record
	if err == nil {
		rec = e.recordInbound(p.in)
		e.notifyLocked()
	}
	e.mu.Unlock()
	if err != nil {
		return ExecuteResult{}, err
	}
	e.stats.activities(1, 0)
	convID := p.in.act.Conversation.ID
	res := ExecuteResult{ActivityID: rec.id, ConversationID: convID, Trigger: p.trigger}
	ans, err := e.exchange(ctx, rec.body, convID, p.in.conv.tenantID, e.channelToken(e.now()))
	switch {
	case err != nil:
		res.Outcome, res.Problem = OutcomeInvalid, err.Error()
	case ans.status == 0:
		res.Outcome, res.Problem = OutcomeInvalid, "there is no bot to answer"
	default:
		res.BotStatus = ans.status
		readInvokeAnswer(ans, &res)
	}
	e.mu.Lock()
	rec.botStatus = res.BotStatus
	if res.Outcome == OutcomeCard {
		if p.card.views == nil {
			p.card.views = map[string][]byte{}
		}
		p.card.views[p.userID] = res.Card
	}
	e.notifyLocked()
	e.mu.Unlock()
	if res.Outcome == OutcomeInvalid && res.BotStatus != 0 {
		e.fail(fmt.Errorf("adaptiveCard/action invoke %s: %s", rec.id, res.Problem))
	}
	return res, nil
}

// invokeLocked checks s against the world and builds its invoke. Caller
// holds e.mu.
func (e *Emulator) invokeLocked(s ExecuteSpec) (pendingInvoke, error) {
	u, err := e.userFor("from", s.From)
	if err != nil {
		return pendingInvoke{}, err
	}
	u = e.keep(u)
	conv := e.convs[s.ConversationID]
	switch {
	case s.ConversationID == "":
		conv = e.convs[personalID(e.cfg.AppID, u.id)]
		if conv == nil {
			return pendingInvoke{}, notFound("conversationId", "user %s has no personal chat with the bot", s.From)
		}
	case conv == nil:
		return pendingInvoke{}, notFound("conversationId", "no conversation %s", s.ConversationID)
	}
	if conv.kind == kindChannel && conv.rootID == "" && e.convs[threadID(conv.id, s.MessageID)] != nil {
		conv = e.convs[threadID(conv.id, s.MessageID)]
	}
	switch {
	case !e.isMember(conv, u):
		return pendingInvoke{}, invalid("from", "user %s is not in conversation %s", s.From, conv.id)
	case !e.botInConversation(conv) || conv.kind == kindPersonal && !e.reachable(u):
		return pendingInvoke{}, invalid("conversationId", "the bot is not in conversation %s", conv.id)
	case s.MessageID == "":
		return pendingInvoke{}, invalid("messageId", "messageId is required")
	}
	msg := conv.record(s.MessageID)
	if msg == nil || msg.direction != FromBot || !msg.deletedAt.IsZero() {
		return pendingInvoke{}, notFound("messageId", "no message %s of the bot in %s", s.MessageID, conv.id)
	}
	act, trigger, err := e.chooseAction(s, conv, msg, u.id)
	if err != nil {
		return pendingInvoke{}, err
	}
	value, _ := json.Marshal(botframework.AdaptiveCardInvokeValue{Action: &act, Trigger: trigger})
	a, err := e.userMessage(u, conv, MessageSpec{ReplyToID: msg.id, Value: value})
	if err != nil {
		return pendingInvoke{}, err
	}
	a.Type, a.Name, a.ID, a.TextFormat = botframework.TypeInvoke, botframework.InvokeAdaptiveCardAction, e.eventID(), ""
	return pendingInvoke{in: inbound{conv: conv, act: a}, card: msg, userID: u.id, trigger: trigger}, nil
}

// chooseAction returns the action s sends and its trigger. Caller holds
// e.mu.
func (e *Emulator) chooseAction(s ExecuteSpec, conv *conversation, msg *record, userID string) (botframework.AdaptiveCardInvokeAction, string, error) {
	var none botframework.AdaptiveCardInvokeAction
	set := 0
	for _, on := range []bool{s.Button != "", s.Verb != "", s.Refresh} {
		if on {
			set++
		}
	}
	if set != 1 {
		return none, "", invalid("verb", "set one of button, verb and refresh")
	}
	if s.Verb != "" {
		return botframework.AdaptiveCardInvokeAction{Type: botframework.ActionExecute, Verb: s.Verb, Data: s.Data}, botframework.TriggerManual, nil
	}
	card := viewOf(msg, userID)
	if card == nil {
		return none, "", invalid("messageId", "message %s has no Adaptive Card", msg.id)
	}
	if s.Button != "" {
		act, ok := findExecute(card, s.Button)
		if !ok {
			return none, "", notFound("button", "the card has no Action.Execute titled %q", s.Button)
		}
		return act, botframework.TriggerManual, nil
	}
	var c struct {
		Refresh *struct {
			Action  botframework.AdaptiveCardInvokeAction `json:"action"`
			UserIDs *[]string                             `json:"userIds"`
		} `json:"refresh"`
	}
	if json.Unmarshal(card, &c) != nil || c.Refresh == nil || c.Refresh.Action.Type != botframework.ActionExecute {
		return none, "", invalid("refresh", "the card has no refresh with an Action.Execute")
	}
	trigger := botframework.TriggerManual
	if ids := c.Refresh.UserIDs; ids != nil && slices.Contains(*ids, userID) || ids == nil && e.memberCount(conv) <= maxRefreshAuto {
		trigger = botframework.TriggerAutomatic
	}
	return c.Refresh.Action, trigger, nil
}

// viewOf is the Adaptive Card userID sees on msg: their view, else the
// message's first Adaptive Card, else nil. Caller holds e.mu.
func viewOf(msg *record, userID string) json.RawMessage {
	if v, ok := msg.views[userID]; ok {
		return v
	}
	var a botframework.Activity
	_ = json.Unmarshal(msg.body, &a)
	for _, at := range a.Attachments {
		if at.ContentType == botframework.ContentTypeAdaptiveCard {
			return at.Content
		}
	}
	return nil
}

// findExecute finds the first Action.Execute titled title in card.
func findExecute(card json.RawMessage, title string) (botframework.AdaptiveCardInvokeAction, bool) {
	var found botframework.AdaptiveCardInvokeAction
	ok := false
	eachExecute(card, func(t string, act map[string]any) bool {
		if t != title {
			return true
		}
		raw, _ := json.Marshal(act)
		_ = json.Unmarshal(raw, &found)
		ok = true
		return false
	})
	return found, ok
}

// eachExecute calls fn with the title and JSON object of each
// Action.Execute anywhere in card (not its refresh, nor fallbacks) until fn
// returns false.
func eachExecute(card json.RawMessage, fn func(title string, act map[string]any) bool) {
	var root any
	if json.Unmarshal(card, &root) != nil {
		return
	}
	more := true
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if !more || depth > maxCardDepth*4 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == botframework.ActionExecute {
				title, _ := x["title"].(string)
				more = fn(title, x)
				return
			}
			for _, k := range cardKeys(x) {
				walk(x[k], depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(root, 0)
}

// cardKeys are the members of a card element to look into for actions,
// in the order Teams draws them: sorted, the actions after the rest, and
// neither the refresh nor fallbacks.
func cardKeys(el map[string]any) []string {
	keys := make([]string, 0, len(el))
	for k := range el {
		if k != "refresh" && k != "fallback" && k != "actions" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := el["actions"]; ok {
		keys = append(keys, "actions")
	}
	return keys
}

// memberCount is how many people are in conv. Caller holds e.mu.
func (e *Emulator) memberCount(conv *conversation) int {
	switch conv.kind {
	case kindPersonal:
		return 1
	case kindGroupChat:
		return len(conv.members)
	}
	if t := e.teams[conv.teamID]; t != nil {
		return e.teamRoster(t).n
	}
	return 0
}

// readInvokeAnswer reads the bot's answer to an adaptiveCard/action invoke
// the way Teams does: an HTTP 200 with a JSON body of statusCode, type and
// value (a card, a text or an error), or the Bot Framework SDKs' refusals,
// an HTTP 4xx or 5xx with an error body. Anything else is OutcomeInvalid.
func readInvokeAnswer(ans botAnswer, res *ExecuteResult) {
	bad := func(format string, args ...any) {
		res.Outcome, res.Problem = OutcomeInvalid, fmt.Sprintf(format, args...)
	}
	var body struct {
		StatusCode *int            `json:"statusCode"`
		Type       *string         `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	if json.Valid(ans.body) {
		res.Response = append(json.RawMessage(nil), ans.body...)
	}
	switch {
	case len(strings.TrimSpace(string(ans.body))) == 0:
		bad("the bot answered %d with no body; Teams shows the action as failed", ans.status)
		return
	case !strings.HasPrefix(ans.contentType, "application/json"):
		bad("the answer's Content-Type is %q, not application/json", ans.contentType)
		return
	case json.Unmarshal(ans.body, &body) != nil || bytes.TrimSpace(ans.body)[0] != '{':
		bad("the answer is not a JSON object")
		return
	case body.StatusCode == nil || body.Type == nil:
		bad("the answer lacks statusCode or type")
		return
	}
	readInvokeValue(ans.status, *body.StatusCode, *body.Type, body.Value, res)
}

// readInvokeValue checks an answer's value against its type.
func readInvokeValue(status, statusCode int, typ string, value json.RawMessage, res *ExecuteResult) {
	bad := func(format string, args ...any) {
		res.Outcome, res.Problem = OutcomeInvalid, fmt.Sprintf(format, args...)
	}
	switch typ {
	case botframework.ContentTypeAdaptiveCard:
		var c struct {
			Type    string `json:"type"`
			Version string `json:"version"`
		}
		switch {
		case status != http.StatusOK || statusCode != http.StatusOK:
			bad("a card answer needs HTTP 200 and statusCode 200, not %d and %d", status, statusCode)
		case json.Unmarshal(value, &c) != nil || c.Type != "AdaptiveCard" || c.Version == "":
			bad("the value of a card answer must be an Adaptive Card with a version")
		default:
			res.Outcome, res.Card = OutcomeCard, compactJSON(value)
		}
	case botframework.ContentTypeActivityMessage:
		if status != http.StatusOK || json.Unmarshal(value, &res.Text) != nil {
			bad("a message answer needs HTTP 200 and a string value")
			return
		}
		res.Outcome = OutcomeMessage
	case botframework.ContentTypeError:
		var ie botframework.InvokeError
		if statusCode < 400 || json.Unmarshal(value, &ie) != nil || ie.Code == "" {
			bad("an error answer needs a statusCode of 400 or more and a value with a code and a message")
			return
		}
		res.Outcome, res.Error = OutcomeError, &ie
	case "application/vnd.microsoft.activity.loginRequest", "application/vnd.microsoft.error.incorrectAuthCode",
		"application/vnd.microsoft.error.preconditionFailed":
		res.Outcome = OutcomeOther
	default:
		bad("the answer's type %q is not one Teams knows", typ)
	}
	if res.Outcome != OutcomeInvalid && status != http.StatusOK && res.Outcome != OutcomeError {
		bad("the bot answered HTTP %d; Teams reads only an error body from a status other than 200", status)
	}
}

// compactJSON is raw without insignificant space.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

// hExecute is POST /scenario/execute.
func (e *Emulator) hExecute(r *http.Request) (int, any, error) {
	var s ExecuteSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	res, err := e.Execute(r.Context(), s)
	return http.StatusOK, res, err
}
