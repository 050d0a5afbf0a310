package emulator_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"herald/emulator"
)

func TestGraphIdentityLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, g := b.demoGraph(t)
	b.em.SetGraphLimits(emulator.GraphLimits{IdentityUnits: 10})
	// GET /users costs 2 units (1 with $select), so five fit in 10 s.
	for i := range 5 {
		r := g.do(t, "GET", "/users?$top=50", nil)
		if r.status != 200 || r.header.Get("x-ms-resource-unit") != "2" {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
	r := g.do(t, "GET", "/users?$top=50", nil)
	if r.status != 429 || r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") != "10" ||
		!strings.Contains(string(r.body), `"code":"429"`) || r.header.Get("x-ms-throttle-information") == "" {
		t.Fatalf("sixth: %d %v %s", r.status, r.header, r.body)
	}
	b.clock.Advance(10 * time.Second)
	if r := g.do(t, "GET", "/users?$select=id", nil); r.status != 200 || r.header.Get("x-ms-resource-unit") != "1" {
		t.Fatalf("after the window: %d %v", r.status, r.header)
	}
	if c := b.em.GraphCounters(); c.Throttled.Tenant != 1 || c.Throttled.ByLimit["identity/10s"] != 1 {
		t.Fatalf("counters %+v", c.Throttled)
	}
	// The Connector's counters see none of it.
	if c := b.em.Counters(); c.Requests != 0 || c.Throttled.Tenant != 0 {
		t.Fatalf("connector counters %+v", c)
	}
	b.em.SetGraphLimits(emulator.GraphLimits{Disabled: true})
	for range 20 {
		if r := g.do(t, "GET", "/users", nil); r.status != 200 {
			t.Fatalf("limits off: %d", r.status)
		}
	}
}

func TestGraphInstallLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	b.em.SetGraphLimits(emulator.GraphLimits{TeamsWriteRPS: 2})
	statuses := []int{}
	for _, u := range d.Users[10:13] {
		statuses = append(statuses, g.do(t, "POST", "/users/"+u.AADObjectID+"/teamwork/installedApps", installBind(b.em, d.TenantID)).status)
	}
	if statuses[0] != 201 || statuses[1] != 201 || statuses[2] != 429 {
		t.Fatalf("statuses %v", statuses)
	}
	b.bot.await(t, 4)
	// The default table: 30 installs a second per tenant.
	b.em.SetGraphLimits(emulator.GraphLimits{})
	b.clock.Advance(time.Second)
	n := 0
	for _, u := range d.Users[12:45] {
		if g.do(t, "POST", "/users/"+u.AADObjectID+"/teamwork/installedApps", installBind(b.em, d.TenantID)).status != 429 {
			n++
		}
	}
	if n != 30 {
		t.Fatalf("%d installs answered in one second, want 30", n)
	}
}

func TestGraphFaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	must(t, b.em.SetGraphFaults(emulator.GraphFaults{ErrorRate5xx: 1, Operations: []string{"users"}, RetryAfterSeconds: 3}))
	if r := g.do(t, "GET", "/users", nil); r.status != 503 || r.errorCode() != "serviceNotAvailable" || r.header.Get("Retry-After") != "3" {
		t.Fatalf("503: %d %v %s", r.status, r.header, r.body)
	}
	if r := g.do(t, "GET", "/organization", nil); r.status != 200 {
		t.Fatalf("other operation: %d", r.status)
	}
	must(t, b.em.SetGraphFaults(emulator.GraphFaults{ErrorRate5xx: 1, Status5xx: 504}))
	if r := g.do(t, "GET", "/organization", nil); r.status != 504 || r.errorCode() != "gatewayTimeout" {
		t.Fatalf("504: %d %s", r.status, r.body)
	}
	must(t, b.em.SetGraphFaults(emulator.GraphFaults{Storm429Seconds: 30, StormRetryAfterSeconds: 7}))
	if r := g.do(t, "POST", "/users/"+d.Users[3].AADObjectID+"/teamwork/installedApps", installBind(b.em, d.TenantID)); r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Fatalf("storm: %d %v", r.status, r.header)
	}
	if f := b.em.GraphFaults(); f.Storm429Seconds != 30 {
		t.Fatalf("storm left %v", f.Storm429Seconds)
	}
	b.clock.Advance(31 * time.Second)
	g = b.graphFor(t, d.TenantID)
	if r := g.do(t, "GET", "/organization", nil); r.status != 200 {
		t.Fatalf("after the storm: %d", r.status)
	}
	// Seeded draws repeat.
	draw := func() []int {
		must(t, b.em.SetGraphFaults(emulator.GraphFaults{})) // a new seed restarts the draws
		must(t, b.em.SetGraphFaults(emulator.GraphFaults{Seed: 42, Rate429: 0.5}))
		var out []int
		for range 12 {
			out = append(out, g.do(t, "GET", "/organization", nil).status)
		}
		return out
	}
	first, second := draw(), draw()
	if !slices.Equal(first, second) || !slices.Contains(first, 429) || !slices.Contains(first, 200) {
		t.Fatalf("seeded draws %v / %v", first, second)
	}
	for _, bad := range []emulator.GraphFaults{{ErrorRate5xx: 0.7, Rate429: 0.7}, {Status5xx: 404}, {LatencyMs: -1}} {
		if err := b.em.SetGraphFaults(bad); err == nil {
			t.Errorf("faults %+v accepted", bad)
		}
	}
}
