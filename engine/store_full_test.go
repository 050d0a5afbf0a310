package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/emulator"
)

// fullStore is the real store on a full disk while full is set: a write
// of results or marks fails with herald.ErrUnavailable, as SQLite's
// SQLITE_FULL does, while an empty one, needing no space, succeeds.
type fullStore struct {
	herald.Store
	full    atomic.Bool
	refused atomic.Int64
}

func (s *fullStore) DeliveryApply(ctx context.Context, p herald.DeliveryApplyParams) ([]int64, error) {
	if s.full.Load() && (len(p.Results) > 0 || len(p.Mark) > 0) {
		s.refused.Add(1)
		return nil, fmt.Errorf("delivery apply: %w: commit: database or disk is full (13)", herald.ErrUnavailable)
	}
	return s.Store.DeliveryApply(ctx, p)
}

// TestEngineWaitsOutAFullDisk: the disk fills while calls are in flight
// and stays full through many tries of the group commit. A full disk is
// an outage, not a poison row: once space returns, the results are
// recorded, and every recipient is delivered with one message (none left
// sending, none made uncertain).
func TestEngineWaitsOutAFullDisk(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{noStart: true, concurrency: 4})
	st := &fullStore{Store: b.store}
	b.cfg.Store = st
	b.start(t)
	tn := b.tenant(t)
	us := b.users(t, tn, 40, true)
	if err := b.emu.SetFaults(emulator.Faults{LatencyMs: 50, Operations: []string{"send"}}); err != nil {
		t.Fatal(err)
	}
	n := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "Disk test"}})
	guard := time.Now().Add(2 * time.Minute)
	for b.emu.Counters().Requests == 0 && time.Now().Before(guard) {
		time.Sleep(time.Millisecond)
	}
	st.full.Store(true)
	// Enough failed writes for the batcher to have looked for a poison row
	// several times over.
	for st.refused.Load() < 10 && time.Now().Before(guard) {
		time.Sleep(time.Millisecond)
	}
	st.full.Store(false)
	n = b.wait(t, n.ID, 2*time.Minute)
	if n.Counts.Delivered != len(us) {
		t.Errorf("counts %+v: want all %d delivered", n.Counts, len(us))
	}
	for _, u := range us {
		if got := len(b.fromBot(u.conv)); got != 1 {
			t.Errorf("%s got %d messages", u.id, got)
		}
	}
}
