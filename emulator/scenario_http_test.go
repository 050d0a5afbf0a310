package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// scenario calls the scenario API as the Node conformance suite does.
func (b *bundle) scenario(t *testing.T, method, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.srv.URL+"/scenario/"+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s /scenario/%s: %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s /scenario/%s: %v in %s", method, path, err, data)
	}
	if m, ok := out.(map[string]any); ok {
		return m
	}
	return map[string]any{"list": out}
}

func TestScenarioAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tenant := b.scenario(t, "POST", "tenants", map[string]any{"name": "Northwind"}, 201)
	tid := tenant["id"].(string)
	if tenant["domain"] != "northwind.com" {
		t.Fatalf("tenant %v", tenant)
	}
	ann := b.scenario(t, "POST", "users", map[string]any{"tenantId": tid, "name": "Ann Lee"}, 201)
	ben := b.scenario(t, "POST", "users", map[string]any{"name": "Ben Ode", "upn": "ben@northwind.com"}, 201)
	if ann["email"] != "ann.lee@northwind.com" || ann["upn"] != "ann.lee@northwind.com" || ann["id"].(string)[:3] != "29:" {
		t.Fatalf("user %v", ann)
	}
	team := b.scenario(t, "POST", "teams", map[string]any{"tenantId": tid, "name": "Ops", "members": []any{ann["id"], "ben@northwind.com"}, "channels": []any{"Incidents"}}, 201)
	teamID := team["id"].(string)
	if team["generalChannelId"] != teamID || len(team["channels"].([]any)) != 2 || len(team["members"].([]any)) != 2 {
		t.Fatalf("team %v", team)
	}
	inst := b.scenario(t, "POST", "install/team", map[string]any{"teamId": teamID}, 200)
	if inst["conversationId"] != teamID || len(inst["botStatus"].([]any)) != 2 || inst["botStatus"].([]any)[0] != 200.0 {
		t.Fatalf("install team %v", inst)
	}
	ch := b.scenario(t, "POST", "teams/"+url.PathEscape(teamID)+"/channels", map[string]any{"name": "Oncall"}, 201)
	if len(ch["botStatus"].([]any)) != 1 {
		t.Fatalf("channel %v", ch)
	}
	b.scenario(t, "PATCH", "teams/"+url.PathEscape(teamID), map[string]any{"name": "Operations"}, 200)
	cara := b.scenario(t, "POST", "users", map[string]any{"name": "Cara Diaz"}, 201)
	b.scenario(t, "POST", "teams/"+url.PathEscape(teamID)+"/members", map[string]any{"userId": cara["id"]}, 200)
	b.scenario(t, "DELETE", "teams/"+url.PathEscape(teamID)+"/members/"+url.PathEscape(cara["id"].(string)), nil, 200)
	p := b.scenario(t, "POST", "install/personal", map[string]any{"userId": ben["id"]}, 200)
	msg := b.scenario(t, "POST", "messages", map[string]any{"from": ben["id"], "text": "hello"}, 200)
	if msg["conversationId"] != p["conversationId"] || msg["delivered"] != true {
		t.Fatalf("message %v", msg)
	}
	b.scenario(t, "POST", "users/"+url.PathEscape(ben["id"].(string))+"/block", map[string]any{"blocked": true}, 200)
	b.scenario(t, "POST", "groupchats", map[string]any{"members": []any{ann["id"], ben["id"]}, "topic": "Lunch"}, 201)
	b.scenario(t, "POST", "uninstall/personal", map[string]any{"userId": ben["id"]}, 200)
	b.scenario(t, "POST", "uninstall/team", map[string]any{"teamId": teamID}, 200)
	b.bot.await(t, 15)

	lim := b.scenario(t, "PUT", "limits", map[string]any{"enabled": true, "tenantRps": 5, "send": []any{map[string]any{"seconds": 1, "max": 2}}}, 200)
	if lim["tenantRps"] != 5.0 || len(lim["send"].([]any)) != 1 || len(lim["read"].([]any)) != 4 {
		t.Fatalf("limits %v", lim)
	}
	if got := b.scenario(t, "GET", "limits", nil, 200); got["enabled"] != true {
		t.Fatalf("limits %v", got)
	}
	f := b.scenario(t, "PUT", "faults", map[string]any{"seed": 7, "rate412": 0.5, "latencyMs": 0}, 200)
	if f["rate412"] != 0.5 || b.scenario(t, "GET", "faults", nil, 200)["seed"] != 7.0 {
		t.Fatalf("faults %v", f)
	}
	keys := b.scenario(t, "POST", "keys/rotate", nil, 200)
	if len(keys["published"].([]any)) != 3 {
		t.Fatalf("keys %v", keys)
	}
	forged := b.scenario(t, "POST", "forge", map[string]any{"kind": "expired"}, 200)
	if forged["status"] != 401.0 {
		t.Fatalf("forge %v", forged)
	}
	state := b.scenario(t, "GET", "state", nil, 200)
	if len(state["tenants"].([]any)) != 1 || state["usersTotal"] != 3.0 || len(state["teams"].([]any)) != 1 {
		t.Fatalf("state %v", state)
	}
	convs := b.scenario(t, "GET", "conversations", nil, 200)["list"].([]any)
	if len(convs) < 5 {
		t.Fatalf("conversations %v", convs)
	}
	acts := b.scenario(t, "GET", "conversations/"+url.PathEscape(p["conversationId"].(string))+"/activities", nil, 200)["list"].([]any)
	if len(acts) != 5 { // install (2), message, uninstall (2)
		t.Fatalf("activities %v", acts)
	}
	b.scenario(t, "GET", "counters", nil, 200)
	b.scenario(t, "GET", "requests", nil, 200)
	if errs := b.scenario(t, "GET", "errors", nil, 200)["errors"].([]any); len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
}

func TestScenarioErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.demo(t)
	tests := []struct {
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{"POST", "users", map[string]any{"name": "X", "nmae": "typo"}, 400, "Invalid", "body"},
		{"POST", "users", map[string]any{"name": "Alice Again", "email": "alice@contoso.com"}, 409, "Conflict", ""},
		{"POST", "install/personal", map[string]any{"userId": "29:1nobody"}, 404, "NotFound", "userId"},
		{"POST", "install/team", map[string]any{"teamId": "19:nope@thread.tacv2"}, 404, "NotFound", "teamId"},
		{"POST", "tenants", map[string]any{"id": "not-a-guid"}, 400, "Invalid", "id"},
		{"PUT", "faults", map[string]any{"rate412": 0.8, "errorRate5xx": 0.5}, 400, "Invalid", "errorRate5xx"},
		{"POST", "forge", map[string]any{"kind": "nope"}, 400, "Invalid", "kind"},
		{"GET", "conversations/a:nope/activities", nil, 404, "NotFound", "conversationId"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got := b.scenario(t, tt.method, tt.path, tt.body, tt.status)
			e, _ := got["error"].(map[string]any)
			if e["code"] != tt.code || tt.field != "" && e["field"] != tt.field || e["message"] == "" {
				t.Fatalf("error %v, want code %s field %s", got, tt.code, tt.field)
			}
		})
	}
}
