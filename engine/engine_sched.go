package engine

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"herald"
)

// item is one delivery waiting in the scheduler for a worker.
type item struct {
	d         herald.Delivery
	rt        *runtime
	run       *senderRun
	conv      uint64 // pacing key of the conversation
	high      bool
	notBefore int64 // unix ns; parked until then
	seq       uint64
	hidx      int // index in the tenant's parked heap, -1 if queued
}

// fifo is a queue of items.
type fifo struct {
	items []*item
	head  int
}

func (q *fifo) len() int      { return len(q.items) - q.head }
func (q *fifo) push(it *item) { q.items = append(q.items, it) }
func (q *fifo) pushFront(it *item) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = it
		return
	}
	q.items = append([]*item{it}, q.items...)
}

func (q *fifo) pop() *item {
	it := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return it
}

// filter keeps the items keep accepts and returns the others.
func (q *fifo) filter(keep func(*item) bool) []*item {
	var out []*item
	kept := q.items[:0]
	for _, it := range q.items[q.head:] {
		if keep(it) {
			kept = append(kept, it)
		} else {
			out = append(out, it)
		}
	}
	clear(q.items[len(kept):])
	q.items, q.head = kept, 0
	return out
}

// parkedHeap orders parked items by notBefore, then arrival.
type parkedHeap []*item

func (h parkedHeap) Len() int { return len(h) }
func (h parkedHeap) Less(i, j int) bool {
	if h[i].notBefore != h[j].notBefore {
		return h[i].notBefore < h[j].notBefore
	}
	return h[i].seq < h[j].seq
}
func (h parkedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].hidx = i; h[j].hidx = j }
func (h *parkedHeap) Push(x any)   { it := x.(*item); it.hidx = len(*h); *h = append(*h, it) }
func (h *parkedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.hidx = -1
	return it
}

// Tenant scheduling states.
const (
	tqIdle = iota
	tqReady
	tqSleeping
)

// tenantQ is one tenant's waiting items.
type tenantQ struct {
	id        string
	high, low fifo
	parked    parkedHeap
	state     int
	wakeAt    int64
	sidx      int // index in the sleeping heap
	turn      int // items taken in the current turn
}

func (t *tenantQ) queued() int { return t.high.len() + t.low.len() }
func (t *tenantQ) empty() bool { return t.queued() == 0 && len(t.parked) == 0 }

// sleepHeap orders sleeping tenants by wake time.
type sleepHeap []*tenantQ

func (h sleepHeap) Len() int           { return len(h) }
func (h sleepHeap) Less(i, j int) bool { return h[i].wakeAt < h[j].wakeAt }
func (h sleepHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].sidx = i; h[j].sidx = j }
func (h *sleepHeap) Push(x any)        { t := x.(*tenantQ); t.sidx = len(*h); *h = append(*h, t) }
func (h *sleepHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// scheduler hands deliveries to workers in a fair, paced order: tenants
// take turns (round robin among those the pacer allows now), high
// priority items go first within a tenant (and tenants holding them are
// served first), and an item whose conversation is at its limit is parked
// until it may go, without holding up the rest of its tenant. Items are
// handed out with their pacing already reserved.
type scheduler struct {
	mu       sync.Mutex
	pacer    *pacer
	now      func() time.Time
	tenants  map[string]*tenantQ
	ring     []*tenantQ // ready tenants, in turn order
	cur      *tenantQ   // the tenant whose turn goes on (ready, not in ring)
	sleeping sleepHeap
	ids      map[int64]*item
	nHigh    int
	seq      uint64
	wake     chan struct{}
	closed   bool
}

// maxTries bounds how many conversation-blocked items one pick examines
// in a tenant before moving on. A tenant's turn lasts up to turnItems
// items: consecutive deliveries of one tenant are neighbours in the store,
// so their state changes share pages (SQLite writes whole pages).
const (
	maxTries  = 64
	turnItems = 16
)

func newScheduler(p *pacer, now func() time.Time) *scheduler {
	return &scheduler{
		pacer:   p,
		now:     now,
		tenants: map[string]*tenantQ{},
		ids:     map[int64]*item{},
		wake:    make(chan struct{}),
	}
}

// submit adds items and returns how many it accepted: an item whose
// delivery is already waiting in the scheduler is refused.
func (s *scheduler) submit(items []*item) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	now := s.now().UnixNano()
	n := 0
	for _, it := range items {
		if _, dup := s.ids[it.d.ID]; dup {
			continue
		}
		n++
		s.seq++
		it.seq = s.seq
		it.hidx = -1
		s.ids[it.d.ID] = it
		tq := s.tenants[it.d.TenantID]
		if tq == nil {
			tq = &tenantQ{id: it.d.TenantID}
			s.tenants[tq.id] = tq
		}
		if it.high {
			s.nHigh++
		}
		if it.notBefore > now {
			heap.Push(&tq.parked, it)
		} else if it.high {
			tq.high.push(it)
		} else {
			tq.low.push(it)
		}
		s.scheduleLocked(tq, now)
	}
	if n > 0 {
		s.wakeLocked()
	}
	return n
}

