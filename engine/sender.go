package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald"

	"github.com/riverqueue/river"
)

// Sender tuning: a sender keeps at most senderHold deliveries in the
// scheduler and fetches more when it holds fewer than senderLow. A
// sender with nothing due waits in process up to shortWait, else snoozes
// its job.
const (
	senderHold = 256
	senderLow  = 128
	shortWait  = 5 * time.Second
	// expandPoll is how often a sender looks for new deliveries while its
	// notification is still being expanded elsewhere; in this process
	// the expansion wakes it at once.
	expandPoll = 2 * time.Second
)

// senderRun is one run of a sender job: it feeds one notification's due
// deliveries in one tenant to the scheduler and waits for them.
type senderRun struct {
	e      *Engine
	rt     *runtime
	tenant string

	mu       sync.Mutex
	held     int // items in the scheduler, being sent, or awaiting their commit
	stopping bool
	signal   chan struct{}
	// finish is set when the run ends because its tenant has nothing
	// open and the notification is expanded.
	finish bool
}

// runSender is the work of a sender job.
func (e *Engine) runSender(ctx context.Context, id, tenant string) error {
	rt, err := e.acquireRuntime(ctx, id)
	if errors.Is(err, herald.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load notification: %w", err)
	}
	if rt.n.State.Final() || rt.cancelled.Load() {
		e.releaseRuntime(rt)
		return nil
	}
	r := &senderRun{e: e, rt: rt, tenant: tenant, signal: make(chan struct{}, 1)}
	err = r.run(ctx)
	// Of the runs in this process that found their tenant done, the last
	// to end completes the notification (if nothing else is open): one
	// check instead of one per tenant.
	if last := e.releaseRuntime(rt); last && r.finish {
		e.tryFinish(ctx, id)
	}
	return err
}

func (r *senderRun) run(ctx context.Context) error {
	e := r.e
	start := e.now()
	var after int64
	exhausted := false // the pass from after found nothing more
	for {
		switch {
		case e.isStopping() || ctx.Err() != nil:
			r.abandon(ctx)
			return river.JobSnooze(0)
		case r.rt.cancelled.Load():
			r.abandon(ctx)
			return nil
		case e.now().Sub(start) > senderBudget:
			r.abandon(ctx)
			return river.JobSnooze(0)
		}
		held := r.holding()
		if held == 0 && exhausted {
			// A new pass from the start finds deliveries that became
			// due (retries left by an earlier run), else the run idles.
			if after == 0 {
				done, err := r.idle(ctx)
				if done || err != nil {
					return err
				}
			}
			after, exhausted = 0, false
			continue
		}
		if !exhausted && held < senderLow {
			limit := senderHold - held
			ds, err := e.store.DeliveryDue(ctx, herald.DeliveryDueParams{
				NotificationID: r.rt.n.ID, TenantID: r.tenant, AfterID: after, Now: e.now(), Limit: limit,
			})
			if err != nil {
				r.abandon(ctx)
				return fmt.Errorf("fetch due deliveries: %w", err)
			}
			if len(ds) > 0 {
				after = ds[len(ds)-1].ID
				r.submit(ds)
			}
			exhausted = len(ds) < limit
			continue
		}
		r.waitSignal(ctx, time.Second)
	}
}

// idle decides what a sender holding nothing does when nothing was due:
// finish, wait a little, or snooze its job. It reports whether the run is
// over (with the error to return).
func (r *senderRun) idle(ctx context.Context) (bool, error) {
	e := r.e
	// Read the notification before looking for deliveries: once it says
	// expanded, every delivery is recorded and visible below.
	expanded := e.rt.expansionCh(r.rt.n.ID, r.tenant)
	n, err := e.store.NotificationGet(ctx, r.rt.n.ID)
	if err != nil {
		return true, fmt.Errorf("load notification: %w", err)
	}
	if n.State.Final() {
		return true, nil
	}
	ds, err := e.store.DeliveryDue(ctx, herald.DeliveryDueParams{NotificationID: n.ID, TenantID: r.tenant, Now: e.now(), Limit: senderHold})
	if err != nil {
		return true, fmt.Errorf("fetch due deliveries: %w", err)
	}
	if len(ds) > 0 {
		r.submit(ds)
		return false, nil
	}
	next, ok, err := e.store.DeliveryNextDue(ctx, n.ID, r.tenant)
	if err != nil {
		return true, fmt.Errorf("next due delivery: %w", err)
	}
	switch {
	case ok:
		wait := next.Sub(e.now())
		if wait > shortWait {
			return true, river.JobSnooze(wait)
		}
		r.sleep(ctx, wait)
		return false, nil
	case !n.Expanded:
		r.waitExpansion(ctx, expanded)
		return false, nil
	}
	r.finish = true
	return true, nil
}

// waitExpansion waits until the expansion in this process records more
// deliveries (ch closes), or expandPoll passes.
func (r *senderRun) waitExpansion(ctx context.Context, ch <-chan struct{}) {
	t := time.NewTimer(expandPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.e.stopped:
	case <-ch:
	case <-t.C:
	}
}

func (r *senderRun) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.e.stopped:
	case <-t.C:
	}
}

func (r *senderRun) holding() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// submit hands deliveries to the scheduler.
func (r *senderRun) submit(ds []herald.Delivery) {
	items := make([]*item, len(ds))
	high := r.rt.n.Request.Priority == herald.PriorityHigh
	for i := range ds {
		items[i] = &item{d: ds[i], rt: r.rt, run: r, conv: r.e.pacer.convKey(pacingKey(&ds[i])), high: high}
	}
	r.mu.Lock()
	r.held += len(items)
	r.mu.Unlock()
	if n := r.e.sched.submit(items); n < len(items) {
		r.mu.Lock()
		r.held -= len(items) - n
		r.mu.Unlock()
	}
}

// pacingKey is the conversation a delivery's calls count against: the
// user's personal chat, the channel (threads count towards it), or the
// group chat.
func pacingKey(d *herald.Delivery) string {
	switch {
	case d.Kind == herald.KindPersonal && d.UserID != "":
		return "u:" + d.UserID
	case d.ChannelID != "":
		return "c:" + d.ChannelID
	}
	return "c:" + d.ConversationID
}

// done records that an item left this run (its result, if any, is
// written).
func (r *senderRun) done() {
	r.mu.Lock()
	r.held--
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// retry puts an item back in the scheduler to be tried again at at,
// unless the run is stopping (the delivery is pending in the store and a
// later run picks it up).
func (r *senderRun) retry(it *item, at time.Time) {
	r.mu.Lock()
	stopping := r.stopping
	r.mu.Unlock()
	if stopping || r.rt.cancelled.Load() {
		r.done()
		return
	}
	it.notBefore = at.UnixNano()
	if r.e.sched.submit([]*item{it}) == 0 {
		r.done()
	}
}

func (r *senderRun) waitSignal(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.e.stopped:
	case <-r.signal:
	case <-t.C:
	}
}

// abandon withdraws the run's waiting items (they stay pending in the
// store) and waits for those with workers, and for their results to be
// written.
func (r *senderRun) abandon(ctx context.Context) {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	for range r.e.sched.withdraw(func(it *item) bool { return it.run == r }) {
		r.done()
	}
	for r.holding() > 0 {
		t := time.NewTimer(time.Second)
		select {
		case <-r.signal:
		case <-t.C:
		}
		t.Stop()
	}
}
