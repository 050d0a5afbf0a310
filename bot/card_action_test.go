package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"herald"
	"herald/bot"
	"herald/botframework"
)

// testTopics are the topics of the card action tests.
var testTopics = []herald.Topic{
	{Name: "deploys", Description: "a deploy finished"},
	{Name: "incidents", Description: "an incident was opened", Critical: true},
	{Name: "digest", Description: "the weekly digest", DefaultOff: true},
}

// execute is the value of an Action.Execute invoke with verb and data.
func execute(verb, data, trigger string) map[string]any {
	return map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb, "data": json.RawMessage(data)},
		"trigger": trigger}
}

// invokeAnswer is a decoded answer to an invoke.
type invokeAnswer struct {
	status      int
	contentType string
	body        botframework.InvokeResponse
	raw         string
}

// postInvoke posts an invoke activity with value (nil leaves it out) from
// 29:h in a personal chat, and decodes the answer.
func postInvoke(t *testing.T, lb *localBot, name string, value any) invokeAnswer {
	t.Helper()
	fields := map[string]any{"type": "invoke", "name": name}
	if value != nil {
		fields["value"] = value
	}
	resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), activityJSON(t, fields)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := invokeAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", resp.StatusCode, raw, err)
	}
	return a
}

// answerCard is the card of an answer, with its refresh.
type answerCard struct {
	Version string `json:"version"`
	Refresh *struct {
		Action struct {
			Type string          `json:"type"`
			Verb string          `json:"verb"`
			Data json.RawMessage `json:"data"`
		} `json:"action"`
		UserIDs []string `json:"userIds"`
	} `json:"refresh"`
}

// cardAnswer checks that a is a 200 card answer and returns its card's
// text and the card.
func cardAnswer(t *testing.T, a invokeAnswer) (string, answerCard) {
	t.Helper()
	if a.status != http.StatusOK || a.body.StatusCode != http.StatusOK || a.body.Type != botframework.ContentTypeAdaptiveCard ||
		!strings.HasPrefix(a.contentType, "application/json") {
		t.Fatalf("answer %d %s %q, want 200 with a card", a.status, a.contentType, a.raw)
	}
	var c answerCard
	if err := json.Unmarshal(a.body.Value, &c); err != nil || c.Version != "1.5" {
		t.Fatalf("card %s (version %q): %v", a.body.Value, c.Version, err)
	}
	var sb strings.Builder
	collectText(&sb, a.body.Value)
	return sb.String(), c
}

// errorAnswer checks that a is an error answer: HTTP status, and in the
// body statusCode and code.
func errorAnswer(t *testing.T, a invokeAnswer, status, statusCode int, code string) {
	t.Helper()
	var e botframework.InvokeError
	if a.status != status || a.body.StatusCode != statusCode || a.body.Type != botframework.ContentTypeError ||
		json.Unmarshal(a.body.Value, &e) != nil || e.Code != code || e.Message == "" {
		t.Fatalf("answer %d %q, want %d with statusCode %d and error code %s", a.status, a.raw, status, statusCode, code)
	}
}

