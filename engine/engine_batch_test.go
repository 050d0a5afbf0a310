package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"herald"
)

// refusingStore is a DeliveryStore whose DeliveryApply refuses any batch
// holding a result the refuse function names, or everything while down.
// Its other methods are not used by the batcher.
type refusingStore struct {
	herald.DeliveryStore
	refuse func(herald.DeliveryResult) bool

	mu      sync.Mutex
	down    bool
	applied map[int64]herald.DeliveryResult
	calls   int
}

func (s *refusingStore) DeliveryApply(ctx context.Context, p herald.DeliveryApplyParams) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.down || ctx.Err() != nil {
		return nil, errors.New("connection refused")
	}
	for _, r := range p.Results {
		if s.refuse(r) {
			return nil, errors.New("ERROR: unsupported Unicode escape sequence (SQLSTATE 22P05)")
		}
	}
	for _, r := range p.Results {
		s.applied[r.ID] = r
	}
	return p.Mark, nil
}

// runBatch queues results for deliveries 1..n (error texts from errText)
// through a running batcher and returns what recorded saw, by id.
func runBatch(t *testing.T, st *refusingStore, n int, errText func(id int64) string) map[int64]herald.DeliveryResult {
	t.Helper()
	b := newBatcher(st, "n1", time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var mu sync.Mutex
	got := map[int64]herald.DeliveryResult{}
	b.recorded = func(it *item, res herald.DeliveryResult) {
		mu.Lock()
		got[it.d.ID] = res
		mu.Unlock()
	}
	b.marked = func(*item, bool) {}
	go b.run(context.Background())
	for id := int64(1); id <= int64(n); id++ {
		b.result(&item{d: herald.Delivery{ID: id}}, herald.DeliveryResult{ID: id, State: herald.DeliveryFailed, Error: errText(id)})
	}
	b.stop()
	return got
}

func TestBatcherIsolatesPoisonRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		refuse    func(herald.DeliveryResult) bool
		errText   func(id int64) string
		unwritten []int64 // recorded with State ""
		stored    map[int64]string
	}{
		{
			name: "NUL and broken UTF-8 never reach the store",
			refuse: func(r herald.DeliveryResult) bool {
				return strings.ContainsRune(r.Error, 0) || !utf8.ValidString(r.Error)
			},
			errText: func(id int64) string { return map[int64]string{3: "bad\x00row", 5: "cut \xe2\x82"}[id] },
			stored:  map[int64]string{3: "bad row", 5: "cut \uFFFD"},
		},
		{
			name:    "a row refused for its text is stored with plain ASCII",
			refuse:  func(r herald.DeliveryResult) bool { return strings.Contains(r.Error, "é") },
			errText: func(id int64) string { return map[int64]string{7: "café closed"}[id] },
			stored:  map[int64]string{7: "caf closed"},
		},
		{
			name:      "a row refused whatever its text stays unwritten, the others are stored",
			refuse:    func(r herald.DeliveryResult) bool { return r.ID == 13 },
			errText:   func(int64) string { return "" },
			unwritten: []int64{13},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &refusingStore{refuse: tc.refuse, applied: map[int64]herald.DeliveryResult{}}
			got := runBatch(t, st, 40, tc.errText)
			for id := int64(1); id <= 40; id++ {
				lost := slices.Contains(tc.unwritten, id)
				if (got[id].State == "") != lost {
					t.Errorf("delivery %d recorded as %q (want unwritten: %v)", id, got[id].State, lost)
				}
				if _, ok := st.applied[id]; ok == lost {
					t.Errorf("delivery %d stored: %v", id, ok)
				}
				if want, ok := tc.stored[id]; ok && st.applied[id].Error != want {
					t.Errorf("delivery %d stored error %q, want %q", id, st.applied[id].Error, want)
				}
			}
		})
	}
}

// TestBatcherAbandonEndsAnOutage: while the store refuses everything the
// batcher keeps its results; abandon (a stop out of time) ends the wait,
// leaving them unwritten.
func TestBatcherAbandonEndsAnOutage(t *testing.T) {
	t.Parallel()
	st := &refusingStore{refuse: func(herald.DeliveryResult) bool { return false }, applied: map[int64]herald.DeliveryResult{}, down: true}
	b := newBatcher(st, "n1", time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	recorded := make(chan herald.DeliveryResult, 1)
	b.recorded = func(_ *item, res herald.DeliveryResult) { recorded <- res }
	b.marked = func(*item, bool) {}
	go b.run(context.Background())
	b.result(&item{d: herald.Delivery{ID: 1}}, herald.DeliveryResult{ID: 1, State: herald.DeliveryDelivered})
	for {
		st.mu.Lock()
		calls := st.calls
		st.mu.Unlock()
		if calls >= isolateAfter+1 {
			break // the batch failed, and the store was probed
		}
		time.Sleep(time.Millisecond)
	}
	b.abandon()
	if res := <-recorded; res.State != "" {
		t.Fatalf("recorded %+v during an outage", res)
	}
	b.stop()
	if len(st.applied) != 0 {
		t.Fatalf("stored %v", st.applied)
	}
}
