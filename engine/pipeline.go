package engine

import (
	"context"

	"herald"

	"herald/botframework"
)

// The pipeline from the scheduler to Teams and back: feed takes paced
// items, the batcher marks them sending (onMarked hands them to the
// workers), a worker makes the calls, and the batcher records the result
// (onRecorded frees the slot and tells the item's sender run).

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
