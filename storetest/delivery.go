package storetest

import (
	"context"
	"errors"
	"fmt"
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
		{"expand a team the bot was removed from", testExpandTeamRemoved},
		{"expand topic by default", testExpandTopicDefaults},
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

func notificationIDs(ns []herald.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// expandAll records pending deliveries for users of tenant t1.
func expandAll(t *testing.T, s herald.Store, id string) []herald.Delivery {
	t.Helper()
	_, err := s.DeliveryExpand(context.Background(), herald.DeliveryExpandParams{NotificationID: id, Source: herald.SourceTenant, Value: "t1", Limit: 1000, Now: t0})
	must(t, err)
	return allDeliveries(t, s, id)
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
