package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"herald"
)

// batcher writes the senders' state changes in group commits: every
// transaction first records the results that arrived, then marks as
// sending the deliveries about to be called. A delivery is called only
// after its mark committed, and holds one of the engine's in-flight slots
// from before its mark until its result committed: so at any commit at
// most EngineConfig.InFlight deliveries are in state sending, and a crash
// leaves at most that many uncertain.
type batcher struct {
	store herald.DeliveryStore
	node  string
	now   func() time.Time
	log   *slog.Logger
	// marked receives the outcome of each mark, after its commit.
	marked func(it *item, ok bool)
	// recorded is called for each result after its commit.
	recorded func(it *item, res herald.DeliveryResult)

	mu       sync.Mutex
	cond     *sync.Cond // signalled when work is queued or stopping starts
	marks    []*item
	results  []pendingResult
	stopping bool
	done     chan struct{}
}

type pendingResult struct {
	it  *item
	res herald.DeliveryResult
}

// Group commit bounds.
const (
	maxMarks       = 512
	maxResults     = 1024
	applyTimeout   = 30 * time.Second
	maxApplyRetry  = 5 * time.Second
	stopApplyTries = 5
)

func newBatcher(s herald.DeliveryStore, node string, now func() time.Time, log *slog.Logger) *batcher {
	b := &batcher{
		store: s,
		node:  node,
		now:   now,
		log:   log,
		done:  make(chan struct{}),
	}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *batcher) poke() { b.cond.Signal() }

// mark queues a request for it's delivery to become sending; marked is
// called after the commit (false: not pending any more, or stopping).
func (b *batcher) mark(it *item) {
	b.mu.Lock()
	if b.stopping {
		b.mu.Unlock()
		b.marked(it, false)
		return
	}
	b.marks = append(b.marks, it)
	b.mu.Unlock()
	b.poke()
}

// result queues a result; recorded is called after the commit.
func (b *batcher) result(it *item, res herald.DeliveryResult) {
	b.mu.Lock()
	b.results = append(b.results, pendingResult{it: it, res: res})
	b.mu.Unlock()
	b.poke()
}

// run writes batches until stop has been called and nothing is left. One
// writer makes the biggest group commits; on PostgreSQL two or eight
// writers measured no faster than one (each commit costs the server more
// than its rows). ctx is only the parent of each write's own timeout: a
// stopping engine still writes what it has.
func (b *batcher) run(ctx context.Context) {
	defer close(b.done)
	for b.flush(ctx) {
	}
}

func (b *batcher) isStopping() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopping
}

// flush waits for work and writes one batch; it reports false once the
// batcher is stopping and nothing is left.
func (b *batcher) flush(ctx context.Context) bool {
	b.mu.Lock()
	for len(b.results) == 0 && len(b.marks) == 0 {
		if b.stopping {
			b.mu.Unlock()
			b.cond.Broadcast()
			return false
		}
		b.cond.Wait()
	}
	nr := min(len(b.results), maxResults)
	nm := min(len(b.marks), maxMarks)
	results := append([]pendingResult(nil), b.results[:nr]...)
	b.results = append(b.results[:0], b.results[nr:]...)
	marks := append([]*item(nil), b.marks[:nm]...)
	b.marks = append(b.marks[:0], b.marks[nm:]...)
	b.mu.Unlock()

	rs := make([]herald.DeliveryResult, len(results))
	for i, r := range results {
		rs[i] = r.res
	}
	ids := make([]int64, len(marks))
	for i, it := range marks {
		ids[i] = it.d.ID
	}
	var marked []int64
	var err error
	written := true
	for try := 0; ; try++ {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
		marked, err = b.store.DeliveryApply(actx, herald.DeliveryApplyParams{Results: rs, Mark: ids, Node: b.node, Now: b.now()})
		cancel()
		if err == nil {
			break
		}
		b.log.Error("record deliveries", "results", len(rs), "marks", len(ids), "err", err)
		if len(ids) > 0 {
			// Mark nothing while the database fails: those deliveries
			// stay pending and are tried later.
			for _, it := range marks {
				b.marked(it, false)
			}
			ids, marks = nil, nil
		}
		if b.isStopping() && try >= stopApplyTries {
			// Give up: the results stay unwritten, their deliveries stay
			// sending and are settled as uncertain on the next start.
			written = false
			break
		}
		time.Sleep(min(time.Duration(try+1)*100*time.Millisecond, maxApplyRetry))
	}
	ok := make(map[int64]bool, len(marked))
	for _, id := range marked {
		ok[id] = true
	}
	for _, it := range marks {
		b.marked(it, ok[it.d.ID])
	}
	for _, r := range results {
		if !written {
			r.res.State = ""
		}
		b.recorded(r.it, r.res)
	}
	return true
}

// stop answers queued marks with false, writes the queued results and
// waits for the writer to finish. No result may be queued after it.
func (b *batcher) stop() {
	b.mu.Lock()
	b.stopping = true
	marks := b.marks
	b.marks = nil
	b.mu.Unlock()
	for _, it := range marks {
		b.marked(it, false)
	}
	b.cond.Broadcast()
	<-b.done
}
