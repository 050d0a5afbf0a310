package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"herald/emulator"
)

// batchResponse is a $batch answer.
type batchResponse struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func (g *graphClient) batch(t *testing.T, reqs []map[string]any) (reply, map[string]int, batchResponse) {
	t.Helper()
	r := g.do(t, "POST", "/$batch", map[string]any{"requests": reqs})
	var br batchResponse
	statuses := map[string]int{}
	if r.status == 200 {
		r.decode(t, &br)
		for _, x := range br.Responses {
			statuses[x.ID] = x.Status
		}
	}
	return r, statuses, br
}

func get(id, url string, dependsOn ...string) map[string]any {
	m := map[string]any{"id": id, "method": "GET", "url": url}
	if len(dependsOn) > 0 {
		m["dependsOn"] = dependsOn
	}
	return m
}

func TestGraphBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	bob := d.Users[1]
	install := map[string]any{"id": "3", "method": "POST", "url": "/users/" + bob.AADObjectID + "/teamwork/installedApps",
		"headers": map[string]string{"Content-Type": "application/json"}, "body": installBind(b.em, d.TenantID)}
	r, st, br := g.batch(t, []map[string]any{get("1", "/users?$top=2&$select=id"), get("2", "organization"), install,
		get("4", "/users/"+bob.AADObjectID+"/teamwork/installedApps", "3")})
	if r.status != 200 || fmt.Sprint(st) != "map[1:200 2:200 3:201 4:200]" {
		t.Fatalf("batch: %d %v %s", r.status, st, r.body)
	}
	if br.Responses[0].ID != "1" || !strings.Contains(string(br.Responses[0].Body), "@odata.nextLink") ||
		!strings.Contains(br.Responses[0].Headers["Content-Type"], "application/json") {
		t.Fatalf("first response %+v", br.Responses[0])
	}
	if len(br.Responses[2].Body) != 0 || !strings.Contains(string(br.Responses[3].Body), "userScopeTeamsAppInstallation") {
		t.Fatalf("install responses %s / %s", br.Responses[2].Body, br.Responses[3].Body)
	}
	b.bot.await(t, 2) // the install's events
	// A failed dependency fails its dependants with 424, transitively;
	// independent requests still run.
	_, st, br = g.batch(t, []map[string]any{get("a", "/users/nobody@contoso.com"), get("b", "/organization", "a"),
		get("c", "/organization", "b"), get("d", "/organization")})
	if fmt.Sprint(st) != "map[a:404 b:424 c:424 d:200]" || !strings.Contains(string(br.Responses[1].Body), "FailedDependency") {
		t.Fatalf("dependencies: %v %+v", st, br)
	}
	// Dependencies run first whatever the order given; answers keep it.
	_, st, br = g.batch(t, []map[string]any{get("late", "/organization", "early"), get("early", "/users/"+bob.UPN)})
	if fmt.Sprint(st) != "map[early:200 late:200]" || br.Responses[0].ID != "late" {
		t.Fatalf("reordered: %v", br)
	}
	// A batch in a batch, and routes Graph lacks, fail alone.
	_, st, _ = g.batch(t, []map[string]any{get("x", "/$batch"), get("y", "/organization")})
	if fmt.Sprint(st) != "map[x:400 y:200]" {
		t.Fatalf("nested batch: %v", st)
	}
	// The items are logged on their own.
	ops := map[string]int{}
	for _, rec := range b.em.GraphRequests() {
		ops[rec.Operation]++
	}
	if ops["batch"] != 4 || ops["organization"] != 4 || ops["userInstall"] != 1 {
		t.Fatalf("request log ops %v", ops)
	}
}

func TestGraphBatchRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.allowErr = true
	_, g := b.demoGraph(t)
	many := make([]map[string]any, 21)
	for i := range many {
		many[i] = get(fmt.Sprint(i), "/organization")
	}
	post := map[string]any{"id": "1", "method": "POST", "url": "/chats/x/installedApps", "body": map[string]any{}}
	tests := []struct {
		name string
		reqs []map[string]any
		msg  string
	}{
		{"21 requests", many, "Number of requests exceeds the limit of 20."},
		{"no requests", []map[string]any{}, "Invalid batch payload format"},
		{"duplicate ids", []map[string]any{get("1", "/organization"), get("1", "/users")}, "must be unique"},
		{"no id", []map[string]any{get("", "/organization")}, "needs an id"},
		{"bad method", []map[string]any{{"id": "1", "method": "BREW", "url": "/organization"}}, "invalid method"},
		{"absolute url", []map[string]any{get("1", "https://graph.microsoft.com/v1.0/organization")}, "relative"},
		{"body without content type", []map[string]any{post}, "does not contain Content-Type header"},
		{"unknown dependency", []map[string]any{get("1", "/organization", "9")}, "not another request"},
		{"self dependency", []map[string]any{get("1", "/organization", "1")}, "not another request"},
		{"cycle", []map[string]any{get("1", "/organization", "2"), get("2", "/organization", "1")}, "cycle"},
	}
	for _, tt := range tests {
		r, _, _ := g.batch(t, tt.reqs)
		if r.status != 400 || !strings.Contains(r.errorMessage(), tt.msg) {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
	}
	if r := g.do(t, "POST", "/$batch", "{not json"); r.status != 400 {
		t.Fatalf("malformed: %d %s", r.status, r.body)
	}
	if len(b.em.GraphRequests()) == 0 {
		t.Fatal("no request logged")
	}
}

func TestGraphBatchThrottlesItems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	b.em.SetGraphLimits(emulator.GraphLimits{TeamsReadRPS: 2})
	q := "/appCatalogs/teamsApps?$filter=externalId%20eq%20'" + b.em.TeamsAppID() + "'"
	_, st, br := g.batch(t, []map[string]any{get("1", q), get("2", q), get("3", q), get("4", "/users/"+d.Users[0].UPN)})
	if fmt.Sprint(st) != "map[1:200 2:200 3:429 4:200]" {
		t.Fatalf("statuses %v", st)
	}
	if ra := br.Responses[2].Headers["Retry-After"]; ra != "1" || !strings.Contains(string(br.Responses[2].Body), "TooManyRequests") {
		t.Fatalf("throttled item %+v", br.Responses[2])
	}
	b.clock.Advance(1100 * time.Millisecond)
	if _, st, _ := g.batch(t, []map[string]any{get("1", q)}); st["1"] != 200 {
		t.Fatalf("after the window: %v", st)
	}
}
