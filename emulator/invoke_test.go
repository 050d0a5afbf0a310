package emulator_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"herald/botframework"
	"herald/emulator"
)

// invokeReply is a scripted answer to an invoke.
type invokeReply struct {
	status      int
	contentType string
	body        string
}

// cardBot is a bot endpoint that answers invokes with a scripted answer
// and every other activity with an empty 200, and keeps the invokes.
type cardBot struct {
	answer invokeReply

	mu      sync.Mutex
	invokes []botframework.Activity
}

func (c *cardBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var a botframework.Activity
	if json.Unmarshal(raw, &a) != nil || a.Type != botframework.TypeInvoke {
		w.WriteHeader(http.StatusOK)
		return
	}
	c.mu.Lock()
	c.invokes = append(c.invokes, a)
	answer := c.answer
	c.mu.Unlock()
	if answer.contentType != "" {
		w.Header().Set("Content-Type", answer.contentType)
	}
	w.WriteHeader(answer.status)
	_, _ = io.WriteString(w, answer.body)
}

func (c *cardBot) last(t *testing.T) botframework.Activity {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.invokes) == 0 {
		t.Fatal("the bot got no invoke")
	}
	return c.invokes[len(c.invokes)-1]
}

// cardWithActions is what the bot posts: an Action.Execute (with its
// Action.Submit fallback) and a refresh for refreshFor.
func cardWithActions(refreshFor string) string {
	return `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{
 "type":"AdaptiveCard","version":"1.5",
 "refresh":{"action":{"type":"Action.Execute","verb":"refresh","data":{"campaignId":"c1"}},"userIds":["` + refreshFor + `"]},
 "body":[{"type":"TextBlock","text":"Please acknowledge"}],
 "actions":[{"type":"Action.Execute","title":"Acknowledge","verb":"acknowledge","data":{"campaignId":"c1"},
  "fallback":{"type":"Action.Submit","title":"Acknowledge","data":{"verb":"acknowledge","campaignId":"c1"}}}]}}]}`
}

// cardScene is an emulator whose bot is a cardBot, with Ann and Bob in a
// group chat with the bot, and a card the bot posted there.
type cardScene struct {
	b         *bundle
	bot       *cardBot
	ann, bob  emulator.User
	chat, msg string
}

func newCardScene(t *testing.T, answer invokeReply) *cardScene {
	t.Helper()
	bot := &cardBot{answer: answer}
	botSrv := httptest.NewServer(bot)
	t.Cleanup(botSrv.Close)
	b := setup(t, func(c *emulator.Config) { c.BotURL = botSrv.URL })
	_, err := b.em.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	must(t, err)
	ann, err := b.em.AddUser(emulator.UserSpec{Name: "Ann Lee"})
	must(t, err)
	bob, err := b.em.AddUser(emulator.UserSpec{Name: "Bob Roy"})
	must(t, err)
	d, err := b.em.AddGroupChat(ctx(t), emulator.GroupChatSpec{Members: []string{ann.ID, bob.ID}})
	must(t, err)
	r := b.call(t, "POST", "v3/conversations/"+esc(d.ConversationID)+"/activities", cardWithActions(ann.ID))
	var sent struct{ ID string }
	r.decode(t, &sent)
	return &cardScene{b: b, bot: bot, ann: ann, bob: bob, chat: d.ConversationID, msg: sent.ID}
}

const ackCard = `{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Acknowledged"}]}`

func TestExecuteReadsTheAnswer(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []struct {
		name    string
		answer  invokeReply
		outcome string
		view    bool // the answer became Ann's view of the message
	}{
		{"card", invokeReply{status: 200, contentType: js, body: `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + ackCard + `}`},
			emulator.OutcomeCard, true},
		{"message", invokeReply{status: 200, contentType: js, body: `{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":"Thanks"}`},
			emulator.OutcomeMessage, false},
		{"error", invokeReply{status: 200, contentType: js, body: `{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"UnknownVerb","message":"no"}}`},
			emulator.OutcomeError, false},
		{"SDK refusal", invokeReply{status: 400, contentType: js, body: `{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"Missing action property"}}`},
			emulator.OutcomeError, false},
		{"empty 200", invokeReply{status: 200}, emulator.OutcomeInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newCardScene(t, tt.answer)
			s.b.allowErr = tt.outcome == emulator.OutcomeInvalid
			res, err := s.b.em.Execute(ctx(t), emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, MessageID: s.msg, Button: "Acknowledge"})
			must(t, err)
			if res.Outcome != tt.outcome || res.BotStatus != tt.answer.status || res.Trigger != "manual" {
				t.Fatalf("result %+v, want outcome %s", res, tt.outcome)
			}
			if invalid := tt.outcome == emulator.OutcomeInvalid; invalid != (s.b.em.Err() != nil) || invalid != (res.Problem != "") {
				t.Errorf("problem %q, emulator error %v; want them only for an invalid answer", res.Problem, s.b.em.Err())
			}
			got, _ := s.b.em.Activity(s.chat, s.msg)
			if view, ok := got.Views[s.ann.ID]; ok != tt.view || tt.view && string(view) != ackCard {
				t.Errorf("Ann's view %s (present %v), want present %v", view, ok, tt.view)
			}
			if _, ok := got.Views[s.bob.ID]; ok {
				t.Error("Bob got a view of Ann's action")
			}
		})
	}
}

