package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreStamps drops the record-keeping timestamps from comparisons.
var ignoreStamps = cmpopts.IgnoreFields(herald.User{}, "CreatedAt", "UpdatedAt")

// RunDirectory runs the directory part of the suite.
func RunDirectory(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"tenant", testTenant},
		{"user upsert merges", testUserUpsert},
		{"user find", testUserFind},
		{"user list", testUserList},
		{"user flags", testUserFlags},
		{"team", testTeam},
		{"team list", testTeamList},
		{"channel", testChannel},
		{"membership", testMembership},
		{"conversation", testConversation},
		{"preference", testPreference},
		{"welcome", testWelcome},
		{"legacy tasks: none to move", testLegacyTasksNone},
		{"welcome marks in a transaction", testWelcomeMarkTx},
		{"not found", testNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testTenant(t *testing.T, s herald.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	must(t, s.TenantUpsert(ctx, herald.Tenant{ID: "t1", ServiceURL: "https://a/", LastSeen: t0}))
	must(t, s.TenantUpsert(ctx, herald.Tenant{ID: "t1", LastSeen: t0.Add(-time.Hour)}))
	got, err := s.TenantGet(ctx, "t1")
	must(t, err)
	if diff := cmp.Diff(herald.Tenant{ID: "t1", ServiceURL: "https://a/", LastSeen: t0}, got); diff != "" {
		t.Fatalf("tenant after merge (-want +got):\n%s", diff)
	}
	must(t, s.TenantUpsert(ctx, herald.Tenant{ID: "t1", ServiceURL: "https://b/", LastSeen: t0.Add(time.Minute)}))
	got, err = s.TenantGet(ctx, "t1")
	must(t, err)
	if got.ServiceURL != "https://b/" || !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("tenant after update = %+v", got)
	}
}

func testUserUpsert(t *testing.T, s herald.Store) {
	ctx := context.Background()
	seen := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	u, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: "29:a", TenantID: "t1", Name: "Alice", LastSeen: seen, Locale: "en-US"})
	must(t, err)
	if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
		t.Fatalf("timestamps not set: %+v", u)
	}
	u, err = s.UserUpsert(ctx, herald.UserUpsertParams{ID: "29:a", AADObjectID: "AAD-1", UPN: "alice@contoso.com",
		Email: "Alice@Contoso.com", GivenName: "Alice", Surname: "Smith", ConversationID: "a:1",
		ServiceURL: "https://s/", TimeZone: "Europe/Paris", LastSeen: seen.Add(-time.Hour)})
	must(t, err)
	want := herald.User{ID: "29:a", TenantID: "t1", AADObjectID: "AAD-1", UPN: "alice@contoso.com",
		Email: "Alice@Contoso.com", Name: "Alice", GivenName: "Alice", Surname: "Smith", ConversationID: "a:1",
		ServiceURL: "https://s/", Locale: "en-US", TimeZone: "Europe/Paris", LastSeen: seen}
	if diff := cmp.Diff(want, u, ignoreStamps); diff != "" {
		t.Fatalf("merged user (-want +got):\n%s", diff)
	}
	got, err := s.UserGet(ctx, "29:a")
	must(t, err)
	if diff := cmp.Diff(u, got); diff != "" {
		t.Fatalf("UserGet differs from UserUpsert's result (-upsert +get):\n%s", diff)
	}
	if _, err := s.UserUpsert(ctx, herald.UserUpsertParams{}); err == nil {
		t.Fatal("UserUpsert with empty id succeeded")
	}
}

