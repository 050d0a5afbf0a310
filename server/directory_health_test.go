package server

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
)

func TestDirectoryHealth(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice, bob, carol := b.user("Alice Health"), b.user("Bob Health"), b.user("Carol Health")
	b.team("Research", []person{alice, bob}, "Papers")
	if _, err := b.store.UserUpsert(b.ctx, herald.UserUpsertParams{ID: "29:ghost", TenantID: b.tenant, Name: "Ghost"}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		b.store.UserSetBlocked(b.ctx, bob.ID, true),
		b.store.UserSetInstalled(b.ctx, carol.ID, false, time.Now()),
		b.store.UserSetInstalled(b.ctx, "29:ghost", false, time.Now()),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	uninstalled := []string{carol.ID, "29:ghost"}
	if uninstalled[1] < uninstalled[0] {
		uninstalled[0], uninstalled[1] = uninstalled[1], uninstalled[0]
	}
	ids := func(l api.HealthList) []string {
		out := []string{}
		for _, u := range l.Users {
			out = append(out, u.ID)
		}
		return out
	}

	var h api.DirectoryHealth
	b.get("/v1/directory/health").mustStatus(t, http.StatusOK).decode(t, &h)
	want := api.HealthCounts{Users: 4, Reachable: 1, Blocked: 1, Uninstalled: 2, MissingEmail: 1}
	if h.Totals != want || h.StaleDays != 30 || len(h.Tenants) != 1 || h.Tenants[0].HealthCounts != want {
		t.Fatalf("report: %+v", h)
	}
	wantTeam := api.TeamHealth{Name: "Research", TenantID: b.tenant, Installed: true,
		HealthCounts: api.HealthCounts{Users: 2, Reachable: 1, Blocked: 1}}
	if len(h.Teams) != 1 || h.Teams[0].TeamID == "" {
		t.Fatalf("teams: %+v", h.Teams)
	}
	wantTeam.TeamID = h.Teams[0].TeamID
	if diff := cmp.Diff(wantTeam, h.Teams[0]); diff != "" {
		t.Errorf("team (-want +got):\n%s", diff)
	}
	gotLists := map[string][]string{}
	for k, l := range h.Lists {
		gotLists[k] = ids(l)
	}
	wantLists := map[string][]string{"blocked": {bob.ID}, "uninstalled": uninstalled, "stale": {}, "missingEmail": {"29:ghost"}}
	if diff := cmp.Diff(wantLists, gotLists); diff != "" {
		t.Errorf("lists (-want +got):\n%s", diff)
	}

	b.get("/v1/directory/health?team=research&staleDays=7").mustStatus(t, http.StatusOK).decode(t, &h)
	if h.Totals.Users != 2 || h.StaleDays != 7 || len(h.Lists["uninstalled"].Users) != 0 {
		t.Errorf("team report: %+v", h)
	}

	var page1, page2 api.DirectoryHealth
	b.get("/v1/directory/health?problem=uninstalled&limit=1").mustStatus(t, http.StatusOK).decode(t, &page1)
	l := page1.Lists["uninstalled"]
	if len(page1.Lists) != 1 || !l.More || l.Next != uninstalled[0] || !cmp.Equal(ids(l), uninstalled[:1]) {
		t.Fatalf("page 1: %+v", page1.Lists)
	}
	b.get("/v1/directory/health?problem=uninstalled&limit=1&cursor="+url.QueryEscape(l.Next)).mustStatus(t, http.StatusOK).decode(t, &page2)
	if l := page2.Lists["uninstalled"]; l.More || l.Next != "" || !cmp.Equal(ids(l), uninstalled[1:]) {
		t.Fatalf("page 2: %+v", page2.Lists)
	}
}

func TestDirectoryHealthRefuses(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	tests := []struct {
		query  string
		status int
		field  string
	}{
		{"staleDays=0", http.StatusBadRequest, "staleDays"},
		{"staleDays=x", http.StatusBadRequest, "staleDays"},
		{"staleDays=3651", http.StatusBadRequest, "staleDays"},
		{"limit=0", http.StatusBadRequest, "limit"},
		{"problem=lost", http.StatusBadRequest, "problem"},
		{"cursor=29:a", http.StatusBadRequest, "cursor"},
		{"stale=3", http.StatusBadRequest, "stale"},
		{"team=Nope", http.StatusNotFound, "team"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			e := b.get("/v1/directory/health?"+tt.query).mustStatus(t, tt.status).apiErr(t)
			if e.Field != tt.field {
				t.Errorf("field = %q, want %q (%s)", e.Field, tt.field, e.Message)
			}
		})
	}
}
