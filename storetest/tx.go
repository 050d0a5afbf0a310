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

// testWelcomeMarkTx checks that WelcomeMarkTx records welcomes inside the
// caller's transaction, and refuses (rolling the transaction back) a mark
// whose subject was welcomed after the mark's Last.
func testWelcomeMarkTx(t *testing.T, s herald.Store) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	req := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"a"}}, Content: herald.Content{Text: "x"}}
	tests := []struct {
		name    string
		id      string
		marks   []herald.WelcomeMark
		at      time.Time
		wantErr error
		wantAt  time.Time // WelcomeLast of 29:a after
	}{
		{"first welcomes", "n_w1", []herald.WelcomeMark{{Subject: "29:a"}, {Subject: "29:b"}}, t0, nil, t0},
		{"a stale mark rolls everything back", "n_w2", []herald.WelcomeMark{{Subject: "29:c"}, {Subject: "29:a"}}, t0.Add(time.Hour), herald.ErrConflict, t0},
		{"a mark that saw the last welcome", "n_w3", []herald.WelcomeMark{{Subject: "29:a", Last: t0}}, t0.Add(2 * time.Hour), nil, t0.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		_, _, err := s.NotificationCreate(ctx, herald.Notification{ID: tt.id, Request: req, State: herald.NotificationExpanding,
			CreatedAt: t0, UpdatedAt: t0}, func(ctx context.Context, tx *sql.Tx) error {
			return s.WelcomeMarkTx(ctx, tx, "personal", tt.marks, tt.at)
		})
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && err != nil {
			t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got, err := s.WelcomeLast(ctx, "personal", "29:a"); err != nil || !got.Equal(tt.wantAt) {
			t.Fatalf("%s: WelcomeLast(29:a) = %v, %v; want %v", tt.name, got, err, tt.wantAt)
		}
	}
	if got, _ := s.WelcomeLast(ctx, "personal", "29:c"); !got.IsZero() {
		t.Fatalf("a rolled back mark was kept: %v", got)
	}
	if _, err := s.NotificationGet(ctx, "n_w2"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("the notification of a refused mark was kept: %v", err)
	}
}
