package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
)

// RunDelivery runs the notification and delivery part of the suite.
func RunDelivery(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"notification create and idempotency", testNotificationCreate},
		{"notification create runs also in its transaction", testNotificationCreateTx},
		{"notification list and state", testNotificationState},
		{"expand tenant", testExpandTenant},
		{"expand team and topic", testExpandTeamTopic},
		{"expand users with variables", testExpandUsers},
		{"insert explicit", testDeliveryInsert},
		{"apply marks and results", testDeliveryApply},
		{"finish and counts", testNotificationFinish},
		{"cancel", testDeliveryCancel},
		{"retry", testDeliveryRetry},
		{"recover", testDeliveryRecover},
		{"messages", testMessages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func newNotification(t *testing.T, s herald.Store, id string, mod func(*herald.NotificationRequest)) herald.Notification {
	t.Helper()
	req := herald.NotificationRequest{
		Audience: herald.Audience{Tenants: []string{"t1"}},
		Content:  herald.Content{Text: "hello {{name}}"},
		Priority: herald.PriorityNormal,
	}
	if mod != nil {
		mod(&req)
	}
	n, created, err := s.NotificationCreate(context.Background(), herald.Notification{
		ID: id, Request: req, State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0,
	}, nil)
	must(t, err)
	if !created {
		t.Fatalf("NotificationCreate(%s) did not create", id)
	}
	return n
}

// addUsers creates users u<i> (i from 0) in tenant with the given flags.
func addUsers(t *testing.T, s herald.Store, tenant string, n int, conv bool) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("29:%s-u%03d", tenant, i)
		p := herald.UserUpsertParams{ID: id, TenantID: tenant, Name: fmt.Sprintf("User %d", i),
			GivenName: fmt.Sprintf("U%d", i), Email: fmt.Sprintf("u%d@%s.example", i, tenant)}
		if conv {
			p.ConversationID = "a:" + id
		}
		_, err := s.UserUpsert(ctx, p)
		must(t, err)
		ids = append(ids, id)
	}
	return ids
}

func allDeliveries(t *testing.T, s herald.Store, id string) []herald.Delivery {
	t.Helper()
	var out []herald.Delivery
	var after int64
	for {
		ds, err := s.DeliveryList(context.Background(), herald.DeliveryListParams{NotificationID: id, Page: herald.Page{After: after, Limit: 7}})
		must(t, err)
		out = append(out, ds...)
		if len(ds) < 7 {
			return out
		}
		after = ds[len(ds)-1].ID
	}
}

