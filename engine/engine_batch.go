package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"herald"
	"herald/botframework"
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

	// life is cancelled by abandon: writes in flight end, and no write is
	// tried again.
	life    context.Context
	abandon context.CancelFunc

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
	isolateAfter   = 3 // failed tries of a batch before looking for a row the store refuses
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
	b.life, b.abandon = context.WithCancel(context.Background())
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
		rs[i].Error = botframework.OneLine(rs[i].Error)
	}
	ids := make([]int64, len(marks))
	for i, it := range marks {
		ids[i] = it.d.ID
	}
	marked, unwritten := b.write(ctx, rs, ids, func() {
		// Mark nothing while the database fails: those deliveries stay
		// pending and are tried later.
		for _, it := range marks {
			b.marked(it, false)
		}
		marks = nil
	})
	ok := make(map[int64]bool, len(marked))
	for _, id := range marked {
		ok[id] = true
	}
	for _, it := range marks {
		b.marked(it, ok[it.d.ID])
	}
	for i, r := range results {
		if unwritten[i] {
			// Its delivery stays sending and is settled as uncertain on
			// the next start.
			r.res.State = ""
		}
		b.recorded(r.it, r.res)
	}
	return true
}

// write records rs and marks ids in one transaction, trying again while
// the store fails; dropMarks is called at the first failure (the marks
// are not retried). It returns the ids marked and the indexes of rs left
// unwritten: all of them when the batcher is stopping and the store kept
// failing, or the rows the store refuses alone while it accepts others
// (see isolate).
func (b *batcher) write(ctx context.Context, rs []herald.DeliveryResult, ids []int64, dropMarks func()) ([]int64, map[int]bool) {
	all := make([]int, len(rs))
	for i := range all {
		all[i] = i
	}
	for try := 0; ; try++ {
		marked, err := b.apply(ctx, rs, ids)
		if err == nil {
			return marked, nil
		}
		if b.life.Err() != nil {
			// Abandoned (a stop ran out of time): write nothing more.
			dropMarks()
			return nil, indexSet(all)
		}
		b.log.Error("record deliveries", "results", len(rs), "marks", len(ids), "err", err)
		if len(ids) > 0 {
			dropMarks()
			ids = nil
		}
		// A store out of space (herald.ErrUnavailable) refuses every row
		// alike while an empty write, needing no space, succeeds: an
		// outage, not a poison row, so the batch is kept whole.
		if try+1 >= isolateAfter && len(rs) > 0 && !errors.Is(err, herald.ErrUnavailable) {
			if left, isolated := b.isolate(ctx, rs, all); isolated {
				return nil, indexSet(left)
			}
		}
		if b.isStopping() && try >= stopApplyTries {
			return nil, indexSet(all)
		}
		select {
		case <-time.After(min(time.Duration(try+1)*100*time.Millisecond, maxApplyRetry)):
		case <-b.life.Done():
		}
	}
}

// isolate runs when a batch keeps failing. If the store answers at all
// (an empty write succeeds), the batch holds rows it refuses (a poison
// row): the results are written in halves, down to single rows, so the
// others are recorded; a refused row is tried once more with its error
// text cut to printable ASCII. It reports false, writing nothing, when the
// store does not answer (an outage: the caller keeps retrying the batch),
// else true and the indexes still unwritten.
func (b *batcher) isolate(ctx context.Context, rs []herald.DeliveryResult, idx []int) ([]int, bool) {
	if _, err := b.apply(ctx, nil, nil); err != nil {
		return nil, false
	}
	var left []int
	var split func(idx []int)
	split = func(idx []int) {
		part := make([]herald.DeliveryResult, len(idx))
		for i, j := range idx {
			part[i] = rs[j]
		}
		if _, err := b.apply(ctx, part, nil); err == nil {
			return
		}
		if len(idx) > 1 {
			split(idx[:len(idx)/2])
			split(idx[len(idx)/2:])
			return
		}
		plain := rs[idx[0]]
		plain.Error = printableASCII(plain.Error)
		if _, err := b.apply(ctx, []herald.DeliveryResult{plain}, nil); err != nil {
			b.log.Error("a delivery result cannot be recorded; its delivery will be settled as uncertain",
				"delivery", plain.ID, "err", err)
			left = append(left, idx[0])
		}
	}
	split(idx)
	if len(left) == len(idx) {
		// Nothing was written: an outage that began after the first
		// probe, unless the store still answers.
		if _, err := b.apply(ctx, nil, nil); err != nil {
			return nil, false
		}
	}
	return left, true
}

// apply is one DeliveryApply with its own timeout.
func (b *batcher) apply(ctx context.Context, rs []herald.DeliveryResult, ids []int64) ([]int64, error) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
	defer cancel()
	stop := context.AfterFunc(b.life, cancel)
	defer stop()
	return b.store.DeliveryApply(actx, herald.DeliveryApplyParams{Results: rs, Mark: ids, Node: b.node, Now: b.now()})
}

// printableASCII keeps the printable ASCII of s.
func printableASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

func indexSet(idx []int) map[int]bool {
	m := make(map[int]bool, len(idx))
	for _, i := range idx {
		m[i] = true
	}
	return m
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
	b.abandon() // releases life
}