func (s *scheduler) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// scheduleLocked puts an idle or sleeping tenant where it belongs.
func (s *scheduler) scheduleLocked(tq *tenantQ, now int64) {
	switch {
	case tq.state == tqReady:
	case tq.queued() > 0:
		if tq.state == tqSleeping {
			heap.Remove(&s.sleeping, tq.sidx)
		}
		tq.state = tqReady
		s.ring = append(s.ring, tq)
	case len(tq.parked) > 0:
		s.sleepLocked(tq, tq.parked[0].notBefore)
	case tq.state == tqIdle:
		delete(s.tenants, tq.id)
	}
}

func (s *scheduler) sleepLocked(tq *tenantQ, at int64) {
	if tq.state == tqSleeping {
		if at < tq.wakeAt {
			tq.wakeAt = at
			heap.Fix(&s.sleeping, tq.sidx)
		}
		return
	}
	tq.state = tqSleeping
	tq.wakeAt = at
	heap.Push(&s.sleeping, tq)
}

// next blocks until an item may be sent, reserves its pacing and returns
// it. It returns ErrClosed once the scheduler is closed.
func (s *scheduler) next(ctx context.Context) (*item, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, herald.ErrClosed
		}
		now := s.now().UnixNano()
		if it := s.pickLocked(now); it != nil {
			delete(s.ids, it.d.ID)
			if it.high {
				s.nHigh--
			}
			s.mu.Unlock()
			return it, nil
		}
		// A pick that found nothing still made progress (it parked items or
		// put tenants to sleep): if some tenant is ready, pick again now.
		if len(s.ring) > 0 || s.cur != nil {
			s.mu.Unlock()
			continue
		}
		wait := time.Duration(-1)
		if len(s.sleeping) > 0 {
			wait = max(time.Duration(s.sleeping[0].wakeAt-now), 0)
		}
		ch := s.wake
		s.mu.Unlock()
		var t *time.Timer
		var timer <-chan time.Time
		if wait >= 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
			err := ctx.Err()
			if t != nil {
				t.Stop()
			}
			return nil, err
		case <-ch:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// pickLocked finds an item that may go now.
func (s *scheduler) pickLocked(now int64) *item {
	for len(s.sleeping) > 0 && s.sleeping[0].wakeAt <= now {
		tq := heap.Pop(&s.sleeping).(*tenantQ)
		tq.state = tqIdle
		s.releaseParkedLocked(tq, now)
		s.scheduleLocked(tq, now)
	}
	if s.nHigh > 0 {
		if tq := s.cur; tq != nil {
			s.cur = nil
			tq.turn = 0
			s.ring = append(s.ring, tq)
		}
		for i, tq := range s.ring {
			if tq.high.len() == 0 {
				continue
			}
			s.ring = append(s.ring[:i], s.ring[i+1:]...)
			if it := s.tryTenantLocked(tq, now); it != nil {
				return it
			}
			break
		}
	}
	if tq := s.cur; tq != nil && s.nHigh == 0 {
		s.cur = nil
		if it := s.tryTenantLocked(tq, now); it != nil {
			return it
		}
	}
	for n := len(s.ring); n > 0 && len(s.ring) > 0; n-- {
		tq := s.ring[0]
		s.ring = s.ring[1:]
		if it := s.tryTenantLocked(tq, now); it != nil {
			return it
		}
	}
	return nil
}