func testNotificationCreate(t *testing.T, s herald.Store) {
	ctx := context.Background()
	req := herald.NotificationRequest{
		IdempotencyKey: "idem-1", Key: "price", Title: "Price",
		Audience: herald.Audience{Users: []string{"a@x"}}, Content: herald.Content{Text: "hi"},
		Topic: "prices", Critical: true, Alert: true, Priority: herald.PriorityHigh, AtLeastOnce: true,
		Deadline: time.Hour, Variables: map[string]string{"k": "v"},
		RecipientVariables: map[string]map[string]string{"a@x": {"n": "1"}},
	}
	n := herald.Notification{ID: "n_1", Request: req, State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0}
	got, created, err := s.NotificationCreate(ctx, n, nil)
	must(t, err)
	if !created {
		t.Fatal("first create did not create")
	}
	if diff := cmp.Diff(n, got); diff != "" {
		t.Fatalf("created notification (-want +got):\n%s", diff)
	}
	again, created, err := s.NotificationCreate(ctx, herald.Notification{ID: "n_2", Request: req, State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0}, nil)
	must(t, err)
	if created || again.ID != "n_1" {
		t.Fatalf("same idempotency key: created=%v id=%s, want the first", created, again.ID)
	}
	if _, err := s.NotificationGet(ctx, "n_2"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("second notification stored: err=%v", err)
	}
	plain := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"a"}}, Content: herald.Content{Text: "x"}}
	for _, id := range []string{"n_3", "n_4"} {
		if _, created, err := s.NotificationCreate(ctx, herald.Notification{ID: id, Request: plain, State: herald.NotificationExpanding, CreatedAt: t0}, nil); err != nil || !created {
			t.Fatalf("create %s without key: created=%v err=%v", id, created, err)
		}
	}
	if _, _, err := s.NotificationCreate(ctx, herald.Notification{ID: "n_3", Request: plain, State: herald.NotificationExpanding, CreatedAt: t0}, nil); !errors.Is(err, herald.ErrConflict) {
		t.Fatalf("duplicate id: err=%v, want ErrConflict", err)
	}
	if _, err := s.NotificationGet(ctx, "missing"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func testNotificationState(t *testing.T, s herald.Store) {
	ctx := context.Background()
	for _, id := range []string{"n_a", "n_b", "n_c"} {
		newNotification(t, s, id, nil)
	}
	ok, err := s.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: "n_b", From: []herald.NotificationState{herald.NotificationExpanding}, To: herald.NotificationSending, Expanded: true, Now: t0.Add(time.Minute)})
	must(t, err)
	if !ok {
		t.Fatal("expanding → sending refused")
	}
	ok, err = s.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: "n_b", From: []herald.NotificationState{herald.NotificationExpanding}, To: herald.NotificationSending, Now: t0})
	must(t, err)
	if ok {
		t.Fatal("second expanding → sending applied")
	}
	if _, err := s.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: "nope", To: herald.NotificationSending, Now: t0}); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("set state of missing: %v", err)
	}
	b, err := s.NotificationGet(ctx, "n_b")
	must(t, err)
	if b.State != herald.NotificationSending || !b.Expanded || !b.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("n_b = %+v", b)
	}
	list, err := s.NotificationList(ctx, herald.NotificationListParams{States: []herald.NotificationState{herald.NotificationExpanding}})
	must(t, err)
	if got := notificationIDs(list); !cmp.Equal(got, []string{"n_a", "n_c"}) {
		t.Fatalf("expanding = %v", got)
	}
	list, err = s.NotificationList(ctx, herald.NotificationListParams{After: "n_a", Limit: 1})
	must(t, err)
	if got := notificationIDs(list); !cmp.Equal(got, []string{"n_b"}) {
		t.Fatalf("after n_a limit 1 = %v", got)
	}
}

func notificationIDs(ns []herald.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

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
	// Expanding again inserts nothing.
	res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: n.ID, Source: herald.SourceTenant, Value: "t1", Limit: 10, Topic: "news", Now: t0})
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

// expandAll records pending deliveries for users of tenant t1.
func expandAll(t *testing.T, s herald.Store, id string) []herald.Delivery {
	t.Helper()
	_, err := s.DeliveryExpand(context.Background(), herald.DeliveryExpandParams{NotificationID: id, Source: herald.SourceTenant, Value: "t1", Limit: 1000, Now: t0})
	must(t, err)
	return allDeliveries(t, s, id)
}

