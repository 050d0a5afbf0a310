package storetest

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
)

// RunNotification runs the notification part of the suite added with
// request fingerprints, listings newest first and reason counts.
func RunNotification(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"idempotency key reused with another request", testIdempotencyMismatch},
		{"notification list newest first, without welcomes", testNotificationListOrder},
		{"notification reasons", testNotificationReasons},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// testIdempotencyMismatch checks that a request reusing an idempotency
// key gets the first notification only when it is the same request, and
// that a different one stores nothing and runs nothing.
func testIdempotencyMismatch(t *testing.T, s herald.Store) {
	ctx := context.Background()
	base := herald.NotificationRequest{IdempotencyKey: "deploy-42", Audience: herald.Audience{Users: []string{"a@x"}},
		Content: herald.Content{Text: "Deploy 42 done"}, Priority: herald.PriorityHigh, Variables: map[string]string{"a": "1", "b": "2"}}
	first := herald.Notification{ID: "n_m0", Request: base, State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0}
	if _, created, err := s.NotificationCreate(ctx, first, nil); err != nil || !created {
		t.Fatalf("first create: created=%v err=%v", created, err)
	}
	tests := []struct {
		name     string
		mod      func(r *herald.NotificationRequest)
		mismatch bool
	}{
		{"same request", func(*herald.NotificationRequest) {}, false},
		{"same variables built in another order", func(r *herald.NotificationRequest) {
			r.Variables = map[string]string{"b": "2", "a": "1"}
		}, false},
		{"other text", func(r *herald.NotificationRequest) { r.Content.Text = "Deploy 43 done" }, true},
		{"other audience", func(r *herald.NotificationRequest) { r.Audience.Users = []string{"b@x"} }, true},
		{"other priority", func(r *herald.NotificationRequest) { r.Priority = herald.PriorityNormal }, true},
		{"other topic", func(r *herald.NotificationRequest) { r.Topic = "deploys" }, true},
	}
	for i, tt := range tests {
		req := base
		req.Audience.Users = append([]string(nil), base.Audience.Users...)
		tt.mod(&req)
		id := "n_m" + string(rune('a'+i))
		calls := 0
		also := func(context.Context, *sql.Tx) error { calls++; return nil }
		got, created, err := s.NotificationCreate(ctx, herald.Notification{ID: id, Request: req,
			State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0}, also)
		switch {
		case tt.mismatch && !errors.Is(err, herald.ErrIdempotencyMismatch):
			t.Errorf("%s: err = %v, want ErrIdempotencyMismatch", tt.name, err)
		case tt.mismatch && errors.Is(err, herald.ErrConflict):
			t.Errorf("%s: err = %v is an ErrConflict too", tt.name, err)
		case !tt.mismatch && (err != nil || got.ID != first.ID):
			t.Errorf("%s: got %q, %v; want the first notification", tt.name, got.ID, err)
		}
		if created || calls != 0 {
			t.Errorf("%s: created=%v, also ran %d times", tt.name, created, calls)
		}
		if _, err := s.NotificationGet(ctx, id); !errors.Is(err, herald.ErrNotFound) {
			t.Errorf("%s: %s was stored: %v", tt.name, id, err)
		}
	}
}

// testNotificationListOrder checks NotificationList's order and its
// welcome filter.
func testNotificationListOrder(t *testing.T, s herald.Store) {
	welcome := func(r *herald.NotificationRequest) {
		r.Title, r.Content.Summary, r.Critical, r.Priority = herald.WelcomeTitle, herald.WelcomeTitle, true, herald.PriorityHigh
	}
	newNotification(t, s, "n_l1", nil)
	newNotification(t, s, "n_l2", welcome)
	newNotification(t, s, "n_l3", func(r *herald.NotificationRequest) { r.Title = herald.WelcomeTitle })
	newNotification(t, s, "n_l4", welcome)
	newNotification(t, s, "n_l5", nil)
	tests := []struct {
		name string
		p    herald.NotificationListParams
		want []string
	}{
		{"oldest first", herald.NotificationListParams{}, []string{"n_l1", "n_l2", "n_l3", "n_l4", "n_l5"}},
		{"newest first", herald.NotificationListParams{Newest: true}, []string{"n_l5", "n_l4", "n_l3", "n_l2", "n_l1"}},
		{"newest first, a page", herald.NotificationListParams{Newest: true, Limit: 2}, []string{"n_l5", "n_l4"}},
		{"newest first, after a cursor", herald.NotificationListParams{Newest: true, After: "n_l4"}, []string{"n_l3", "n_l2", "n_l1"}},
		{"no welcomes", herald.NotificationListParams{NoWelcomes: true}, []string{"n_l1", "n_l3", "n_l5"}},
		{"newest, no welcomes", herald.NotificationListParams{Newest: true, NoWelcomes: true, After: "n_l5"}, []string{"n_l3", "n_l1"}},
	}
	for _, tt := range tests {
		ns, err := s.NotificationList(context.Background(), tt.p)
		must(t, err)
		if diff := cmp.Diff(tt.want, ids(ns, func(n herald.Notification) string { return n.ID })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// testNotificationReasons checks the counts per state and reason.
func testNotificationReasons(t *testing.T, s herald.Store) {
	ctx := context.Background()
	n := newNotification(t, s, "n_r", nil)
	empty, err := s.NotificationReasons(ctx, n.ID)
	must(t, err)
	if len(empty) != 0 {
		t.Fatalf("reasons without deliveries = %v", empty)
	}
	skip := func(who string, r herald.Reason) herald.Delivery {
		return herald.Delivery{Recipient: who, Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: r}
	}
	_, err = s.DeliveryInsert(ctx, herald.DeliveryInsertParams{NotificationID: n.ID, Now: t0, Deliveries: []herald.Delivery{
		skip("user:a", herald.ReasonUnresolved), skip("user:b", herald.ReasonUnresolved), skip("user:c", herald.ReasonOptedOut),
		{Recipient: "user:d", Kind: herald.KindPersonal, State: herald.DeliveryFailed, Reason: herald.ReasonBlocked},
		{Recipient: "channel:19:c", Kind: herald.KindChannel, TenantID: "t1", ChannelID: "19:c", State: herald.DeliveryPending},
	}})
	must(t, err)
	got, err := s.NotificationReasons(ctx, n.ID)
	must(t, err)
	want := map[herald.DeliveryState]map[herald.Reason]int{
		herald.DeliverySkipped: {herald.ReasonUnresolved: 2, herald.ReasonOptedOut: 1},
		herald.DeliveryFailed:  {herald.ReasonBlocked: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("reasons (-want +got):\n%s", diff)
	}
}