// releaseParkedLocked moves parked items that are due back to the front of
// their queues, oldest first.
func (s *scheduler) releaseParkedLocked(tq *tenantQ, now int64) {
	var due []*item
	for len(tq.parked) > 0 && tq.parked[0].notBefore <= now {
		due = append(due, heap.Pop(&tq.parked).(*item))
	}
	for i := len(due) - 1; i >= 0; i-- {
		if due[i].high {
			tq.high.pushFront(due[i])
		} else {
			tq.low.pushFront(due[i])
		}
	}
}

// tryTenantLocked tries to take an item of a tenant just removed from the
// ring, and reschedules the tenant.
func (s *scheduler) tryTenantLocked(tq *tenantQ, now int64) *item {
	tq.state = tqIdle
	s.releaseParkedLocked(tq, now)
	if tq.queued() == 0 {
		s.scheduleLocked(tq, now)
		return nil
	}
	if w := s.pacer.tenantWait(tq.id, now); w > 0 {
		s.sleepLocked(tq, now+int64(w))
		return nil
	}
	for tries := 0; tries < maxTries && tq.queued() > 0; tries++ {
		q := &tq.low
		if tq.high.len() > 0 {
			q = &tq.high
		}
		it := q.pop()
		w := s.pacer.tryReserve(tq.id, it.conv, now)
		if w == 0 {
			tq.turn++
			if tq.turn < turnItems && tq.queued() > 0 {
				tq.state = tqReady
				s.cur = tq
				return it
			}
			tq.turn = 0
			s.scheduleLocked(tq, now)
			return it
		}
		if s.pacer.tenantWait(tq.id, now) > 0 {
			q.pushFront(it)
			break
		}
		it.notBefore = now + int64(w)
		heap.Push(&tq.parked, it)
	}
	if tq.queued() > 0 {
		if w := s.pacer.tenantWait(tq.id, now); w > 0 {
			s.sleepLocked(tq, now+int64(w))
			return nil
		}
	}
	s.scheduleLocked(tq, now)
	return nil
}

// withdraw removes the waiting items keep rejects and returns them.
func (s *scheduler) withdraw(reject func(*item) bool) []*item {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := func(it *item) bool { return !reject(it) }
	var out []*item
	for _, tq := range s.tenants {
		out = append(out, tq.high.filter(keep)...)
		out = append(out, tq.low.filter(keep)...)
		kept := tq.parked[:0]
		for _, it := range tq.parked {
			if keep(it) {
				kept = append(kept, it)
			} else {
				out = append(out, it)
			}
		}
		clear(tq.parked[len(kept):])
		tq.parked = kept
		for i, it := range tq.parked {
			it.hidx = i
		}
		heap.Init(&tq.parked)
		// A sleeping tenant whose earliest item left wakes early: harmless.
		if tq.state != tqReady && tq.empty() {
			if tq.state == tqSleeping {
				heap.Remove(&s.sleeping, tq.sidx)
			}
			tq.state = tqIdle
			delete(s.tenants, tq.id)
		}
	}
	ring := s.ring[:0]
	for _, tq := range s.ring {
		if tq.queued() > 0 || len(tq.parked) > 0 {
			ring = append(ring, tq)
			continue
		}
		tq.state = tqIdle
		delete(s.tenants, tq.id)
	}
	clear(s.ring[len(ring):])
	s.ring = ring
	for _, it := range out {
		delete(s.ids, it.d.ID)
		if it.high {
			s.nHigh--
		}
		it.hidx = -1
	}
	return out
}

// withdrawNotification drops the waiting items of a notification (it was
// cancelled) and tells their senders.
func (s *scheduler) withdrawNotification(id string) {
	for _, it := range s.withdraw(func(it *item) bool { return it.d.NotificationID == id }) {
		it.run.done()
	}
}

// close stops handing out items and wakes every waiting worker.
func (s *scheduler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.wakeLocked()
	}
}
