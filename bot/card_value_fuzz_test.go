package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"herald"
	"herald/bot"
)

// FuzzCardValue posts a personal message without text (a card's
// Action.Submit) and an adaptiveCard/action invoke, each with an
// arbitrary value, from a known sender: the endpoint answers 200 (or 400
// for a body it refuses), never fails; a value turns off or on only
// configured topics that are not critical, so no other preference is
// ever stored; a refused request changes nothing.
func FuzzCardValue(f *testing.F) {
	topics := []herald.Topic{{Name: "deploys"}, {Name: "builds", DefaultOff: true}, {Name: "security", Critical: true}}
	lb := newLocalBot(f, func(c *bot.Config) { c.Topics = topics })
	auth := lb.keys.token(f, testServiceURL, nil)
	const sender = "29:fuzz-sender"
	for _, s := range []string{
		`{"herald":"optout","topics":"deploys, security,nope"}`, `{"herald":"optout","topic":"Builds"}`,
		`{"herald":"topic-on","topics":"builds"}`, `{"herald":"topic-off","topics":"security,deploys"}`,
		`{"herald":"other","topics":"deploys"}`, `{"herald":1}`, `{"herald":""}`,
		`{"action":{"type":"Action.Execute","verb":"ack","data":{"herald":"optout","topics":"deploys"}}}`,
		`null`, `[]`, `"text"`, `7`, `{`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	allowed := map[string]bool{"deploys": true, "builds": true}
	f.Fuzz(func(t *testing.T, value []byte, invoke bool) {
		ctx := context.Background()
		var a map[string]any
		if err := json.Unmarshal(messageJSON(sender, ""), &a); err != nil {
			t.Fatal(err)
		}
		delete(a, "text")
		a["value"] = string(value)
		if json.Valid(value) {
			a["value"] = json.RawMessage(value)
		}
		if invoke {
			a["type"], a["name"] = "invoke", "adaptiveCard/action"
		}
		body, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		before, err := lb.store.PreferenceList(ctx, sender)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		lb.bot.ServeHTTP(rec, req)
		after, err := lb.store.PreferenceList(ctx, sender)
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("refused (400 %s), yet preferences changed: %+v → %+v", rec.Body.String(), before, after)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		for _, p := range after {
			if !allowed[p.Topic] {
				t.Fatalf("value %q stored a preference for %q (critical or not configured)", value, p.Topic)
			}
		}
	})
}