func TestExecuteSendsTheInvoke(t *testing.T) {
	t.Parallel()
	s := newCardScene(t, invokeReply{status: 200, contentType: "application/json",
		body: `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + ackCard + `}`})
	for _, tc := range []struct {
		name       string
		spec       emulator.ExecuteSpec
		verb, data string
		trigger    string
		fromAnn    bool
	}{
		// In order: once a user sees the bot's answer card, which has no
		// refresh and no buttons, only verbs can be sent for them.
		{"refresh for a user it names", emulator.ExecuteSpec{From: s.ann.ID, Refresh: true}, "refresh", `{"campaignId":"c1"}`, "automatic", true},
		{"button", emulator.ExecuteSpec{From: s.bob.ID, Button: "Acknowledge"}, "acknowledge", `{"campaignId":"c1"}`, "manual", false},
		{"verb and data", emulator.ExecuteSpec{From: s.ann.ID, Verb: "later", Data: json.RawMessage(`{"x":1}`)}, "later", `{"x":1}`, "manual", true},
	} {
		tc.spec.ConversationID, tc.spec.MessageID = s.chat, s.msg
		res, err := s.b.em.Execute(ctx(t), tc.spec)
		must(t, err)
		a := s.bot.last(t)
		var v botframework.AdaptiveCardInvokeValue
		must(t, json.Unmarshal(a.Value, &v))
		if a.Name != "adaptiveCard/action" || a.ID != res.ActivityID || a.ReplyToID != s.msg || a.Conversation.ID != s.chat ||
			v.Action == nil || v.Action.Type != "Action.Execute" || v.Action.Verb != tc.verb || string(v.Action.Data) != tc.data ||
			v.Trigger != tc.trigger || res.Trigger != tc.trigger {
			t.Errorf("%s: invoke %s, result %+v", tc.name, a.Value, res)
		}
		if who := a.From.ID; (who == s.ann.ID) != tc.fromAnn || a.ChannelData.Tenant == nil || a.Recipient == nil {
			t.Errorf("%s: from %s, channelData %+v", tc.name, who, a.ChannelData)
		}
	}
	// The invokes are recorded in the chat, with the bot's answers.
	invokes := 0
	for _, a := range s.b.em.Activities(s.chat) {
		if a.Activity.Type == "invoke" {
			invokes++
			if a.Direction != emulator.ToBot || a.BotStatus != 200 {
				t.Errorf("recorded invoke %+v", a)
			}
		}
	}
	if invokes != 3 {
		t.Errorf("%d invokes recorded, want 3", invokes)
	}
	// Each user now sees the bot's card; an update of the message by the
	// bot replaces it for everyone.
	got, _ := s.b.em.Activity(s.chat, s.msg)
	if len(got.Views) != 2 {
		t.Fatalf("views %v, want Ann's and Bob's", got.Views)
	}
	page := getPage(t, s.b.srv.URL+"/conversations/"+esc(s.chat))
	for _, want := range []string{"As Ann Lee sees it", "As Bob Roy sees it", "Acknowledged", "Please acknowledge", "pressed a card button (acknowledge)",
		"refreshed a card (refresh)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	r := s.b.call(t, "PUT", "v3/conversations/"+esc(s.chat)+"/activities/"+s.msg, cardWithActions(s.bob.ID))
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if got, _ := s.b.em.Activity(s.chat, s.msg); len(got.Views) != 0 {
		t.Errorf("views after the update: %v", got.Views)
	}
	// The updated card refreshes for Bob alone: Ann refreshes it by the
	// menu (trigger manual).
	for who, want := range map[string]string{s.bob.ID: "automatic", s.ann.ID: "manual"} {
		res, err := s.b.em.Execute(ctx(t), emulator.ExecuteSpec{From: who, ConversationID: s.chat, MessageID: s.msg, Refresh: true})
		must(t, err)
		if res.Trigger != want {
			t.Errorf("refresh by %s: trigger %q, want %q", who, res.Trigger, want)
		}
	}
}

func TestExecuteRefuses(t *testing.T) {
	t.Parallel()
	s := newCardScene(t, invokeReply{status: 200})
	outsider, err := s.b.em.AddUser(emulator.UserSpec{Name: "Cy Dee"})
	must(t, err)
	tests := []struct {
		name  string
		spec  emulator.ExecuteSpec
		field string
		kind  error
	}{
		{"no user", emulator.ExecuteSpec{ConversationID: s.chat, MessageID: s.msg, Verb: "x"}, "from", emulator.ErrInvalid},
		{"unknown user", emulator.ExecuteSpec{From: "29:nobody", ConversationID: s.chat, MessageID: s.msg, Verb: "x"}, "from", emulator.ErrNotFound},
		{"not a member", emulator.ExecuteSpec{From: outsider.ID, ConversationID: s.chat, MessageID: s.msg, Verb: "x"}, "from", emulator.ErrInvalid},
		{"unknown conversation", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: "19:nope@thread.v2", MessageID: s.msg, Verb: "x"}, "conversationId", emulator.ErrNotFound},
		{"no personal chat", emulator.ExecuteSpec{From: s.ann.ID, MessageID: s.msg, Verb: "x"}, "conversationId", emulator.ErrNotFound},
		{"no message", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, Verb: "x"}, "messageId", emulator.ErrInvalid},
		{"unknown message", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, MessageID: "1", Verb: "x"}, "messageId", emulator.ErrNotFound},
		{"nothing to press", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, MessageID: s.msg}, "verb", emulator.ErrInvalid},
		{"button and verb", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, MessageID: s.msg, Verb: "x", Button: "Acknowledge"}, "verb", emulator.ErrInvalid},
		{"no such button", emulator.ExecuteSpec{From: s.ann.ID, ConversationID: s.chat, MessageID: s.msg, Button: "Snooze"}, "button", emulator.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.b.em.Execute(ctx(t), tt.spec)
			var se *emulator.ScenarioError
			if !errors.As(err, &se) || se.Field != tt.field || !errors.Is(err, tt.kind) {
				t.Fatalf("err %v, want a %v error on %s", err, tt.kind, tt.field)
			}
		})
	}
}

// The scenario API presses buttons too, and answers with the result.
func TestScenarioExecute(t *testing.T) {
	t.Parallel()
	s := newCardScene(t, invokeReply{status: 200, contentType: "application/json",
		body: `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + ackCard + `}`})
	res := s.b.scenario(t, "POST", "execute", map[string]any{"from": s.ann.ID, "conversationId": s.chat, "messageId": s.msg,
		"verb": "acknowledge", "data": map[string]any{"campaignId": "c1"}}, http.StatusOK)
	if res["outcome"] != "card" || res["botStatus"] != 200.0 || res["card"] == nil || res["response"] == nil {
		t.Fatalf("execute: %v", res)
	}
	acts := s.b.scenario(t, "GET", "conversations/"+esc(s.chat)+"/activities", nil, http.StatusOK)["list"].([]any)
	var views any
	for _, a := range acts {
		if m := a.(map[string]any); m["id"] == s.msg {
			views = m["views"]
		}
	}
	if v, ok := views.(map[string]any); !ok || v[s.ann.ID] == nil {
		t.Fatalf("the message's views %v, want Ann's", views)
	}
	s.b.scenario(t, "POST", "execute", map[string]any{"from": s.ann.ID, "conversationId": s.chat, "messageId": s.msg}, http.StatusBadRequest)
	s.b.scenario(t, "POST", "execute", map[string]any{"from": s.ann.ID, "conversationId": s.chat, "messageId": "nope", "verb": "x"}, http.StatusNotFound)
}