func TestCardActionAnswers(t *testing.T) {
	t.Parallel()
	const from = "29:h"
	tests := []struct {
		name    string
		before  map[string]bool // preferences set first: topic → opted out
		value   any
		want    []string // texts of the answer card
		refresh string   // the herald member of the card's refresh data
		deploys bool     // 29:h opted out of deploys afterwards
		execute string   // the verb of a button the card must carry
	}{
		{"opt-out", nil, execute("optout", `{"herald":"optout","topics":"deploys"}`, "manual"),
			[]string{"Turned off: deploys", "deploys", "off", "Turn deploys back on"}, "optout-card", true, "optin"},
		{"opt-out of a critical topic", nil, execute("optout", `{"herald":"optout","topics":"incidents"}`, "manual"),
			[]string{"Nothing changed", "always on (critical)"}, "optout-card", false, ""},
		{"opt back in", map[string]bool{"deploys": true}, execute("optin", `{"herald":"optin","topics":"deploys"}`, "manual"),
			[]string{"Turned on: deploys", "You get these notifications", "Turn deploys off"}, "optout-card", false, "optout"},
		{"topics card toggle", nil, execute("topic-off", `{"herald":"topic-off","topics":"deploys"}`, "manual"),
			[]string{"Turned off: deploys.", "**deploys**: off", "**digest**: off", "Turn on"}, "topics-card", true, "topic-on"},
		{"topics card refresh", map[string]bool{"digest": false}, execute("refresh", `{"herald":"topics-card"}`, "automatic"),
			[]string{"Your notification topics", "**deploys**: on", "**digest**: on", "Turn off"}, "topics-card", false, "topic-off"},
		{"opt-out card refresh", map[string]bool{"deploys": true}, execute("refresh", `{"herald":"optout-card","topics":"deploys"}`, "automatic"),
			[]string{"Your notifications: deploys", "off", "Turn deploys back on"}, "optout-card", true, "optin"},
		{"unknown topic", nil, execute("optout", `{"herald":"optout","topics":"nope"}`, "manual"),
			[]string{"Nothing changed", "nope"}, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t, func(c *bot.Config) { c.Topics = testTopics })
			ctx := context.Background()
			for topic, out := range tt.before {
				if err := lb.store.PreferenceSet(ctx, from, topic, out); err != nil {
					t.Fatal(err)
				}
			}
			ans := postInvoke(t, lb, botframework.InvokeAdaptiveCardAction, tt.value)
			text, c := cardAnswer(t, ans)
			mustContain(t, "answer card", text, tt.want...)
			if tt.refresh != "" {
				if c.Refresh == nil || c.Refresh.Action.Type != "Action.Execute" || c.Refresh.Action.Verb != "refresh" ||
					!strings.Contains(string(c.Refresh.Action.Data), `"herald":"`+tt.refresh+`"`) || !slices.Equal(c.Refresh.UserIDs, []string{from}) {
					t.Errorf("refresh %+v, want verb refresh with %s for %s alone", c.Refresh, tt.refresh, from)
				}
			}
			if verbs := executeVerbs(t, ans.body.Value); tt.execute != "" && !slices.Contains(verbs, tt.execute) {
				t.Errorf("the card's Action.Execute verbs are %v, want one %q", verbs, tt.execute)
			}
			if got, _ := lb.store.UserOptedOut(ctx, from, "deploys"); got != tt.deploys {
				t.Errorf("opted out of deploys: %v, want %v", got, tt.deploys)
			}
			for _, j := range lb.jobs.take() {
				if j.Kind == "reply" {
					t.Errorf("the action queued a reply; the answer is the card alone")
				}
			}
		})
	}
}

// executeVerbs returns the verbs of the Action.Execute buttons of a card
// (not its refresh), checking that each falls back to an Action.Submit
// whose data carries the same verb and Herald's key.
func executeVerbs(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var card map[string]any
	if err := json.Unmarshal(raw, &card); err != nil {
		t.Fatal(err)
	}
	delete(card, "refresh")
	var verbs []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.Execute" {
				verb, _ := x["verb"].(string)
				fb, _ := x["fallback"].(map[string]any)
				data, _ := fb["data"].(map[string]any)
				if fb["type"] != "Action.Submit" || data["verb"] != verb || data["herald"] == nil {
					t.Errorf("Action.Execute %v has no Action.Submit fallback with its verb and data", x)
				}
				verbs = append(verbs, verb)
				return
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(card)
	return verbs
}

