package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
)

// RunHealth runs the directory health part of the suite.
func RunHealth(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"counts and lists", testHealthCounts},
		{"scoped to a tenant or a team", testHealthScope},
		{"lists page", testHealthPages},
		{"thousands of users", testHealthMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Teams of seedHealth.
const (
	healthT1 = "19:health1@thread.tacv2"
	healthT2 = "19:health2@thread.tacv2"
	healthT3 = "19:health3@thread.tacv2"
)

// seedHealth records a directory with one user of each kind and returns
// the stale cutoff under which the users not seen lately are stale:
//
//	t1: a reachable, b blocked, c uninstalled without email or UPN,
//	    d blocked and uninstalled, e with a UPN only;
//	t2: f without email or UPN.
//
// a and b were seen after the cutoff; the others are stale. Team T1 (t1,
// installed) has a, b, c; T2 (t1, not installed) nobody; T3 (t2,
// installed) f; a group chat has d.
func seedHealth(t *testing.T, s herald.Store) time.Time {
	t.Helper()
	ctx := context.Background()
	cutoff := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	seen := cutoff.Add(time.Hour)
	for _, u := range []herald.UserUpsertParams{
		{ID: "29:a", TenantID: "t1", Email: "a@t1.example", LastSeen: seen},
		{ID: "29:b", TenantID: "t1", Email: "b@t1.example", LastSeen: seen},
		{ID: "29:c", TenantID: "t1"},
		{ID: "29:d", TenantID: "t1", Email: "d@t1.example"},
		{ID: "29:e", TenantID: "t1", UPN: "e@t1.example"},
		{ID: "29:f", TenantID: "t2"},
	} {
		_, err := s.UserUpsert(ctx, u)
		must(t, err)
	}
	must(t, s.UserSetBlocked(ctx, "29:b", true))
	must(t, s.UserSetBlocked(ctx, "29:d", true))
	must(t, s.UserSetInstalled(ctx, "29:c", false, t0))
	must(t, s.UserSetInstalled(ctx, "29:d", false, t0))
	for _, tm := range []herald.TeamUpsertParams{
		{ID: healthT1, TenantID: "t1", Name: "One"},
		{ID: healthT2, TenantID: "t1", Name: "Two"},
		{ID: healthT3, TenantID: "t2", Name: "Three"},
	} {
		_, err := s.TeamUpsert(ctx, tm)
		must(t, err)
	}
	must(t, s.TeamSetInstalled(ctx, healthT1, true, t0))
	must(t, s.TeamSetInstalled(ctx, healthT3, true, t0))
	must(t, s.MembershipReplace(ctx, healthT1, []string{"29:a", "29:b", "29:c"}))
	must(t, s.MembershipReplace(ctx, healthT3, []string{"29:f"}))
	must(t, s.MembershipAdd(ctx, "19:healthchat@thread.v2", "29:d"))
	return cutoff
}

// healthIDs sums up a health report as comparable ids per list.
func healthIDs(h herald.DirectoryHealth) map[herald.HealthProblem][]string {
	out := map[herald.HealthProblem][]string{}
	for _, l := range h.Lists {
		out[l.Problem] = ids(l.Users, userID)
	}
	return out
}

func testHealthCounts(t *testing.T, s herald.Store) {
	cutoff := seedHealth(t, s)
	h, err := s.DirectoryHealth(context.Background(), herald.DirectoryHealthParams{StaleBefore: cutoff})
	must(t, err)
	c := func(users, reachable, blocked, uninstalled, stale, missing int) herald.HealthCounts {
		return herald.HealthCounts{Users: users, Reachable: reachable, Blocked: blocked, Uninstalled: uninstalled, Stale: stale, MissingEmail: missing}
	}
	want := herald.DirectoryHealth{
		StaleBefore: cutoff,
		Totals:      c(6, 3, 2, 2, 4, 2),
		Tenants:     []herald.TenantHealth{{TenantID: "t1", Counts: c(5, 2, 2, 2, 3, 1)}, {TenantID: "t2", Counts: c(1, 1, 0, 0, 1, 1)}},
		Teams: []herald.TeamHealth{
			{TeamID: healthT1, TenantID: "t1", Name: "One", Installed: true, Counts: c(3, 1, 1, 1, 1, 1)},
			{TeamID: healthT2, TenantID: "t1", Name: "Two"},
			{TeamID: healthT3, TenantID: "t2", Name: "Three", Installed: true, Counts: c(1, 1, 0, 0, 1, 1)},
		},
	}
	got := h
	got.Lists = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	wantLists := map[herald.HealthProblem][]string{
		herald.ProblemBlocked:      {"29:b", "29:d"},
		herald.ProblemUninstalled:  {"29:c", "29:d"},
		herald.ProblemStale:        {"29:c", "29:d", "29:e", "29:f"},
		herald.ProblemMissingEmail: {"29:c", "29:f"},
	}
	if diff := cmp.Diff(wantLists, healthIDs(h)); diff != "" {
		t.Errorf("lists (-want +got):\n%s", diff)
	}
	for i, l := range h.Lists {
		if l.Problem != herald.HealthProblems()[i] || l.Next != "" {
			t.Errorf("list %d: problem %q, next %q", i, l.Problem, l.Next)
		}
	}
	if h.Lists[0].Users[0].Email != "b@t1.example" || !h.Lists[0].Users[0].Blocked {
		t.Errorf("listed user lacks its record: %+v", h.Lists[0].Users[0])
	}
	h, err = s.DirectoryHealth(context.Background(), herald.DirectoryHealthParams{})
	must(t, err)
	if h.Totals.Stale != 0 || len(healthIDs(h)[herald.ProblemStale]) != 0 {
		t.Errorf("no cutoff, yet stale: %+v", h.Totals)
	}
}

func testHealthScope(t *testing.T, s herald.Store) {
	cutoff := seedHealth(t, s)
	tests := []struct {
		name      string
		p         herald.DirectoryHealthParams
		users     int
		tenants   []string
		teams     []string
		uninstall []string
	}{
		{"tenant", herald.DirectoryHealthParams{TenantID: "t2"}, 1, []string{"t2"}, []string{healthT3}, []string{}},
		{"team", herald.DirectoryHealthParams{TeamID: healthT1}, 3, []string{"t1"}, []string{healthT1}, []string{"29:c"}},
		{"team and other tenant", herald.DirectoryHealthParams{TeamID: healthT1, TenantID: "t2"}, 0, []string{}, []string{}, []string{}},
		{"unknown team", herald.DirectoryHealthParams{TeamID: "19:none"}, 0, []string{}, []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.p.StaleBefore = cutoff
			h, err := s.DirectoryHealth(context.Background(), tt.p)
			must(t, err)
			got := []any{h.Totals.Users, tenantIDs(h), teamIDs(h), healthIDs(h)[herald.ProblemUninstalled]}
			want := []any{tt.users, tt.tenants, tt.teams, tt.uninstall}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("users, tenants, teams, uninstalled (-want +got):\n%s", diff)
			}
		})
	}
}