func testUserFind(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for _, p := range []herald.UserUpsertParams{
		{ID: "29:a", TenantID: "t1", AADObjectID: "aaaa-1", UPN: "alice@contoso.com", Email: "alice.smith@contoso.com"},
		{ID: "29:b", TenantID: "t1", AADObjectID: "bbbb-2", UPN: "bob@contoso.com"},
		{ID: "29:c", TenantID: "t2", AADObjectID: "cccc-3", Email: "bob@contoso.com"},
	} {
		_, err := s.UserUpsert(ctx, p)
		must(t, err)
	}
	tests := []struct {
		tenant, ident, want string
		err                 error
	}{
		{"", "29:a", "29:a", nil},
		{"t1", "29:a", "29:a", nil},
		{"t2", "29:a", "", herald.ErrNotFound},
		{"", "AAAA-1", "29:a", nil},
		{"", "ALICE@contoso.com", "29:a", nil},
		{"", "alice.smith@CONTOSO.com", "29:a", nil},
		{"t1", "bob@contoso.com", "29:b", nil},
		{"t2", "bob@contoso.com", "29:c", nil},
		{"", "bob@contoso.com", "", herald.ErrConflict},
		{"", "nobody@contoso.com", "", herald.ErrNotFound},
		{"", "", "", herald.ErrNotFound},
		{"", " 29:b ", "29:b", nil},
	}
	for _, tt := range tests {
		u, err := s.UserFind(ctx, tt.tenant, tt.ident)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("UserFind(%q, %q) err = %v, want %v", tt.tenant, tt.ident, err, tt.err)
			}
			continue
		}
		if err != nil || u.ID != tt.want {
			t.Errorf("UserFind(%q, %q) = %q, %v; want %q", tt.tenant, tt.ident, u.ID, err, tt.want)
		}
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

func userID(u herald.User) string { return u.ID }

