package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"herald"
	"herald/api"
)

// TestSendLimits checks a scoped key's limits on sending: critical needs
// the grant, a topic key sends only on its topics, an audience key only
// to its entries; refusals are 403 naming the field, and store nothing.
func TestSendLimits(t *testing.T) {
	t.Parallel()
	b := newBundle(t, bundleOpts{topics: []herald.Topic{{Name: "deploys"}, {Name: "outages", Critical: true}}})
	alice := b.user("Alice Limits")
	b.team("Eng", []person{alice}, "Builds")
	_, send := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeSend)})
	_, crit := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeSend), Critical: true})
	_, topics := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeSend), Topics: []string{"deploys"}})
	_, eng := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeSend), Audiences: []string{"team:Eng", "channel:Eng/*"}})
	text := `"content":{"text":"hi"}`
	toAlice := `"audience":` + users(alice)
	tests := []struct {
		name, key, path, body string
		status                int
		field                 string
	}{
		{"critical without grant", send, "/v1/notifications", `{` + toAlice + `,` + text + `,"critical":true}`, 403, "critical"},
		{"critical with grant", crit, "/v1/notifications", `{` + toAlice + `,` + text + `,"critical":true}`, 202, ""},
		{"critical by the configured key", testKey, "/v1/notifications", `{` + toAlice + `,` + text + `,"critical":true}`, 202, ""},
		{"plain send", send, "/v1/notifications", `{` + toAlice + `,` + text + `}`, 202, ""},
		{"topic key, its topic", topics, "/v1/notifications", `{` + toAlice + `,` + text + `,"topic":"deploys"}`, 202, ""},
		{"topic key, no topic", topics, "/v1/notifications", `{` + toAlice + `,` + text + `}`, 403, "topic"},
		{"topic key, other topic", topics, "/v1/notifications", `{` + toAlice + `,` + text + `,"topic":"outages"}`, 403, "topic"},
		{"topic key, other topic's audience", topics, "/v1/notifications",
			`{"audience":{"topics":["outages"]},` + text + `,"topic":"deploys"}`, 403, "audience.topics[0]"},
		{"topic key on the text route", topics, "/v1/send/" + alice.Email + "?topic=outages", "hi", 403, "topic"},
		{"team key, its team", eng, "/v1/notifications", `{"audience":{"teams":["Eng"]},` + text + `}`, 202, ""},
		{"team key, a channel of it", eng, "/v1/send/channel:Eng/Builds", "hi", 202, ""},
		{"team key, a user", eng, "/v1/notifications", `{` + toAlice + `,` + text + `}`, 403, "audience.users[0]"},
		{"team key, the team by another name", eng, "/v1/notifications", `{"audience":{"teams":["eng"]},` + text + `}`, 403, "audience.teams[0]"},
	}
	for _, tt := range tests {
		before := len(b.notifications())
		h := map[string]string{"Authorization": "Bearer " + tt.key, "Content-Type": "application/json"}
		r := b.do(req{method: http.MethodPost, path: tt.path, body: tt.body, header: h})
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.status, tt.status, r.body)
			continue
		}
		if tt.status != http.StatusForbidden {
			continue
		}
		if e := r.apiErr(t); e.Code != api.CodeForbidden || e.Field != tt.field {
			t.Errorf("%s: error %+v, want forbidden on %q", tt.name, e, tt.field)
		}
		if after := len(b.notifications()); after != before {
			t.Errorf("%s: a refused request stored a notification", tt.name)
		}
	}
}

// TestAttribution checks that each notification records the key that
// sent it, shown by GET /v1/notifications/{id}, and that a key without
// admin cancels and retries only its own notifications.
func TestAttribution(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice := b.user("Alice Attr")
	mine, mineKey := storeKey(t, b.store, herald.APIKey{Name: "deploy bot", Scopes: scopes(herald.ScopeSend, herald.ScopeRead)})
	_, otherKey := storeKey(t, b.store, herald.APIKey{Name: "other", Scopes: scopes(herald.ScopeSend)})
	auth := func(k string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + k, "Content-Type": "application/json"}
	}
	body := fmt.Sprintf(`{"audience":%s,"content":{"text":"hi"},"sendAt":"2999-01-01T00:00:00Z"}`, users(alice))
	var n api.Notification
	b.do(req{method: "POST", path: "/v1/notifications", body: body, header: auth(mineKey)}).mustStatus(t, 202).decode(t, &n)
	var cfg api.Notification
	b.do(req{method: "POST", path: "/v1/notifications", body: body}).mustStatus(t, 202).decode(t, &cfg)
	tests := []struct {
		id   string
		want herald.Creator
	}{
		{n.ID, herald.Creator{KeyID: mine.ID, KeyName: "deploy bot"}},
		{cfg.ID, herald.Creator{KeyID: "config:1", KeyName: "api-key 1"}},
	}
	for _, tt := range tests {
		var got api.Notification
		b.get("/v1/notifications/"+tt.id).mustStatus(t, 200).decode(t, &got)
		if got.CreatedBy != tt.want {
			t.Errorf("%s: createdBy %+v, want %+v", tt.id, got.CreatedBy, tt.want)
		}
	}
	if raw := b.get("/v1/notifications/" + n.ID).body; !strings.Contains(string(raw), `"createdBy":{"keyId":"`+mine.ID+`","keyName":"deploy bot"}`) {
		t.Errorf("answer lacks createdBy: %s", raw)
	}
	for _, path := range []string{"/v1/notifications/" + n.ID + "/retry", "/v1/notifications/" + n.ID + "/cancel", "/v1/notifications/" + cfg.ID + "/cancel"} {
		r := b.do(req{method: "POST", path: path, header: auth(otherKey)})
		if r.status != http.StatusForbidden || r.apiErr(t).Code != api.CodeForbidden {
			t.Errorf("another key: %s: %d %s", path, r.status, r.body)
		}
	}
	b.do(req{method: "POST", path: "/v1/notifications/" + n.ID + "/cancel", header: auth(mineKey)}).mustStatus(t, 200)
	b.do(req{method: "POST", path: "/v1/notifications/" + cfg.ID + "/cancel"}).mustStatus(t, 200)
}
