package storetest

import (
	"context"
	"fmt"
	"testing"

	"herald"

	"github.com/google/go-cmp/cmp"
)

func testExpandTenant(t *testing.T, s herald.Store) {
	ctx := context.Background()
	must(t, s.TenantUpsert(ctx, herald.Tenant{ID: "t1", ServiceURL: "https://svc/t1/"}))
	users := addUsers(t, s, "t1", 5, true)
	addUsers(t, s, "t2", 2, false)
	must(t, s.UserSetBlocked(ctx, users[1], true))
	must(t, s.UserSetInstalled(ctx, users[2], false, t0))
	must(t, s.PreferenceSet(ctx, users[3], "news", true))
	must(t, s.PreferenceSet(ctx, users[4], herald.TopicAll, true))
	must(t, s.PreferenceSet(ctx, users[4], "news", false))
	_, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: users[0], ServiceURL: "https://own/"})
	must(t, err)
	n := newNotification(t, s, "n_t", func(r *herald.NotificationRequest) { r.Topic = "news" })
	var tenants []string
	after, chunks := "", 0
	for {
		res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{
			NotificationID: n.ID, Source: herald.SourceTenant, Value: "t1", After: after, Limit: 2,
			Topic: "news", Cursor: fmt.Sprintf("c%d", chunks), Now: t0,
		})
		must(t, err)
		chunks++
		tenants = append(tenants, res.Tenants...)
		if res.Scanned < 2 {
			break
		}
		after = res.Last
	}
	if chunks != 3 {
		t.Fatalf("chunks = %d, want 3 (2+2+1 users)", chunks)
	}
	got, err := s.NotificationGet(ctx, n.ID)
	must(t, err)
	if got.Cursor != "c2" {
		t.Fatalf("cursor = %q, want the last saved", got.Cursor)
	}
	type row struct {
		Recipient, Tenant, Conv, Svc, Name, State, Reason string
	}
	var rows []row
	for _, d := range allDeliveries(t, s, n.ID) {
		if d.Kind != herald.KindPersonal || d.UserID != d.Recipient || d.NotificationID != n.ID {
			t.Errorf("delivery %+v: kind/user/notification wrong", d)
		}
		rows = append(rows, row{d.Recipient, d.TenantID, d.ConversationID, d.ServiceURL, d.Name, string(d.State), string(d.Reason)})
	}
	want := []row{
		{users[0], "t1", "a:" + users[0], "https://own/", "User 0", "pending", ""},
		{users[1], "t1", "a:" + users[1], "https://svc/t1/", "User 1", "skipped", "unreachable"},
		{users[2], "t1", "a:" + users[2], "https://svc/t1/", "User 2", "skipped", "unreachable"},
		{users[3], "t1", "a:" + users[3], "https://svc/t1/", "User 3", "skipped", "opted-out"},
		{users[4], "t1", "a:" + users[4], "https://svc/t1/", "User 4", "pending", ""},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("deliveries (-want +got):\n%s", diff)
	}
	if !cmp.Equal(tenants, []string{"t1", "t1"}) && !cmp.Equal(tenants, []string{"t1"}) {
		t.Fatalf("tenants = %v", tenants)
	}
	testExpandTenantAgain(t, s, n.ID)
}

// testExpandTenantAgain expands tenant t1, set up by testExpandTenant,
// again: into notification id (nothing new), for a critical notification,
// and without a topic.
func testExpandTenantAgain(t *testing.T, s herald.Store, id string) {
	ctx := context.Background()
	// Expanding again inserts nothing.
	res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: id, Source: herald.SourceTenant, Value: "t1", Limit: 10, Topic: "news", Now: t0})
	must(t, err)
	if res.Inserted != 0 || res.Scanned != 5 || len(res.Tenants) != 0 {
		t.Fatalf("re-expand = %+v, want nothing inserted", res)
	}
	// Critical ignores opt-outs, not reachability.
	c := newNotification(t, s, "n_crit", nil)
	_, err = s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: c.ID, Source: herald.SourceTenant, Value: "t1", Limit: 10, Topic: "news", Critical: true, Now: t0})
	must(t, err)
	counts, open, err := s.NotificationCounts(ctx, c.ID)
	must(t, err)
	if counts.Pending != 3 || counts.Skipped != 2 || open["t1"] != 3 {
		t.Fatalf("critical counts = %+v open=%v, want 3 pending 2 skipped", counts, open)
	}
	// No topic: only the opt-out of everything applies.
	o := newNotification(t, s, "n_notopic", nil)
	_, err = s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: o.ID, Source: herald.SourceTenant, Value: "t1", Limit: 10, Now: t0})
	must(t, err)
	counts, _, err = s.NotificationCounts(ctx, o.ID)
	must(t, err)
	if counts.Pending != 2 || counts.Skipped != 3 {
		t.Fatalf("no-topic counts = %+v, want 2 pending (u0, u3) 3 skipped", counts)
	}
	empty, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: o.ID, Source: herald.SourceTenant, Value: "nobody", Limit: 10, Now: t0})
	must(t, err)
	if empty.Scanned != 0 || empty.Last != "" {
		t.Fatalf("empty tenant = %+v", empty)
	}
}

