package engine

import (
	"context"
	"database/sql"
	"fmt"
	"herald"
	"time"
)

// The operations on notifications: accept, read, list deliveries, cancel,
// retry, wait; and the progress and ETA they report.

// Send accepts a notification: it is stored, then expanded and delivered
// in the background. With an IdempotencyKey already used, it returns the
// notification created then and starts nothing new.
func (e *Engine) Send(ctx context.Context, req herald.NotificationRequest) (herald.Notification, error) {
	return e.SendWith(ctx, req, nil)
}

// SendWith is Send with also run in the transaction that stores the
// notification and its first job (the bot records the welcomes a
// notification carries there), so that all of it commits or none does.
// also does not run when the IdempotencyKey was used already.
func (e *Engine) SendWith(ctx context.Context, req herald.NotificationRequest, also herald.TxFunc) (herald.Notification, error) {
	return e.send(ctx, req, herald.Creator{}, also)
}

// SendAs is Send recording by as who asked for the notification
// (Notification.CreatedBy): the API key it came with. A repeat of an
// earlier request (same IdempotencyKey) answers that notification, with
// its own creator.
func (e *Engine) SendAs(ctx context.Context, by herald.Creator, req herald.NotificationRequest) (herald.Notification, error) {
	return e.send(ctx, req, by, nil)
}

// send stores a notification asked for by by, with also run in the same
// transaction.
func (e *Engine) send(ctx context.Context, req herald.NotificationRequest, by herald.Creator, also herald.TxFunc) (herald.Notification, error) {
	if err := req.Validate(); err != nil {
		return herald.Notification{}, err
	}
	req.Priority = req.ResolvedPriority()
	now := e.now()
	n := herald.Notification{ID: herald.NewID("n", now), Request: req, State: herald.NotificationExpanding,
		CreatedBy: by, CreatedAt: now, UpdatedAt: now}
	if req.SendAt.After(now) {
		n.State = herald.NotificationScheduled
	}
	// The notification and its expansion job commit together.
	first := n
	n, created, err := e.store.NotificationCreate(ctx, n, func(ctx context.Context, tx *sql.Tx) error {
		args, opts := e.expandInsert(first)
		if _, err := e.river.InsertTx(ctx, tx, args, opts); err != nil {
			return err
		}
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return herald.Notification{}, fmt.Errorf("send: %w", err)
	}
	if created {
		e.log.Debug("notification accepted", "id", n.ID, "priority", n.Request.Priority)
	}
	return n, nil
}

// Get returns a notification with its counts and progress.
func (e *Engine) Get(ctx context.Context, id string) (herald.Notification, error) {
	n, err := e.store.NotificationGet(ctx, id)
	if err != nil {
		return herald.Notification{}, fmt.Errorf("get notification: %w", err)
	}
	counts, open, err := e.store.NotificationCounts(ctx, id)
	if err != nil {
		return herald.Notification{}, fmt.Errorf("get notification: %w", err)
	}
	n.Counts = counts
	n.Progress = e.progress(n, open)
	return n, nil
}

// Deliveries lists a notification's deliveries ordered by id.
func (e *Engine) Deliveries(ctx context.Context, id string, f herald.DeliveryFilter, p herald.Page) ([]herald.Delivery, error) {
	for _, s := range f.States {
		if !s.Valid() {
			return nil, fmt.Errorf("%w: unknown delivery state %q", herald.ErrInvalid, s)
		}
	}
	p.Limit = p.Clamped()
	ds, err := e.store.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: id, Filter: f, Page: p})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// Cancel cancels a notification: pending deliveries are cancelled; calls
// in flight finish and are recorded.
func (e *Engine) Cancel(ctx context.Context, id string) (herald.Notification, error) {
	if _, err := e.store.DeliveryCancel(ctx, id, e.now()); err != nil {
		return herald.Notification{}, fmt.Errorf("cancel notification: %w", err)
	}
	e.rt.cancelled(id)
	e.sched.withdrawNotification(id)
	e.signalFinished()
	return e.Get(ctx, id)
}

// Retry resends a notification's failed deliveries (never delivered
// ones), reopening the notification. It returns how many it reopened.
func (e *Engine) Retry(ctx context.Context, id string, opts herald.RetryOptions) (int, error) {
	states := []herald.DeliveryState{herald.DeliveryFailed}
	if opts.Uncertain {
		states = append(states, herald.DeliveryUncertain)
	}
	n, err := e.store.DeliveryRetry(ctx, herald.DeliveryRetryParams{NotificationID: id, States: states, Now: e.now()})
	if err != nil {
		return 0, fmt.Errorf("retry notification: %w", err)
	}
	if n > 0 {
		e.rt.forget(id)
		if err := e.kickSenders(ctx, id, false); err != nil {
			return n, fmt.Errorf("retry notification: %w", err)
		}
	}
	return n, nil
}

