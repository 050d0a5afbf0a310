package storetest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
)

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
	testDueAfterApply(t, s, n.ID, ds[1].ID, t1)
}

// testDueAfterApply checks which deliveries of notification id are due
// after testDeliveryApply: throttled is pending again from a minute after
// t1.
func testDueAfterApply(t *testing.T, s herald.Store, id string, throttled int64, t1 time.Time) {
	ctx := context.Background()
	// Not due before its time; due after.
	due, err := s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: id, TenantID: "t1", Now: t1, Limit: 10})
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("due before retry time: %d", len(due))
	}
	next, ok, err := s.DeliveryNextDue(ctx, id, "t1")
	must(t, err)
	if !ok || !next.Equal(t1.Add(time.Minute)) {
		t.Fatalf("next due = %v %v", next, ok)
	}
	due, err = s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: id, TenantID: "t1", Now: t1.Add(time.Minute), Limit: 10})
	must(t, err)
	if len(due) != 1 || due[0].ID != throttled {
		t.Fatalf("due after retry time = %+v", due)
	}
	due, err = s.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: id, TenantID: "t1", AfterID: throttled, Now: t1.Add(time.Hour), Limit: 10})
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("due after cursor = %+v", due)
	}
	tenants, err := s.DeliveryTenants(ctx, id)
	must(t, err)
	if !cmp.Equal(tenants, []string{"t1"}) {
		t.Fatalf("tenants = %v", tenants)
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