func testUserList(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for i := range 7 {
		tenant := "t1"
		if i%3 == 2 {
			tenant = "t2"
		}
		_, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: fmt.Sprintf("29:u%d", i), TenantID: tenant})
		must(t, err)
	}
	must(t, s.UserSetBlocked(ctx, "29:u1", true))
	must(t, s.UserSetInstalled(ctx, "29:u3", false, time.Now()))
	must(t, s.MembershipReplace(ctx, "team1", []string{"29:u0", "29:u1", "29:u2", "29:u4"}))

	tests := []struct {
		name string
		p    herald.UserListParams
		want []string
	}{
		{"all", herald.UserListParams{}, []string{"29:u0", "29:u1", "29:u2", "29:u3", "29:u4", "29:u5", "29:u6"}},
		{"tenant", herald.UserListParams{TenantID: "t2"}, []string{"29:u2", "29:u5"}},
		{"page", herald.UserListParams{After: "29:u1", Limit: 3}, []string{"29:u2", "29:u3", "29:u4"}},
		{"reachable", herald.UserListParams{TenantID: "t1", ReachableOnly: true}, []string{"29:u0", "29:u4", "29:u6"}},
		{"team", herald.UserListParams{TeamID: "team1"}, []string{"29:u0", "29:u1", "29:u2", "29:u4"}},
		{"team reachable tenant", herald.UserListParams{TeamID: "team1", TenantID: "t1", ReachableOnly: true}, []string{"29:u0", "29:u4"}},
		{"team page", herald.UserListParams{TeamID: "team1", After: "29:u0", Limit: 2}, []string{"29:u1", "29:u2"}},
	}
	for _, tt := range tests {
		got, err := s.UserList(ctx, tt.p)
		must(t, err)
		if diff := cmp.Diff(tt.want, ids(got, userID), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testUserFlags(t *testing.T, s herald.Store) {
	ctx := context.Background()
	_, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: "29:a", TenantID: "t1"})
	must(t, err)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	must(t, s.UserSetInstalled(ctx, "29:a", true, at))
	must(t, s.UserSetConversation(ctx, "29:a", "a:conv"))
	u, err := s.UserGet(ctx, "29:a")
	must(t, err)
	if !u.Installed || u.Uninstalled || !u.InstalledAt.Equal(at) || u.ConversationID != "a:conv" || !u.Reachable() {
		t.Fatalf("after install: %+v", u)
	}
	must(t, s.UserSetBlocked(ctx, "29:a", true))
	if u, _ = s.UserGet(ctx, "29:a"); !u.Blocked || u.Reachable() {
		t.Fatalf("after block: %+v", u)
	}
	must(t, s.UserSetBlocked(ctx, "29:a", false))
	must(t, s.UserSetInstalled(ctx, "29:a", false, at.Add(time.Hour)))
	if u, _ = s.UserGet(ctx, "29:a"); u.Blocked || u.Installed || !u.Uninstalled || u.Reachable() {
		t.Fatalf("after uninstall: %+v", u)
	}
	must(t, s.UserSetInstalled(ctx, "29:a", true, at.Add(2*time.Hour)))
	if u, _ = s.UserGet(ctx, "29:a"); !u.Installed || u.Uninstalled || !u.InstalledAt.Equal(at.Add(2*time.Hour)) {
		t.Fatalf("after reinstall: %+v", u)
	}
	for name, err := range map[string]error{
		"conversation": s.UserSetConversation(ctx, "29:none", "a:x"),
		"blocked":      s.UserSetBlocked(ctx, "29:none", true),
		"installed":    s.UserSetInstalled(ctx, "29:none", true, at),
	} {
		if !errors.Is(err, herald.ErrNotFound) {
			t.Errorf("set %s on missing user: err = %v, want ErrNotFound", name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func testTeam(t *testing.T, s herald.Store) {
	ctx := context.Background()
	tm, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:t1@thread.tacv2", TenantID: "t1", Name: "Marketing",
		AADGroupID: "GROUP-1", GeneralChannelID: "19:t1@thread.tacv2", ServiceURL: "https://s/"})
	must(t, err)
	if tm.Installed || tm.Archived || tm.Deleted || tm.Name != "Marketing" {
		t.Fatalf("new team: %+v", tm)
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	must(t, s.TeamSetInstalled(ctx, tm.ID, true, at))
	tm, err = s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: tm.ID, Name: "Marketing EMEA", Archived: ptr(true)})
	must(t, err)
	want := herald.Team{ID: "19:t1@thread.tacv2", TenantID: "t1", AADGroupID: "GROUP-1", Name: "Marketing EMEA",
		GeneralChannelID: "19:t1@thread.tacv2", ServiceURL: "https://s/", Installed: true, Archived: true, InstalledAt: at}
	if diff := cmp.Diff(want, tm, cmpopts.IgnoreFields(herald.Team{}, "CreatedAt", "UpdatedAt")); diff != "" {
		t.Fatalf("team after merge (-want +got):\n%s", diff)
	}
	tm, err = s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: tm.ID, Archived: ptr(false), Deleted: ptr(true)})
	must(t, err)
	if tm.Archived || !tm.Deleted || tm.Name != "Marketing EMEA" {
		t.Fatalf("team flags: %+v", tm)
	}
	must(t, s.TeamSetInstalled(ctx, tm.ID, true, at))
	must(t, s.TeamSetRosterAt(ctx, tm.ID, at.Add(time.Minute)))
	got, err := s.TeamGet(ctx, tm.ID)
	must(t, err)
	if got.Deleted || !got.Installed || !got.RosterAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("reinstalled team: %+v", got)
	}
	must(t, s.TeamSetInstalled(ctx, tm.ID, false, at))
	if got, _ = s.TeamGet(ctx, tm.ID); got.Installed {
		t.Fatalf("uninstalled team still installed: %+v", got)
	}

	_, err = s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:t2", Name: "Sales", AADGroupID: "group-2"})
	must(t, err)
	_, err = s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:t3", Name: "sales"})
	must(t, err)
	_, err = s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:t4", Name: "19:t2"})
	must(t, err)
	for _, tt := range []struct {
		ident, want string
		err         error
	}{
		{"19:t1@thread.tacv2", "19:t1@thread.tacv2", nil},
		{"group-1", "19:t1@thread.tacv2", nil},
		{"MARKETING emea", "19:t1@thread.tacv2", nil},
		{"19:t2", "19:t2", nil}, // id beats another team's name
		{"GROUP-2", "19:t2", nil},
		{"Sales", "", herald.ErrConflict},
		{"nothing", "", herald.ErrNotFound},
	} {
		got, err := s.TeamFind(ctx, tt.ident)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("TeamFind(%q) err = %v, want %v", tt.ident, err, tt.err)
			}
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("TeamFind(%q) = %q, %v; want %q", tt.ident, got.ID, err, tt.want)
		}
	}
}

