package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"herald/emulator"
)

// scenarioCall sends a scenario API request and decodes the answer.
func (b *bundle) scenarioCall(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func TestGraphScenarioAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	tenant := "/scenario/graph/tenants/" + d.TenantID
	var s emulator.GraphSettings
	if st := b.scenarioCall(t, "GET", tenant, nil, &s); st != 200 || len(s.Permissions) != len(emulator.DefaultGraphPermissions()) {
		t.Fatalf("settings: %d %+v", st, s)
	}
	if st := b.scenarioCall(t, "PUT", tenant, map[string]any{"permissions": []string{"User.Read.All"}, "blockedUsers": []string{"bob@contoso.com"}}, &s); st != 200 ||
		len(s.Permissions) != 1 || s.BlockedUsers[0] != d.Users[1].AADObjectID {
		t.Fatalf("put settings: %d %+v", st, s)
	}
	if r := g.do(t, "GET", "/groups", nil); r.status != 403 {
		t.Fatalf("permission withheld through the scenario API: %d", r.status)
	}
	for _, bad := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", tenant, map[string]any{"permisions": []string{}}, 400},
		{"PUT", tenant, map[string]any{"blockedUsers": []string{"nobody@contoso.com"}}, 404},
		{"PUT", "/scenario/graph/tenants/0b0b0b0b-0000-4000-8000-000000000000", map[string]any{}, 404},
		{"PUT", "/scenario/graph/faults", map[string]any{"errorRate5xx": 2}, 400},
		{"PATCH", "/scenario/users/nobody@contoso.com", map[string]any{"guest": true}, 404},
		{"POST", "/scenario/groups", map[string]any{"name": "X", "members": []string{"nobody@contoso.com"}}, 404},
		{"POST", "/scenario/groups", map[string]any{"name": "Dup", "mail": "leadership@contoso.com"}, 409},
		{"POST", "/scenario/users/alice@contoso.com/restore", nil, 400},
	} {
		if st := b.scenarioCall(t, bad.method, bad.path, bad.body, nil); st != bad.status {
			t.Errorf("%s %s: %d, want %d", bad.method, bad.path, st, bad.status)
		}
	}
	var f emulator.GraphFaults
	if st := b.scenarioCall(t, "PUT", "/scenario/graph/faults", map[string]any{"rate429": 0.25, "operations": []string{"users"}}, &f); st != 200 || f.Rate429 != 0.25 {
		t.Fatalf("faults: %d %+v", st, f)
	}
	var l emulator.GraphLimits
	if st := b.scenarioCall(t, "PUT", "/scenario/graph/limits", map[string]any{"teamsWriteRps": 5}, &l); st != 200 || l.TeamsWriteRPS != 5 {
		t.Fatalf("limits: %d %+v", st, l)
	}
	var u emulator.User
	if st := b.scenarioCall(t, "PATCH", "/scenario/users/carol@contoso.com", map[string]any{"noTeamsLicense": true, "accountDisabled": true}, &u); st != 200 ||
		!u.NoTeamsLicense || !u.AccountDisabled {
		t.Fatalf("patch user: %d %+v", st, u)
	}
	var grp emulator.Group
	if st := b.scenarioCall(t, "POST", "/scenario/groups", map[string]any{"name": "Project X", "mail": "x@contoso.com", "members": []string{"alice@contoso.com", "everyone@contoso.com"}}, &grp); st != 201 ||
		len(grp.Members) != 2 {
		t.Fatalf("add group: %d %+v", st, grp)
	}
	if st := b.scenarioCall(t, "POST", "/scenario/groups/"+grp.ID+"/members", map[string]any{"memberId": "bob@contoso.com"}, &grp); st != 200 || len(grp.Members) != 3 {
		t.Fatalf("add member: %d %+v", st, grp)
	}
	var groups []emulator.Group
	if st := b.scenarioCall(t, "GET", "/scenario/groups", nil, &groups); st != 200 || len(groups) != 3 {
		t.Fatalf("groups: %d %+v", st, groups)
	}
	var del map[string]any
	if st := b.scenarioCall(t, "DELETE", "/scenario/users/david@contoso.com?permanent=true", nil, &del); st != 200 {
		t.Fatalf("delete user: %d %v", st, del)
	}
	if st := b.scenarioCall(t, "POST", tenant+"/resetdelta", nil, nil); st != 200 {
		t.Fatalf("reset delta: %d", st)
	}
	var recs []emulator.RequestRecord
	if st := b.scenarioCall(t, "GET", "/scenario/graph/requests", nil, &recs); st != 200 || len(recs) != 1 || recs[0].Operation != "groups" || recs[0].Status != 403 ||
		recs[0].Code != "Authorization_RequestDenied" || recs[0].Method != "GET" {
		t.Fatalf("graph requests: %d %+v", st, recs)
	}
	var c emulator.Counters
	if st := b.scenarioCall(t, "GET", "/scenario/graph/counters", nil, &c); st != 200 || c.Operations["groups"] != 1 || c.Statuses["403"] != 1 {
		t.Fatalf("graph counters: %d %+v", st, c)
	}
	var state emulator.State
	b.scenarioCall(t, "GET", "/scenario/state", nil, &state)
	if !state.Users[48].Guest || !state.Users[40].NoTeamsLicense || !state.Users[46].AccountDisabled {
		t.Fatalf("state users %+v %+v %+v", state.Users[48], state.Users[40], state.Users[46])
	}
}