func testExpandTeamTopic(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 6, false)
	_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:team", TenantID: "t1", Name: "Team"})
	must(t, err)
	must(t, s.MembershipReplace(ctx, "19:team", []string{users[1], users[3], users[5], "29:ghost"}))
	n := newNotification(t, s, "n_team", nil)
	var got []string
	after := ""
	for {
		res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: n.ID, Source: herald.SourceTeam, Value: "19:team", After: after, Limit: 2, Now: t0})
		must(t, err)
		if res.Scanned < 2 {
			break
		}
		after = res.Last
	}
	for _, d := range allDeliveries(t, s, n.ID) {
		got = append(got, d.Recipient)
	}
	if want := []string{users[1], users[3], users[5]}; !cmp.Equal(got, want) {
		t.Fatalf("team deliveries = %v, want %v (no ghost)", got, want)
	}
	for _, u := range []string{users[0], users[2]} {
		must(t, s.PreferenceSet(ctx, u, "deploys", false))
	}
	must(t, s.PreferenceSet(ctx, users[4], "deploys", true))
	tp := newNotification(t, s, "n_topic", nil)
	res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: tp.ID, Source: herald.SourceTopic, Value: "deploys", Limit: 10, Topic: "deploys", Now: t0})
	must(t, err)
	got = nil
	for _, d := range allDeliveries(t, s, tp.ID) {
		got = append(got, d.Recipient)
	}
	if want := []string{users[0], users[2]}; !cmp.Equal(got, want) || res.Scanned != 2 {
		t.Fatalf("topic deliveries = %v (scanned %d), want subscribers %v", got, res.Scanned, want)
	}
}

func testExpandUsers(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 3, true)
	n := newNotification(t, s, "n_users", nil)
	res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{
		NotificationID: n.ID, Source: herald.SourceUsers, UserIDs: []string{users[2], users[0], "29:unknown"},
		Variables: map[string]map[string]string{users[0]: {"amount": "12 €", "q": `"x"`}}, Now: t0,
	})
	must(t, err)
	if res.Inserted != 2 || !cmp.Equal(res.Tenants, []string{"t1"}) {
		t.Fatalf("expand users = %+v", res)
	}
	ds := allDeliveries(t, s, n.ID)
	byUser := map[string]herald.Delivery{}
	for _, d := range ds {
		byUser[d.UserID] = d
	}
	if v := byUser[users[0]].Variables; !cmp.Equal(v, map[string]string{"amount": "12 €", "q": `"x"`}) {
		t.Fatalf("variables of %s = %v", users[0], v)
	}
	if d := byUser[users[2]]; d.Variables != nil || d.Email != "u2@t1.example" || d.GivenName != "U2" {
		t.Fatalf("delivery of %s = %+v", users[2], d)
	}
}