func TestCardActionErrors(t *testing.T) {
	t.Parallel()
	ownData := `{"herald":"optout","topics":"deploys"}`
	answerCard := func(_ context.Context, turn *bot.Turn) error {
		var v botframework.AdaptiveCardInvokeValue
		if err := turn.DecodeValue(&v); err != nil {
			return err
		}
		turn.SetInvokeResponse(http.StatusOK, botframework.InvokeCardResponse(json.RawMessage(
			`{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Acknowledged `+v.Action.Verb+`"}]}`)))
		return nil
	}
	// The SDKs refuse a missing value or action, and other action types,
	// with HTTP 400; other errors are answered 200 with the error body.
	const ok, bad, failed = http.StatusOK, http.StatusBadRequest, http.StatusInternalServerError
	tests := []struct {
		name       string
		value      any
		handler    bot.Handler // registered with OnCardAction
		disable    bool        // DisableCommands
		status     int         // HTTP status
		statusCode int         // the body's statusCode
		code       string      // error code; "" for the handler's card
	}{
		{"no value", nil, nil, false, bad, bad, botframework.InvokeBadRequest},
		{"no action", map[string]any{"trigger": "manual"}, nil, false, bad, bad, botframework.InvokeBadRequest},
		{"value not an object", "optout", nil, false, bad, bad, botframework.InvokeBadRequest},
		{"submit action", map[string]any{"action": map[string]any{"type": "Action.Submit", "data": json.RawMessage(ownData)}},
			nil, false, bad, bad, botframework.InvokeNotSupported},
		{"foreign verb, no handler", execute("acknowledge", `{"campaignId":"c1"}`, "manual"), nil, false, ok, bad, "UnknownVerb"},
		{"foreign verb, handler answers", execute("acknowledge", `{"campaignId":"c1"}`, "manual"), answerCard, false, ok, ok, ""},
		{"foreign verb, handler does not answer", execute("acknowledge", `{}`, "manual"),
			func(context.Context, *bot.Turn) error { return nil }, false, ok, bad, "UnknownVerb"},
		{"handler fails", execute("acknowledge", `{}`, "manual"),
			func(context.Context, *bot.Turn) error { return errors.New("boom") }, false, ok, failed, "InternalError"},
		{"own verb, commands disabled", execute("optout", ownData, "manual"), nil, true, ok, bad, "UnknownVerb"},
		{"own verb, commands disabled, handler answers", execute("optout", ownData, "manual"), answerCard, true, ok, ok, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t, func(c *bot.Config) { c.Topics, c.DisableCommands = testTopics, tt.disable })
			if tt.handler != nil {
				lb.bot.OnCardAction(tt.handler)
			}
			ans := postInvoke(t, lb, botframework.InvokeAdaptiveCardAction, tt.value)
			if tt.code != "" {
				errorAnswer(t, ans, tt.status, tt.statusCode, tt.code)
			} else {
				text, _ := cardAnswer(t, ans)
				mustContain(t, "handler's card", text, "Acknowledged")
			}
			if out, _ := lb.store.UserOptedOut(context.Background(), "29:h", "deploys"); out {
				t.Error("a refused action changed a preference")
			}
			if n := countRecords(t, lb); tt.status == bad && n != 0 {
				t.Errorf("a refused invoke left %d records; it must change nothing", n)
			}
		})
	}
}

// A press of a button's Action.Submit fallback still arrives as a message
// whose value is the data and the verb: Herald applies it and updates the
// card in place, with no invoke answer.
func TestCardSubmitFallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		off         bool
	}{
		{"opt-out", `{"verb":"optout","herald":"optout","topics":"deploys"}`, true},
		{"opt back in", `{"verb":"optin","herald":"optin","topics":"deploys"}`, false},
		{"toggle", `{"verb":"topic-off","herald":"topic-off","topics":"deploys"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t, func(c *bot.Config) { c.Topics = testTopics })
			ctx := context.Background()
			if err := lb.store.PreferenceSet(ctx, "29:h", "deploys", !tc.off); err != nil {
				t.Fatal(err)
			}
			body := activityJSON(t, map[string]any{"type": "message", "replyToId": "card-1", "value": json.RawMessage(tc.value)})
			resp, out := post(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), body)
			if resp.StatusCode != http.StatusOK || out != nil {
				t.Fatalf("answer %d %v, want a bare 200", resp.StatusCode, out)
			}
			if got, _ := lb.store.UserOptedOut(ctx, "29:h", "deploys"); got != tc.off {
				t.Errorf("opted out of deploys: %v, want %v", got, tc.off)
			}
			var updates int
			for _, j := range lb.jobs.take() {
				if j.Kind == "reply" && strings.Contains(string(j.Args), `"updateId":"card-1"`) {
					updates++
				}
			}
			if updates != 1 {
				t.Errorf("%d updates of the card queued, want 1", updates)
			}
		})
	}
}
