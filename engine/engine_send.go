package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald"

	"github.com/riverqueue/river"

	"herald/botframework"
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
	maxErrText = 1000
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
// user's personal chat, or the channel (threads count towards it).
func pacingKey(d *herald.Delivery) string {
	if d.Kind == herald.KindPersonal {
		return "u:" + d.UserID
	}
	return "c:" + d.ChannelID
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

// feed takes items from the scheduler (their pacing reserved), each with
// an in-flight slot, and asks the batcher to mark them sending.
func (e *Engine) feed(ctx context.Context) {
	for {
		select {
		case <-e.slots:
		case <-ctx.Done():
			return
		}
		it, err := e.sched.next(ctx)
		if err != nil {
			e.slots <- struct{}{}
			return
		}
		if it.rt.cancelled.Load() {
			e.unsent(it)
			continue
		}
		e.batch.mark(it)
	}
}

// unsent returns an item that will not be sent: its pacing reservation,
// its slot, and the item to its run.
func (e *Engine) unsent(it *item) {
	e.pacer.cancel(it.d.TenantID, it.conv)
	e.slots <- struct{}{}
	it.run.done()
}

// onMarked runs after a mark's commit (in the batcher).
func (e *Engine) onMarked(it *item, ok bool) {
	if !ok {
		e.unsent(it)
		return
	}
	it.d.Attempts++
	e.ready <- it // never blocks: ready holds as many items as there are slots
}

// onRecorded runs after a result's commit (in the batcher).
func (e *Engine) onRecorded(it *item, res herald.DeliveryResult) {
	e.slots <- struct{}{}
	switch res.State {
	case "":
		it.run.done() // not written; settled on the next start
	case herald.DeliveryPending:
		if res.Throttled {
			it.d.Attempts--
			it.d.Throttles++
		}
		it.run.retry(it, res.NextAttemptAt)
	default:
		e.delivered.Add(1)
		it.run.done()
	}
}

// worker calls Teams for marked items until told to quit, then drains.
func (e *Engine) worker(ctx context.Context) {
	for {
		select {
		case it := <-e.ready:
			e.process(ctx, it)
		case <-e.quitWorkers:
			for {
				select {
				case it := <-e.ready:
					e.process(ctx, it)
				default:
					return
				}
			}
		}
	}
}

// process delivers one marked item and queues its result.
func (e *Engine) process(ctx context.Context, it *item) {
	c := &caller{e: e, tenant: it.d.TenantID, conv: it.conv, reserved: true}
	res := e.deliver(ctx, it, c)
	c.release()
	e.batch.result(it, res)
}

// caller makes the calls of one delivery, each within the pacing limits.
// The first call uses the reservation the scheduler made.
type caller struct {
	e        *Engine
	tenant   string
	conv     uint64
	reserved bool
}

func (c *caller) do(ctx context.Context, fn func() error) error {
	if !c.reserved {
		if err := c.e.pacer.reserve(ctx, c.tenant, c.conv); err != nil {
			return err
		}
	}
	c.reserved = false
	err := fn()
	c.e.pacer.done(c.tenant, c.conv)
	if cl := botframework.Classify(err); cl.Reason == botframework.ReasonThrottled {
		c.e.pacer.throttled(c.tenant, c.conv, cl.RetryAfter)
	}
	return err
}

// release gives back an unused reservation.
func (c *caller) release() {
	if c.reserved {
		c.reserved = false
		c.e.pacer.cancel(c.tenant, c.conv)
	}
}

// deliver makes the calls for one delivery and returns its result.
func (e *Engine) deliver(ctx context.Context, it *item, c *caller) herald.DeliveryResult {
	d := &it.d
	res := herald.DeliveryResult{ID: d.ID}
	svc := e.serviceURL(ctx, d)
	cl := e.cfg.Connector.Client(svc)
	act := it.rt.activity(d)
	var err error
	switch d.Kind {
	case herald.KindPersonal:
		err = e.sendPersonal(ctx, it, c, cl, act, &res)
	case herald.KindChannel:
		err = e.sendChannel(ctx, it, c, cl, act, svc, &res)
	case herald.KindReply:
		err = e.sendReply(ctx, it, c, cl, act, svc, &res)
	default:
		err = fmt.Errorf("unknown delivery kind %q", d.Kind)
		res.State, res.Reason, res.Error = herald.DeliveryFailed, herald.ReasonOther, err.Error()
		return res
	}
	now := e.now()
	if err == nil {
		res.State, res.DeliveredAt = herald.DeliveryDelivered, now
		return res
	}
	return e.failed(ctx, it, err, res)
}

// failed records a failed call: retry, failure, or uncertain outcome.
func (e *Engine) failed(ctx context.Context, it *item, err error, res herald.DeliveryResult) herald.DeliveryResult {
	d := &it.d
	cls := botframework.Classify(err)
	o := decide(cls, attemptInfo{
		attempts:    d.Attempts,
		now:         e.now(),
		deadline:    it.rt.deadline,
		atLeastOnce: it.rt.n.Request.AtLeastOnce,
		policy:      e.cfg.Retry,
		jitter:      e.cfg.Rand(),
	})
	res.Error = botframework.Clip(err.Error(), maxErrText)
	switch o.verdict {
	case verdictRetry:
		res.State, res.NextAttemptAt, res.Throttled = herald.DeliveryPending, o.at, o.throttled
	case verdictUncertain:
		res.State, res.Reason = herald.DeliveryUncertain, o.reason
	case verdictDelivered:
		res.State, res.DeliveredAt = herald.DeliveryDelivered, e.now()
	default:
		res.State, res.Reason = herald.DeliveryFailed, o.reason
		if cls.Retryable || cls.Reason == botframework.ReasonServiceError || cls.Reason == botframework.ReasonUnknown || cls.Reason == botframework.ReasonUnauthorized {
			res.Error = botframework.Clip(fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err), maxErrText)
		}
		e.learn(ctx, d, cls.Reason)
	}
	return res
}