// The conversation page offers the card's buttons to press as a member.
func TestPageExecute(t *testing.T) {
	t.Parallel()
	s := newCardScene(t, invokeReply{status: 200, contentType: "application/json",
		body: `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + ackCard + `}`})
	page := getPage(t, s.b.srv.URL+"/conversations/"+esc(s.chat))
	for _, want := range []string{`action="/conversations/` + url.PathEscape(s.chat) + `/execute"`, `value="` + s.msg + `"`,
		`<button name="button" value="Acknowledge">`, `name="refresh"`, "Ann Lee", "Bob Roy"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	submit := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := noRedirect.PostForm(s.b.srv.URL+"/conversations/"+url.PathEscape(s.chat)+"/execute", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location") + string(b)
	}
	status, where := submit(url.Values{"from": {s.bob.ID}, "messageId": {s.msg}, "button": {"Acknowledge"}})
	if status != http.StatusSeeOther || !strings.HasSuffix(where, "#m"+s.msg) {
		t.Fatalf("press: %d %s, want a redirect to the message", status, where)
	}
	if got, _ := s.b.em.Activity(s.chat, s.msg); got.Views[s.bob.ID] == nil {
		t.Fatal("Bob's press left no view")
	}
	if page := getPage(t, s.b.srv.URL+"/conversations/"+esc(s.chat)); !strings.Contains(page, "As Bob Roy sees it") {
		t.Error("the page does not show Bob's card")
	}
	if status, body := submit(url.Values{"from": {s.bob.ID}, "messageId": {"nope"}, "button": {"Acknowledge"}}); status != http.StatusBadRequest {
		t.Errorf("press on no message: %d %s", status, body)
	}
	s.bot.mu.Lock()
	s.bot.answer = invokeReply{status: 200, contentType: "application/json",
		body: `{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":"Thanks"}`}
	s.bot.mu.Unlock()
	if status, body := submit(url.Values{"from": {s.ann.ID}, "messageId": {s.msg}, "refresh": {"1"}}); status != http.StatusOK || !strings.Contains(body, "message: Thanks") {
		t.Errorf("refresh answered by a text: %d %s", status, body)
	}
}
