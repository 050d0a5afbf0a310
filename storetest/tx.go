package storetest

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"herald"
)

// testNotificationCreateTx checks that NotificationCreate runs its also
// function inside the transaction that stores the notification: a failing
// also stores nothing, a repeated idempotency key runs nothing.
func testNotificationCreateTx(t *testing.T, s herald.Store) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	req := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"a"}}, Content: herald.Content{Text: "x"},
		IdempotencyKey: "tx-key"}
	boom := errors.New("job insert failed")
	tests := []struct {
		name        string
		id          string
		also        func(context.Context, *sql.Tx) error
		wantErr     error
		wantCreated bool
		wantCalls   int
	}{
		{"a failing also stores nothing", "n_tx1", func(context.Context, *sql.Tx) error { return boom }, boom, false, 1},
		{"also runs once with the transaction", "n_tx2", nil, nil, true, 1},
		{"a repeated idempotency key runs nothing", "n_tx3", nil, nil, false, 0},
	}
	for _, tt := range tests {
		calls := 0
		also := func(ctx context.Context, tx *sql.Tx) error {
			calls++
			if tx == nil {
				t.Errorf("%s: also got no transaction", tt.name)
			}
			if tt.also != nil {
				return tt.also(ctx, tx)
			}
			return nil
		}
		n, created, err := s.NotificationCreate(ctx, herald.Notification{ID: tt.id, Request: req,
			State: herald.NotificationExpanding, CreatedAt: t0, UpdatedAt: t0}, also)
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && err != nil {
			t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if created != tt.wantCreated || calls != tt.wantCalls {
			t.Fatalf("%s: created %v after %d calls, want %v after %d", tt.name, created, calls, tt.wantCreated, tt.wantCalls)
		}
		if tt.wantErr != nil {
			if _, err := s.NotificationGet(ctx, tt.id); !errors.Is(err, herald.ErrNotFound) {
				t.Fatalf("%s: the notification was stored although also failed: %v", tt.name, err)
			}
		} else if n.ID != "n_tx2" {
			t.Fatalf("%s: got notification %q, want n_tx2", tt.name, n.ID)
		}
	}
}

// testLegacyTasksNone checks that a store without legacy tasks moves
// nothing and does not call move.
func testLegacyTasksNone(t *testing.T, s herald.Store) {
	n, err := s.LegacyTasksMove(context.Background(), func(context.Context, *sql.Tx, []herald.Job) error {
		t.Error("move called without legacy tasks")
		return nil
	})
	if err != nil || n != 0 {
		t.Fatalf("LegacyTasksMove = %d, %v; want 0, nil", n, err)
	}
}