// learn records in the directory what a permanent failure says about the
// recipient, so later notifications skip it.
func (e *Engine) learn(ctx context.Context, d *herald.Delivery, r botframework.Reason) {
	var err error
	switch {
	case d.Kind == herald.KindPersonal && r == botframework.ReasonBlockedByUser:
		err = e.store.UserSetBlocked(ctx, d.UserID, true)
	case d.Kind == herald.KindPersonal && (r == botframework.ReasonNotInRoster || r == botframework.ReasonNotInstalled):
		err = e.store.UserSetInstalled(ctx, d.UserID, false, e.now())
	case d.Kind == herald.KindChannel && r == botframework.ReasonNotInRoster:
		err = e.store.TeamSetInstalled(ctx, d.TeamID, false, e.now())
	}
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		e.log.Warn("record recipient state", "delivery", d.ID, "reason", r, "err", err)
	}
}

// sendPersonal posts (or updates) a personal message, creating the
// conversation when none is known and recreating it once when Teams says
// it does not exist.
func (e *Engine) sendPersonal(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.UserID, act, res)
		if done || err != nil {
			return err
		}
	}
	conv := d.ConversationID
	recreated := false
	for {
		if conv == "" {
			err := c.do(ctx, func() error {
				id, err := cl.CreatePersonalConversation(ctx, e.cfg.Bot, d.UserID, d.TenantID)
				conv = id
				return err
			})
			if err != nil {
				return err
			}
			res.UserID, res.UserConversation = d.UserID, conv
			d.ConversationID = conv
		}
		var rr *botframework.ResourceResponse
		err := c.do(ctx, func() error {
			var err error
			rr, err = cl.SendToConversation(ctx, conv, act)
			return err
		})
		if err != nil && !recreated && botframework.Classify(err).Reason == botframework.ReasonConversationNotFound {
			recreated, conv = true, ""
			continue
		}
		if err != nil {
			return err
		}
		res.ConversationID, res.ActivityID = conv, rr.ID
		if key != "" {
			res.Message = &herald.MessageRef{Key: key, Target: d.UserID, Kind: herald.KindPersonal, ConversationID: conv,
				ActivityID: rr.ID, TenantID: d.TenantID, NotificationID: d.NotificationID}
		}
		return nil
	}
}

