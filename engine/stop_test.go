package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/emulator"
)

// refusingWrites is the real store, refusing to record delivery results
// while refuse is set (a full disk, a database refusing a row).
type refusingWrites struct {
	herald.Store
	refuse atomic.Bool
}

func (s *refusingWrites) DeliveryApply(ctx context.Context, p herald.DeliveryApplyParams) ([]int64, error) {
	if s.refuse.Load() {
		return nil, errors.New("database or disk is full")
	}
	return s.Store.DeliveryApply(ctx, p)
}

// TestStopHonoursItsTimeoutWhenWritesFail: calls are in flight when the
// store starts refusing writes; Stop still returns once its context ends,
// although the results cannot be recorded.
func TestStopHonoursItsTimeoutWhenWritesFail(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{noStart: true, concurrency: 4})
	st := &refusingWrites{Store: b.store}
	b.cfg.Store = st
	eng := b.start(t)
	tn := b.tenant(t)
	b.users(t, tn, 20, true)
	if err := b.emu.SetFaults(emulator.Faults{LatencyMs: 200, Operations: []string{"send"}}); err != nil {
		t.Fatal(err)
	}
	b.send(t, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "x"}})
	for b.emu.Counters().Requests == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	st.refuse.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Stop(ctx) }()
	select {
	case err := <-stopped:
		t.Logf("stop: %v", err)
	case <-time.After(2 * time.Minute): // a guard, far beyond the timeout
		t.Fatal("Stop ignored its context while the store refused writes")
	}
}
