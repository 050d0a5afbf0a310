package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"herald"
)

// RunHeal runs the part of the suite about flags that follow evidence: a
// delivered personal message clears Blocked, a team install clears
// Uninstalled for the team's known members (and joining a team that has
// the bot, for the one who joins), and nothing else (a group
// chat's re-add, a roster that drops people, a team uninstall) marks or
// clears anyone.
func RunHeal(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"delivered personal message clears blocked", testHealDelivered},
		{"team install clears uninstalled of its members", testHealTeamInstall},
		{"roster drops mark nobody", testHealRosterDrop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// userFlags reads the Blocked and Uninstalled flags of users.
func userFlags(t *testing.T, s herald.Store, users ...string) map[string][2]bool {
	t.Helper()
	out := map[string][2]bool{}
	for _, id := range users {
		u, err := s.UserGet(context.Background(), id)
		must(t, err)
		out[id] = [2]bool{u.Blocked, u.Uninstalled}
	}
	return out
}

func testHealDelivered(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 5, false)
	n := newNotification(t, s, "n_heal", nil)
	ds := expandAll(t, s, n.ID)
	n2 := newNotification(t, s, "n_heal2", nil)
	ds2 := expandAll(t, s, n2.ID)
	// Blocked after expansion: the sends were already under way.
	for _, id := range users[:4] {
		must(t, s.UserSetBlocked(ctx, id, true))
	}
	before, err := s.UserGet(ctx, users[4])
	must(t, err)
	mark := []int64{ds[0].ID, ds[1].ID, ds[2].ID, ds[4].ID, ds2[0].ID}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: mark, Node: "n", Now: t0})
	must(t, err)
	t1 := t0.Add(time.Second)
	results := []herald.DeliveryResult{
		// A new conversation and an unblock of the same user, twice.
		{ID: ds[0].ID, State: herald.DeliveryDelivered, DeliveredAt: t1, UserID: users[0], UserConversation: "a:heal0"},
		{ID: ds2[0].ID, State: herald.DeliveryDelivered, DeliveredAt: t1},
		{ID: ds[1].ID, State: herald.DeliveryDelivered, DeliveredAt: t1},
		{ID: ds[2].ID, State: herald.DeliveryFailed, Reason: herald.ReasonBlocked},
		{ID: ds[3].ID, State: herald.DeliveryDelivered, DeliveredAt: t1}, // never in flight: ignored
		{ID: ds[4].ID, State: herald.DeliveryDelivered, DeliveredAt: t1},
	}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Results: results, Now: t1})
	must(t, err)
	got := userFlags(t, s, users...)
	want := map[string][2]bool{users[0]: {}, users[1]: {}, users[2]: {true, false}, users[3]: {true, false}, users[4]: {}}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: blocked, uninstalled = %v, want %v", id, got[id], w)
		}
	}
	u0, err := s.UserGet(ctx, users[0])
	must(t, err)
	if u0.ConversationID != "a:heal0" {
		t.Errorf("conversation recorded with the unblock = %q", u0.ConversationID)
	}
	after, err := s.UserGet(ctx, users[4])
	must(t, err)
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("a user who was not blocked was written: updated %v → %v", before.UpdatedAt, after.UpdatedAt)
	}
}

func testHealTeamInstall(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 5, false)
	const team, chat = "19:heal@thread.tacv2", "19:healchat@thread.v2"
	_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: team, TenantID: "t1", Name: "Heal"})
	must(t, err)
	must(t, s.ConversationUpsert(ctx, herald.Conversation{ID: chat, Type: "groupChat", TenantID: "t1"}))
	must(t, s.MembershipReplace(ctx, team, users[:2]))
	must(t, s.MembershipReplace(ctx, chat, users[2:4]))
	for _, id := range users {
		must(t, s.UserSetInstalled(ctx, id, false, t0))
	}
	must(t, s.UserSetBlocked(ctx, users[1], true))

	must(t, s.TeamSetInstalled(ctx, team, true, t0.Add(time.Hour)))
	must(t, s.ConversationSetRemoved(ctx, chat, true))
	must(t, s.ConversationSetRemoved(ctx, chat, false))
	got := userFlags(t, s, users...)
	want := map[string][2]bool{
		users[0]: {false, false}, users[1]: {true, false}, // members of the team: reachable through it
		users[2]: {false, true}, users[3]: {false, true}, // members of the group chat only
		users[4]: {false, true},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("after installs %s: blocked, uninstalled = %v, want %v", id, got[id], w)
		}
	}
	tm, err := s.TeamGet(ctx, team)
	must(t, err)
	if !tm.Installed || !tm.InstalledAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("team after install: %+v", tm)
	}
	must(t, s.TeamSetInstalled(ctx, team, false, t0.Add(2*time.Hour)))
	if got := userFlags(t, s, users[0]); got[users[0]] != [2]bool{} {
		t.Errorf("team uninstall flagged a member: %v", got)
	}
	if err := s.TeamSetInstalled(ctx, "19:none@thread.tacv2", true, t0); !errors.Is(err, herald.ErrNotFound) {
		t.Errorf("install of a missing team: %v, want ErrNotFound", err)
	}
	testHealMemberAdded(t, s, team, chat, users[4])
}

// testHealMemberAdded: someone who joins a team that has the bot is
// reachable through it; joining a team without it, or a group chat,
// changes nothing.
func testHealMemberAdded(t *testing.T, s herald.Store, team, chat, user string) {
	ctx := context.Background()
	must(t, s.MembershipAdd(ctx, chat, user))
	must(t, s.MembershipAdd(ctx, team, user)) // the team was uninstalled above
	if got := userFlags(t, s, user); got[user] != [2]bool{false, true} {
		t.Errorf("joined a team without the bot, and a group chat: blocked, uninstalled = %v, want still uninstalled", got[user])
	}
	must(t, s.MembershipRemove(ctx, team, user))
	must(t, s.TeamSetInstalled(ctx, team, true, t0.Add(3*time.Hour)))
	must(t, s.MembershipAdd(ctx, team, user))
	if got := userFlags(t, s, user); got[user] != [2]bool{} {
		t.Errorf("joined a team with the bot: blocked, uninstalled = %v, want reachable", got[user])
	}
}

func testHealRosterDrop(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 3, false)
	const team = "19:drop@thread.tacv2"
	_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: team, TenantID: "t1"})
	must(t, err)
	must(t, s.TeamSetInstalled(ctx, team, true, t0))
	must(t, s.MembershipReplace(ctx, team, users))
	must(t, s.MembershipReplace(ctx, team, users[:1]))
	must(t, s.MembershipRemove(ctx, team, users[0]))
	for id, f := range userFlags(t, s, users...) {
		if f != [2]bool{} {
			t.Errorf("%s dropped from the roster: blocked, uninstalled = %v", id, f)
		}
	}
	reachable, err := s.UserList(ctx, herald.UserListParams{TenantID: "t1", ReachableOnly: true})
	must(t, err)
	if len(reachable) != len(users) {
		t.Errorf("reachable after the drops = %d, want %d", len(reachable), len(users))
	}
}