func testDeliveryApply(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 4, false)
	n := newNotification(t, s, "n_apply", func(r *herald.NotificationRequest) { r.Key = "k" })
	ds := expandAll(t, s, n.ID)
	due, err := s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: n.ID, TenantID: "t1", Now: t0, Limit: 10})
	must(t, err)
	if len(due) != 4 {
		t.Fatalf("due = %d, want 4", len(due))
	}
	marked, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{ds[0].ID, ds[1].ID, ds[2].ID, 999999}, Node: "node-a", Now: t0})
	must(t, err)
	sort.Slice(marked, func(i, j int) bool { return marked[i] < marked[j] })
	if !cmp.Equal(marked, []int64{ds[0].ID, ds[1].ID, ds[2].ID}) {
		t.Fatalf("marked = %v", marked)
	}
	again, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{ds[0].ID}, Node: "node-b", Now: t0})
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("marked a sending delivery again: %v", again)
	}
	t1 := t0.Add(time.Second)
	results := []herald.DeliveryResult{
		{ID: ds[0].ID, State: herald.DeliveryDelivered, ActivityID: "act-0", ConversationID: "a:new0", DeliveredAt: t1,
			UserID: users[0], UserConversation: "a:new0",
			Message: &herald.MessageRef{Key: "k", Target: users[0], Kind: herald.KindPersonal, ConversationID: "a:new0", ActivityID: "act-0", TenantID: "t1", NotificationID: n.ID}},
		{ID: ds[1].ID, State: herald.DeliveryPending, NextAttemptAt: t1.Add(time.Minute), Throttled: true, Error: "429"},
		{ID: ds[2].ID, State: herald.DeliveryFailed, Reason: herald.ReasonBlocked, Error: "blocked"},
		{ID: ds[3].ID, State: herald.DeliveryDelivered}, // not sending: ignored
	}
	marked, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Results: results, Mark: []int64{ds[3].ID}, Node: "node-a", Now: t1})
	must(t, err)
	if !cmp.Equal(marked, []int64{ds[3].ID}) {
		t.Fatalf("marked = %v", marked)
	}
	got := allDeliveries(t, s, n.ID)
	if d := got[0]; d.State != herald.DeliveryDelivered || d.ActivityID != "act-0" || d.ConversationID != "a:new0" || !d.DeliveredAt.Equal(t1) || d.Attempts != 1 {
		t.Fatalf("delivered = %+v", d)
	}
	if d := got[1]; d.State != herald.DeliveryPending || d.Attempts != 0 || d.Throttles != 1 || !d.NextAttemptAt.Equal(t1.Add(time.Minute)) || d.Error != "429" {
		t.Fatalf("throttled = %+v", d)
	}
	if d := got[2]; d.State != herald.DeliveryFailed || d.Reason != herald.ReasonBlocked || d.Attempts != 1 {
		t.Fatalf("failed = %+v", d)
	}
	if d := got[3]; d.State != herald.DeliverySending || d.Attempts != 1 {
		t.Fatalf("sending = %+v", d)
	}
	u, err := s.UserGet(ctx, users[0])
	must(t, err)
	if u.ConversationID != "a:new0" {
		t.Fatalf("user conversation = %q", u.ConversationID)
	}
	m, err := s.MessageFind(ctx, "k", users[0])
	must(t, err)
	if m.ActivityID != "act-0" || m.ConversationID != "a:new0" || m.Kind != herald.KindPersonal || !m.UpdatedAt.Equal(t1) {
		t.Fatalf("message = %+v", m)
	}
	// Not due before its time; due after.
	due, err = s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: n.ID, TenantID: "t1", Now: t1, Limit: 10})
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("due before retry time: %d", len(due))
	}
	next, ok, err := s.DeliveryNextDue(ctx, n.ID, "t1")
	must(t, err)
	if !ok || !next.Equal(t1.Add(time.Minute)) {
		t.Fatalf("next due = %v %v", next, ok)
	}
	due, err = s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: n.ID, TenantID: "t1", Now: t1.Add(time.Minute), Limit: 10})
	must(t, err)
	if len(due) != 1 || due[0].ID != ds[1].ID {
		t.Fatalf("due after retry time = %+v", due)
	}
	due, err = s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: n.ID, TenantID: "t1", AfterID: ds[1].ID, Now: t1.Add(time.Hour), Limit: 10})
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("due after cursor = %+v", due)
	}
	tenants, err := s.DeliveryTenants(ctx, n.ID)
	must(t, err)
	if !cmp.Equal(tenants, []string{"t1"}) {
		t.Fatalf("tenants = %v", tenants)
	}
}

func testNotificationFinish(t *testing.T, s herald.Store) {
	ctx := context.Background()
	addUsers(t, s, "t1", 2, false)
	n := newNotification(t, s, "n_fin", nil)
	ds := expandAll(t, s, n.ID)
	setSending := func() {
		_, err := s.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: n.ID, To: herald.NotificationSending, Expanded: true, Now: t0})
		must(t, err)
	}
	setSending()
	finish := func() bool {
		ok, err := s.NotificationFinish(ctx, n.ID, t0.Add(time.Hour))
		must(t, err)
		return ok
	}
	if finish() {
		t.Fatal("finished with pending deliveries")
	}
	_, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{ds[0].ID, ds[1].ID}, Node: "x", Now: t0})
	must(t, err)
	if finish() {
		t.Fatal("finished with sending deliveries")
	}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Now: t0, Results: []herald.DeliveryResult{
		{ID: ds[0].ID, State: herald.DeliveryDelivered}, {ID: ds[1].ID, State: herald.DeliveryUncertain, Reason: herald.ReasonTimedOut},
	}})
	must(t, err)
	if !finish() {
		t.Fatal("not finished with every delivery final")
	}
	got, err := s.NotificationGet(ctx, n.ID)
	must(t, err)
	if got.State != herald.NotificationCompleted || !got.CompletedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("finished notification = %+v", got)
	}
	counts, open, err := s.NotificationCounts(ctx, n.ID)
	must(t, err)
	if counts != (herald.Counts{Delivered: 1, Uncertain: 1}) || len(open) != 0 {
		t.Fatalf("counts = %+v open = %v", counts, open)
	}
	if finish() {
		t.Fatal("finished twice")
	}
}