func testTeamList(t *testing.T, s herald.Store) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		id := fmt.Sprintf("19:team%d", i)
		tenant := "t1"
		if i == 4 {
			tenant = "t2"
		}
		_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: id, TenantID: tenant, Name: id})
		must(t, err)
		if i != 1 {
			must(t, s.TeamSetInstalled(ctx, id, true, at))
		}
	}
	_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:team2", Deleted: ptr(true)})
	must(t, err)
	must(t, s.TeamSetRosterAt(ctx, "19:team3", at.Add(time.Hour)))
	tests := []struct {
		name string
		p    herald.TeamListParams
		want []string
	}{
		{"all", herald.TeamListParams{}, []string{"19:team0", "19:team1", "19:team2", "19:team3", "19:team4"}},
		{"installed", herald.TeamListParams{InstalledOnly: true}, []string{"19:team0", "19:team3", "19:team4"}},
		{"tenant installed", herald.TeamListParams{TenantID: "t1", InstalledOnly: true}, []string{"19:team0", "19:team3"}},
		{"stale roster", herald.TeamListParams{InstalledOnly: true, RosterBefore: at}, []string{"19:team0", "19:team4"}},
		{"page", herald.TeamListParams{After: "19:team1", Limit: 2}, []string{"19:team2", "19:team3"}},
	}
	for _, tt := range tests {
		got, err := s.TeamList(ctx, tt.p)
		must(t, err)
		if diff := cmp.Diff(tt.want, ids(got, func(t herald.Team) string { return t.ID }), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testChannel(t *testing.T, s herald.Store) {
	ctx := context.Background()
	const team = "19:team@thread.tacv2"
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: team, TeamID: team}))
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: "19:c2", TeamID: team, Name: "Releases", Type: "standard"}))
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: "19:c3", TeamID: team, Name: "Alerts"}))
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: "19:c3", TeamID: team, Name: "Incidents"}))
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: "19:c2", TeamID: team, Deleted: true}))
	must(t, s.ChannelUpsert(ctx, herald.Channel{ID: "19:other", TeamID: "19:team2", Name: "Incidents"}))
	got, err := s.ChannelList(ctx, team)
	must(t, err)
	want := []herald.Channel{
		{ID: team, TeamID: team},
		{ID: "19:c3", TeamID: team, Name: "Incidents"},
		{ID: "19:c2", TeamID: team, Name: "Releases", Type: "standard", Deleted: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ChannelList (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ ident, want string }{
		{"general", team}, {"General", team}, {team, team}, {"incidents", "19:c3"}, {"19:c2", "19:c2"},
	} {
		c, err := s.ChannelFind(ctx, team, tt.ident)
		if err != nil || c.ID != tt.want {
			t.Errorf("ChannelFind(%q) = %q, %v; want %q", tt.ident, c.ID, err, tt.want)
		}
	}
	if _, err := s.ChannelFind(ctx, team, "Alerts"); !errors.Is(err, herald.ErrNotFound) {
		t.Errorf("ChannelFind(old name) err = %v, want ErrNotFound", err)
	}
	if err := s.ChannelUpsert(ctx, herald.Channel{ID: "19:x"}); err == nil {
		t.Error("ChannelUpsert without team succeeded")
	}
}

func testMembership(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for _, id := range []string{"29:a", "29:b", "29:c", "29:d"} {
		_, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: id})
		must(t, err)
	}
	members := func(team string) []string {
		t.Helper()
		us, err := s.UserList(ctx, herald.UserListParams{TeamID: team})
		must(t, err)
		return ids(us, userID)
	}
	must(t, s.MembershipAdd(ctx, "T", "29:a"))
	must(t, s.MembershipAdd(ctx, "T", "29:a"))
	must(t, s.MembershipAdd(ctx, "T", "29:b"))
	must(t, s.MembershipAdd(ctx, "U", "29:c"))
	if diff := cmp.Diff([]string{"29:a", "29:b"}, members("T")); diff != "" {
		t.Fatalf("after adds (-want +got):\n%s", diff)
	}
	must(t, s.MembershipRemove(ctx, "T", "29:a"))
	must(t, s.MembershipRemove(ctx, "T", "29:zzz"))
	if diff := cmp.Diff([]string{"29:b"}, members("T")); diff != "" {
		t.Fatalf("after remove (-want +got):\n%s", diff)
	}
	must(t, s.MembershipReplace(ctx, "T", []string{"29:c", "29:d", "29:c"}))
	if diff := cmp.Diff([]string{"29:c", "29:d"}, members("T")); diff != "" {
		t.Fatalf("after replace (-want +got):\n%s", diff)
	}
	must(t, s.MembershipReplace(ctx, "T", nil))
	if got := members("T"); len(got) != 0 {
		t.Fatalf("after replace with nothing: %v", got)
	}
	if diff := cmp.Diff([]string{"29:c"}, members("U")); diff != "" {
		t.Fatalf("other team touched (-want +got):\n%s", diff)
	}
}