// Wait blocks until the notification is completed or cancelled, or ctx
// ends, and returns it (with counts).
func (e *Engine) Wait(ctx context.Context, id string) (herald.Notification, error) {
	return e.waitUntil(ctx, id, "wait for notification", e.finishedCh, time.Second,
		func(n herald.Notification) bool { return n.State.Final() })
}

// expandedPoll is how often WaitExpanded looks at a notification whose
// expansion runs in another process (this process's wake it at once).
const expandedPoll = 100 * time.Millisecond

// WaitExpanded blocks until the notification's audience is expanded (every
// delivery recorded, skipped ones with their reasons), the notification is
// final, or it is scheduled (expansion starts at SendAt), or ctx ends; it
// returns the notification with its counts, and ctx's error if ctx ended
// first. The API answers a new notification with what it returns.
func (e *Engine) WaitExpanded(ctx context.Context, id string) (herald.Notification, error) {
	return e.waitUntil(ctx, id, "wait for expansion", e.expandedCh, expandedPoll, func(n herald.Notification) bool {
		return n.Expanded || n.State.Final() || n.State == herald.NotificationScheduled
	})
}

// waitUntil reads the notification's state (cheap; counts are read once at
// the end, as counting a large notification scans its deliveries) until
// done says so, woken by wake's channel or every poll, or until ctx ends.
func (e *Engine) waitUntil(ctx context.Context, id, op string, wake func() <-chan struct{}, poll time.Duration,
	done func(herald.Notification) bool) (herald.Notification, error) {
	for {
		ch := wake()
		n, err := e.store.NotificationGet(ctx, id)
		if err != nil {
			return n, fmt.Errorf("%s: %w", op, err)
		}
		if done(n) {
			return e.Get(ctx, id)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			got, err := e.Get(context.WithoutCancel(ctx), id)
			if err != nil {
				got = n
			}
			return got, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

func (e *Engine) expandedCh() <-chan struct{} {
	e.finMu.Lock()
	defer e.finMu.Unlock()
	return e.expDone
}

// signalExpanded wakes WaitExpanded callers: an expansion ended.
func (e *Engine) signalExpanded() {
	e.finMu.Lock()
	close(e.expDone)
	e.expDone = make(chan struct{})
	e.finMu.Unlock()
}

func (e *Engine) finishedCh() <-chan struct{} {
	e.finMu.Lock()
	defer e.finMu.Unlock()
	return e.finished
}

func (e *Engine) signalFinished() {
	e.finMu.Lock()
	close(e.finished)
	e.finished = make(chan struct{})
	e.finMu.Unlock()
}

// tryFinish completes the notification if nothing is open.
func (e *Engine) tryFinish(ctx context.Context, id string) {
	ok, err := e.store.NotificationFinish(ctx, id, e.now())
	if err != nil {
		e.log.Error("finish notification", "id", id, "err", err)
		return
	}
	if ok {
		e.log.Info("notification completed", "id", id)
		e.rt.forget(id)
		e.signalFinished()
	}
}

// progress computes Progress from counts and open deliveries per tenant.
func (e *Engine) progress(n herald.Notification, open map[string]int) herald.Progress {
	var p herald.Progress
	total := n.Counts.Total()
	if total > 0 {
		p.Done = float64(total-n.Counts.Open()) / float64(total)
	}
	if n.State.Final() {
		p.Done = 1
		p.ETA = n.CompletedAt
		if p.ETA.IsZero() {
			p.ETA = n.UpdatedAt
		}
		return p
	}
	if !n.Expanded {
		return p
	}
	var worst time.Duration
	for tenant, k := range open {
		r := e.pacer.rate(tenant)
		if r <= 0 {
			r = e.observedRate()
		}
		if r <= 0 {
			return p
		}
		worst = max(worst, time.Duration(float64(k)/r*float64(time.Second)))
	}
	p.Remaining = worst
	p.ETA = e.now().Add(worst)
	return p
}

// observedRate is the engine's recent rate of recorded results per second.
func (e *Engine) observedRate() float64 {
	e.rateMu.Lock()
	defer e.rateMu.Unlock()
	now, n := e.now(), e.delivered.Load()
	if d := now.Sub(e.rateMark.at); d >= time.Second {
		if !e.rateMark.at.IsZero() {
			e.rateMark.ps = float64(n-e.rateMark.n) / d.Seconds()
		}
		e.rateMark.at, e.rateMark.n = now, n
	}
	return e.rateMark.ps
}