func tenantIDs(h herald.DirectoryHealth) []string {
	return ids(h.Tenants, func(t herald.TenantHealth) string { return t.TenantID })
}

func teamIDs(h herald.DirectoryHealth) []string {
	return ids(h.Teams, func(t herald.TeamHealth) string { return t.TeamID })
}

func testHealthPages(t *testing.T, s herald.Store) {
	cutoff := seedHealth(t, s)
	var got []string
	p := herald.DirectoryHealthParams{StaleBefore: cutoff, Problem: herald.ProblemStale, Limit: 1}
	for range 10 {
		h, err := s.DirectoryHealth(context.Background(), p)
		must(t, err)
		if len(h.Lists) != 1 || h.Lists[0].Problem != herald.ProblemStale {
			t.Fatalf("lists = %+v", h.Lists)
		}
		if h.Totals.Stale != 4 {
			t.Fatalf("a page changed the counts: %+v", h.Totals)
		}
		got = append(got, ids(h.Lists[0].Users, userID)...)
		if p.After = h.Lists[0].Next; p.After == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"29:c", "29:d", "29:e", "29:f"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

// testHealthMany counts a directory of a few thousand users in a few
// dozen teams.
func testHealthMany(t *testing.T, s herald.Store) {
	ctx := context.Background()
	const n, teams = 2400, 24
	members := make([][]string, teams)
	for i := range n {
		id := fmt.Sprintf("29:m%05d", i)
		p := herald.UserUpsertParams{ID: id, TenantID: fmt.Sprintf("t%d", i%3)}
		if i%4 != 0 {
			p.Email = id[3:] + "@x.example"
		}
		_, err := s.UserUpsert(ctx, p)
		must(t, err)
		if i%10 == 0 {
			must(t, s.UserSetBlocked(ctx, id, true))
		}
		members[i%teams] = append(members[i%teams], id)
	}
	for i, m := range members {
		id := fmt.Sprintf("19:many%02d@thread.tacv2", i)
		_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: id, TenantID: "t0"})
		must(t, err)
		must(t, s.MembershipReplace(ctx, id, m))
	}
	h, err := s.DirectoryHealth(ctx, herald.DirectoryHealthParams{StaleBefore: time.Now().Add(time.Hour), Limit: 50})
	must(t, err)
	want := herald.HealthCounts{Users: n, Reachable: n - n/10, Blocked: n / 10, Stale: n, MissingEmail: n / 4}
	if h.Totals != want {
		t.Errorf("totals = %+v, want %+v", h.Totals, want)
	}
	var perTeam herald.HealthCounts
	for _, tm := range h.Teams {
		perTeam.Add(tm.Counts)
	}
	if len(h.Teams) != teams || perTeam != want {
		t.Errorf("%d teams summing to %+v, want %d summing to %+v", len(h.Teams), perTeam, teams, want)
	}
	if l := h.Lists[0]; len(l.Users) != 50 || l.Next != l.Users[49].ID {
		t.Errorf("blocked list: %d users, next %q", len(l.Users), l.Next)
	}
}