func testPreference(t *testing.T, s herald.Store) {
	ctx := context.Background()
	check := func(topic string, want bool) {
		t.Helper()
		got, err := s.UserOptedOut(ctx, "29:a", topic)
		must(t, err)
		if got != want {
			t.Errorf("UserOptedOut(%q) = %v, want %v", topic, got, want)
		}
	}
	check("deploys", false)
	must(t, s.PreferenceSet(ctx, "29:a", "deploys", true))
	check("deploys", true)
	check("incidents", false)
	must(t, s.PreferenceSet(ctx, "29:a", herald.TopicAll, true))
	check("incidents", true)
	must(t, s.PreferenceSet(ctx, "29:a", "incidents", false))
	check("incidents", false) // explicit opt-in wins over "*"
	check("other", true)
	must(t, s.PreferenceSet(ctx, "29:a", herald.TopicAll, false))
	check("other", false)
	prefs, err := s.PreferenceList(ctx, "29:a")
	must(t, err)
	got := make(map[string]bool)
	for _, p := range prefs {
		got[p.Topic] = p.OptedOut
		if p.UpdatedAt.IsZero() {
			t.Errorf("preference %q has no UpdatedAt", p.Topic)
		}
	}
	if diff := cmp.Diff(map[string]bool{"*": false, "deploys": true, "incidents": false}, got); diff != "" {
		t.Fatalf("PreferenceList (-want +got):\n%s", diff)
	}
	if prefs, _ := s.PreferenceList(ctx, "29:nobody"); len(prefs) != 0 {
		t.Fatalf("preferences of unknown user: %v", prefs)
	}
}

func testWelcome(t *testing.T, s herald.Store) {
	ctx := context.Background()
	got, err := s.WelcomeLast(ctx, "personal", "29:a")
	must(t, err)
	if !got.IsZero() {
		t.Fatalf("WelcomeLast before any = %v", got)
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	must(t, s.WelcomeMark(ctx, "personal", "29:a", at))
	must(t, s.WelcomeMark(ctx, "personal", "29:a", at.Add(time.Hour)))
	got, err = s.WelcomeLast(ctx, "personal", "29:a")
	must(t, err)
	if !got.Equal(at.Add(time.Hour)) {
		t.Fatalf("WelcomeLast = %v, want %v", got, at.Add(time.Hour))
	}
	if got, _ := s.WelcomeLast(ctx, "team", "29:a"); !got.IsZero() {
		t.Fatalf("welcome kinds leak: %v", got)
	}
}

func testNotFound(t *testing.T, s herald.Store) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["TenantGet"] = s.TenantGet(ctx, "x")
	_, checks["UserGet"] = s.UserGet(ctx, "29:x")
	_, checks["UserFind"] = s.UserFind(ctx, "", "x@y")
	_, checks["TeamGet"] = s.TeamGet(ctx, "19:x")
	_, checks["TeamFind"] = s.TeamFind(ctx, "x")
	_, checks["ChannelFind"] = s.ChannelFind(ctx, "19:x", "general")
	_, checks["ConversationGet"] = s.ConversationGet(ctx, "a:x")
	checks["TeamSetInstalled"] = s.TeamSetInstalled(ctx, "19:x", true, time.Now())
	checks["TeamSetRosterAt"] = s.TeamSetRosterAt(ctx, "19:x", time.Now())
	for name, err := range checks {
		if !errors.Is(err, herald.ErrNotFound) {
			t.Errorf("%s on missing record: err = %v, want ErrNotFound", name, err)
		}
	}
}
