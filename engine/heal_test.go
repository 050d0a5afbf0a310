package engine_test

import (
	"context"
	"testing"
	"time"

	"herald"
	"herald/sqlstore/sqlstoretest"
)

// TestEngineRetryHealsBlocked: Bob blocked the bot, a send failed and
// flagged him; he unblocked it (Teams sends no event); a retry of the
// failed delivery reaches him and clears the flag, so later notifications
// reach him too. While he still blocks it, a retry fails again and the
// flag stays.
func TestEngineRetryHealsBlocked(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineRetryHealsBlocked(t, db)
		})
	}
}

func testEngineRetryHealsBlocked(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 2, false)
	alice, bob := us[0], us[1]
	blocked := func() bool {
		t.Helper()
		u, err := b.store.UserGet(ctx, bob.id)
		if err != nil {
			t.Fatal(err)
		}
		return u.Blocked
	}
	if err := b.emu.SetBlocked(bob.id, true); err != nil {
		t.Fatal(err)
	}
	req := herald.NotificationRequest{Audience: herald.Audience{Users: []string{alice.id, bob.id}}, Content: herald.Content{Text: "Deploy finished"}}
	n := b.wait(t, b.send(t, req).ID, time.Minute)
	if want := (herald.Counts{Delivered: 1, Failed: 1}); n.Counts != want || !blocked() {
		t.Fatalf("first send: counts %+v, blocked %v", n.Counts, blocked())
	}

	steps := []struct {
		name        string
		unblock     bool
		counts      herald.Counts
		stillBlocks bool
	}{
		{"retry while blocked", false, herald.Counts{Delivered: 1, Failed: 1}, true},
		{"retry after unblocking", true, herald.Counts{Delivered: 2}, false},
	}
	for _, s := range steps {
		if s.unblock {
			if err := b.emu.SetBlocked(bob.id, false); err != nil {
				t.Fatal(err)
			}
		}
		k, err := b.eng.Retry(ctx, n.ID, herald.RetryOptions{})
		if err != nil || k != 1 {
			t.Fatalf("%s: retried %d, %v", s.name, k, err)
		}
		got := b.wait(t, n.ID, time.Minute)
		if got.Counts != s.counts || blocked() != s.stillBlocks {
			t.Fatalf("%s: counts %+v, blocked %v; want %+v, %v", s.name, got.Counts, blocked(), s.counts, s.stillBlocks)
		}
	}
	if got := len(b.fromBot(bob.conv)); got != 1 {
		t.Fatalf("Bob got %d messages, want 1", got)
	}
	n = b.wait(t, b.send(t, req).ID, time.Minute)
	if want := (herald.Counts{Delivered: 2}); n.Counts != want {
		t.Fatalf("next send: counts %+v, want %+v", n.Counts, want)
	}
}