func testDeliveryCancel(t *testing.T, s herald.Store) {
	ctx := context.Background()
	addUsers(t, s, "t1", 3, false)
	n := newNotification(t, s, "n_cancel", nil)
	ds := expandAll(t, s, n.ID)
	_, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{ds[0].ID}, Node: "x", Now: t0})
	must(t, err)
	k, err := s.DeliveryCancel(ctx, n.ID, t0.Add(time.Minute))
	must(t, err)
	if k != 2 {
		t.Fatalf("cancelled %d, want 2", k)
	}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Now: t0, Results: []herald.DeliveryResult{{ID: ds[0].ID, State: herald.DeliveryDelivered}}})
	must(t, err)
	counts, _, err := s.NotificationCounts(ctx, n.ID)
	must(t, err)
	if counts != (herald.Counts{Delivered: 1, Cancelled: 2}) {
		t.Fatalf("counts = %+v", counts)
	}
	got, err := s.NotificationGet(ctx, n.ID)
	must(t, err)
	if got.State != herald.NotificationCancelled {
		t.Fatalf("state = %s", got.State)
	}
	if _, err := s.DeliveryCancel(ctx, "missing", t0); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("cancel missing: %v", err)
	}
	if _, err := s.DeliveryRetry(ctx, herald.DeliveryRetryParams{NotificationID: n.ID, States: []herald.DeliveryState{herald.DeliveryFailed}, Now: t0}); !errors.Is(err, herald.ErrConflict) {
		t.Fatalf("retry cancelled: %v, want ErrConflict", err)
	}
}

func testDeliveryRetry(t *testing.T, s herald.Store) {
	ctx := context.Background()
	addUsers(t, s, "t1", 3, false)
	n := newNotification(t, s, "n_retry", nil)
	ds := expandAll(t, s, n.ID)
	_, err := s.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: n.ID, To: herald.NotificationSending, Expanded: true, Now: t0})
	must(t, err)
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{ds[0].ID, ds[1].ID, ds[2].ID}, Node: "x", Now: t0})
	must(t, err)
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Now: t0, Results: []herald.DeliveryResult{
		{ID: ds[0].ID, State: herald.DeliveryDelivered},
		{ID: ds[1].ID, State: herald.DeliveryFailed, Reason: herald.ReasonOther, Error: "boom"},
		{ID: ds[2].ID, State: herald.DeliveryUncertain, Reason: herald.ReasonInterrupted},
	}})
	must(t, err)
	ok, err := s.NotificationFinish(ctx, n.ID, t0)
	must(t, err)
	if !ok {
		t.Fatal("not finished")
	}
	k, err := s.DeliveryRetry(ctx, herald.DeliveryRetryParams{NotificationID: n.ID, States: []herald.DeliveryState{herald.DeliveryFailed, herald.DeliveryDelivered}, Now: t0.Add(time.Hour)})
	must(t, err)
	if k != 1 {
		t.Fatalf("retried %d, want only the failed one", k)
	}
	got := allDeliveries(t, s, n.ID)
	if d := got[1]; d.State != herald.DeliveryPending || d.Attempts != 0 || d.Error != "" || d.Reason != "" {
		t.Fatalf("retried delivery = %+v", d)
	}
	if got[0].State != herald.DeliveryDelivered || got[2].State != herald.DeliveryUncertain {
		t.Fatalf("others changed: %s %s", got[0].State, got[2].State)
	}
	nn, err := s.NotificationGet(ctx, n.ID)
	must(t, err)
	if nn.State != herald.NotificationSending || !nn.CompletedAt.IsZero() {
		t.Fatalf("reopened notification = %+v", nn)
	}
	k, err = s.DeliveryRetry(ctx, herald.DeliveryRetryParams{NotificationID: n.ID, States: []herald.DeliveryState{herald.DeliveryUncertain}, Now: t0})
	must(t, err)
	if k != 1 {
		t.Fatalf("retried uncertain %d, want 1", k)
	}
}