// updateInPlace updates the message sent earlier under key to target. It
// reports done when it updated; a message Teams no longer has is
// forgotten and a new one is posted instead.
func (e *Engine) updateInPlace(ctx context.Context, c *caller, cl *botframework.Client, key, target string, act *botframework.Activity, res *herald.DeliveryResult) (bool, error) {
	ref, err := e.store.MessageFind(ctx, key, target)
	if errors.Is(err, herald.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find message: %w", err)
	}
	err = c.do(ctx, func() error {
		_, err := cl.UpdateActivity(ctx, ref.ConversationID, ref.ActivityID, act)
		return err
	})
	switch r := botframework.Classify(err).Reason; {
	case err == nil:
		res.ConversationID, res.ActivityID, res.Updated = ref.ConversationID, ref.ActivityID, true
		ref.UpdatedAt = e.now()
		res.Message = &ref
		return true, nil
	case r == botframework.ReasonActivityNotFound || r == botframework.ReasonConversationNotFound:
		return false, nil
	}
	return false, err
}

// sendChannel posts a new thread in a channel, or updates the thread
// posted earlier under the notification's key.
func (e *Engine) sendChannel(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, svc string, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.ChannelID, act, res)
		if done || err != nil {
			return err
		}
	}
	var conv, activityID string
	err := c.do(ctx, func() error {
		var err error
		conv, activityID, err = cl.CreateChannelThread(ctx, e.cfg.Bot, d.TeamID, d.ChannelID, d.TenantID, act)
		return err
	})
	if err != nil {
		return err
	}
	res.ConversationID, res.ActivityID = conv, activityID
	if key != "" {
		res.Message = &herald.MessageRef{Key: key, Target: d.ChannelID, Kind: herald.KindChannel, ConversationID: conv,
			ActivityID: activityID, TenantID: d.TenantID, TeamID: d.TeamID, ChannelID: d.ChannelID,
			ServiceURL: svc, NotificationID: d.NotificationID}
	}
	return nil
}

// sendReply replies in a thread posted earlier (or updates the reply sent
// earlier under the notification's own key).
func (e *Engine) sendReply(ctx context.Context, it *item, c *caller, cl *botframework.Client, act *botframework.Activity, svc string, res *herald.DeliveryResult) error {
	d := &it.d
	key := it.rt.n.Request.Key
	if key != "" {
		done, err := e.updateInPlace(ctx, c, cl, key, d.Recipient, act, res)
		if done || err != nil {
			return err
		}
	}
	var rr *botframework.ResourceResponse
	err := c.do(ctx, func() error {
		var err error
		rr, err = cl.ReplyToActivity(ctx, d.ConversationID, d.ReplyToID, act)
		return err
	})
	if err != nil {
		return err
	}
	res.ConversationID, res.ActivityID = d.ConversationID, rr.ID
	if key != "" {
		res.Message = &herald.MessageRef{Key: key, Target: d.Recipient, Kind: herald.KindReply, ConversationID: d.ConversationID,
			ActivityID: rr.ID, TenantID: d.TenantID, TeamID: d.TeamID, ChannelID: d.ChannelID,
			ServiceURL: svc, NotificationID: d.NotificationID}
	}
	return nil
}

// serviceURL picks where to call for a delivery: its own serviceUrl, its
// tenant's, or the default.
func (e *Engine) serviceURL(ctx context.Context, d *herald.Delivery) string {
	if d.ServiceURL != "" {
		return d.ServiceURL
	}
	if v, ok := e.tenSvc.Load(d.TenantID); ok {
		if s := v.(string); s != "" {
			return s
		}
		return e.cfg.DefaultServiceURL
	}
	svc := ""
	if t, err := e.store.TenantGet(ctx, d.TenantID); err == nil {
		svc = t.ServiceURL
		e.tenSvc.Store(d.TenantID, svc)
	}
	if svc == "" {
		return e.cfg.DefaultServiceURL
	}
	return svc
}