func testDeliveryInsert(t *testing.T, s herald.Store) {
	ctx := context.Background()
	n := newNotification(t, s, "n_ins", nil)
	in := []herald.Delivery{
		{Recipient: "channel:19:c1", Kind: herald.KindChannel, TenantID: "t9", TeamID: "19:team", ChannelID: "19:c1", ServiceURL: "https://s/", Name: "Team", State: herald.DeliveryPending},
		{Recipient: "reply:19:c1;messageid=5", Kind: herald.KindReply, TenantID: "t8", ConversationID: "19:c1;messageid=5", ReplyToID: "5", State: herald.DeliveryPending},
		{Recipient: "user:nobody@x", Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved},
	}
	tenants, err := s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Deliveries: in, Cursor: "k1", Now: t0})
	must(t, err)
	if !cmp.Equal(tenants, []string{"t8", "t9"}) {
		t.Fatalf("tenants = %v", tenants)
	}
	tenants, err = s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Deliveries: in[:1], Cursor: "k2", Now: t0})
	must(t, err)
	if len(tenants) != 0 {
		t.Fatalf("re-insert tenants = %v, want none", tenants)
	}
	got := allDeliveries(t, s, n.ID)
	if len(got) != 3 {
		t.Fatalf("deliveries = %d, want 3", len(got))
	}
	c := got[0]
	if c.Kind != herald.KindChannel || c.TeamID != "19:team" || c.ChannelID != "19:c1" || c.ServiceURL != "https://s/" || c.Name != "Team" || !c.CreatedAt.Equal(t0) {
		t.Fatalf("channel delivery = %+v", c)
	}
	if r := got[1]; r.ReplyToID != "5" || r.ConversationID != "19:c1;messageid=5" {
		t.Fatalf("reply delivery = %+v", r)
	}
	if u := got[2]; u.State != herald.DeliverySkipped || u.Reason != herald.ReasonUnresolved {
		t.Fatalf("unresolved delivery = %+v", u)
	}
	nn, err := s.NotificationGet(ctx, n.ID)
	must(t, err)
	if nn.Cursor != "k2" {
		t.Fatalf("cursor = %q", nn.Cursor)
	}
	skipped, err := s.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: n.ID, Filter: herald.DeliveryFilter{States: []herald.DeliveryState{herald.DeliverySkipped}, Reason: herald.ReasonUnresolved}})
	must(t, err)
	if len(skipped) != 1 || skipped[0].Recipient != "user:nobody@x" {
		t.Fatalf("filtered list = %+v", skipped)
	}
}

// testExpandTeamRemoved expands a team the bot was removed from: members
// reachable only through it are skipped as app-uninstalled (and stay
// reachable in the directory); those with a personal install, or in
// another team that has the bot, get their message.
func testExpandTeamRemoved(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 5, true)
	for _, tm := range []string{"19:gone", "19:other", "19:deleted"} {
		_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: tm, TenantID: "t1", Name: tm})
		must(t, err)
		must(t, s.TeamSetInstalled(ctx, tm, true, t0))
	}
	must(t, s.TeamSetInstalled(ctx, "19:gone", false, t0))
	yes := true
	_, err := s.TeamUpsert(ctx, herald.TeamUpsertParams{ID: "19:deleted", Deleted: &yes})
	must(t, err)
	must(t, s.MembershipReplace(ctx, "19:gone", users))
	must(t, s.MembershipReplace(ctx, "19:other", []string{users[1]}))
	must(t, s.MembershipReplace(ctx, "19:deleted", []string{users[2]}))
	must(t, s.UserSetInstalled(ctx, users[0], true, t0))
	must(t, s.UserSetBlocked(ctx, users[3], true))
	n := newNotification(t, s, "n_gone", nil)
	res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: n.ID, Source: herald.SourceTeam, Value: "19:gone",
		Limit: 10, TeamRemoved: true, Now: t0})
	must(t, err)
	if res.Scanned != 5 || res.Inserted != 5 || !cmp.Equal(res.Tenants, []string{"t1"}) {
		t.Fatalf("expand = %+v", res)
	}
	got := map[string]string{}
	for _, d := range allDeliveries(t, s, n.ID) {
		got[d.Recipient] = string(d.State) + "/" + string(d.Reason)
	}
	want := map[string]string{
		users[0]: "pending/",                // personal install
		users[1]: "pending/",                // in another team with the bot
		users[2]: "skipped/app-uninstalled", // the other team is deleted
		users[3]: "skipped/unreachable",     // blocked: the directory knew already
		users[4]: "skipped/app-uninstalled", // reachable through the team alone
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("deliveries (-want +got):\n%s", diff)
	}
	for _, id := range []string{users[2], users[4]} {
		u, err := s.UserGet(ctx, id)
		must(t, err)
		if u.Uninstalled || !u.Reachable() {
			t.Fatalf("user %s marked unreachable by a skip: %+v", id, u)
		}
	}
	// Without TeamRemoved every member who is reachable gets the message.
	all := newNotification(t, s, "n_team_all", nil)
	_, err = s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: all.ID, Source: herald.SourceTeam, Value: "19:gone", Limit: 10, Now: t0})
	must(t, err)
	counts, _, err := s.NotificationCounts(ctx, all.ID)
	must(t, err)
	if counts.Pending != 4 || counts.Skipped != 1 {
		t.Fatalf("counts = %+v, want 4 pending 1 skipped", counts)
	}
}