func testDeliveryRecover(t *testing.T, s herald.Store) {
	ctx := context.Background()
	addUsers(t, s, "t1", 4, false)
	most := newNotification(t, s, "n_most", nil)
	least := newNotification(t, s, "n_least", func(r *herald.NotificationRequest) { r.AtLeastOnce = true })
	a := expandAll(t, s, most.ID)
	b := expandAll(t, s, least.ID)
	mark := func(node string, at time.Time, ids ...int64) {
		_, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: ids, Node: node, Now: at})
		must(t, err)
	}
	mark("me", t0, a[0].ID, b[0].ID)
	mark("other", t0, a[1].ID)                // another node, recent: left alone
	mark("dead", t0.Add(-time.Hour), a[2].ID) // another node, stale
	mark("other", t0, b[1].ID)                // another node, recent
	res, err := s.DeliveryRecover(ctx, herald.DeliveryRecoverParams{Node: "me", StaleBefore: t0.Add(-10 * time.Minute), Now: t0})
	must(t, err)
	if res.Uncertain != 2 || res.Repending != 1 || !cmp.Equal(res.Notifications, []string{least.ID}) {
		t.Fatalf("recover = %+v", res)
	}
	states := func(id string) []string {
		var out []string
		for _, d := range allDeliveries(t, s, id) {
			out = append(out, string(d.State)+"/"+string(d.Reason))
		}
		return out
	}
	if got, want := states(most.ID), []string{"uncertain/interrupted", "sending/", "uncertain/interrupted", "pending/"}; !cmp.Equal(got, want) {
		t.Fatalf("most-once states = %v, want %v", got, want)
	}
	if got, want := states(least.ID), []string{"pending/", "sending/", "pending/", "pending/"}; !cmp.Equal(got, want) {
		t.Fatalf("at-least-once states = %v, want %v", got, want)
	}
	res, err = s.DeliveryRecover(ctx, herald.DeliveryRecoverParams{StaleBefore: t0.Add(-10 * time.Minute), Now: t0})
	must(t, err)
	if res.Uncertain+res.Repending != 0 {
		t.Fatalf("second recover settled %+v", res)
	}
}

func testMessages(t *testing.T, s herald.Store) {
	ctx := context.Background()
	users := addUsers(t, s, "t1", 1, false)
	n := newNotification(t, s, "n_msg", nil)
	_, err := s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Now: t0, Deliveries: []herald.Delivery{
		{Recipient: "channel:19:c2", Kind: herald.KindChannel, TenantID: "t1", ChannelID: "19:c2"},
		{Recipient: "channel:19:c1", Kind: herald.KindChannel, TenantID: "t1", ChannelID: "19:c1"},
	}})
	must(t, err)
	all := allDeliveries(t, s, n.ID)
	ids := []int64{all[0].ID, all[1].ID}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: ids, Node: "x", Now: t0})
	must(t, err)
	ref := func(target, conv, act string, kind herald.DeliveryKind) *herald.MessageRef {
		return &herald.MessageRef{Key: "launch", Target: target, Kind: kind, ConversationID: conv, ActivityID: act,
			TenantID: "t1", TeamID: "19:team", ChannelID: target, ServiceURL: "https://s/", NotificationID: n.ID}
	}
	_, err = s.DeliveryApply(ctx, herald.DeliveryApplyParams{Now: t0, Results: []herald.DeliveryResult{
		{ID: ids[0], State: herald.DeliveryDelivered, Message: ref("19:c2", "19:c2;messageid=2", "2", herald.KindChannel)},
		{ID: ids[1], State: herald.DeliveryDelivered, Message: ref("19:c1", "19:c1;messageid=1", "1", herald.KindChannel)},
	}})
	must(t, err)
	list, err := s.MessageList(ctx, "launch")
	must(t, err)
	if len(list) != 2 || list[0].Target != "19:c1" || list[1].ActivityID != "2" || list[0].ServiceURL != "https://s/" {
		t.Fatalf("message list = %+v", list)
	}
	if _, err := s.MessageFind(ctx, "launch", users[0]); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("find missing: %v", err)
	}
	if l, err := s.MessageList(ctx, "other"); err != nil || len(l) != 0 {
		t.Fatalf("list other = %v %v", l, err)
	}
}
