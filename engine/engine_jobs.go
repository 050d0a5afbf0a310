package engine

import (
	"context"
	"fmt"
	"time"

	"herald"

	"github.com/riverqueue/river"
)

// expandArgs is the River job that turns a notification's audience into
// deliveries. It is unique per notification.
type expandArgs struct {
	NotificationID string `json:"n" river:"unique"`
}

// Kind implements river.JobArgs.
func (expandArgs) Kind() string { return "herald_expand" }

// sendArgs is the River job that delivers one notification's pending
// deliveries in one tenant. It is unique per notification and tenant while
// it waits or runs; a job for the same pair inserted by Retry or by
// recovery is not (see kickSenders), and the two then share the work.
type sendArgs struct {
	NotificationID string `json:"n" river:"unique"`
	TenantID       string `json:"t" river:"unique"`
}

// Kind implements river.JobArgs.
func (sendArgs) Kind() string { return "herald_send" }

type expandWorker struct {
	river.WorkerDefaults[expandArgs]
	e *Engine
}

// Work implements river.Worker.
func (w *expandWorker) Work(ctx context.Context, job *river.Job[expandArgs]) error {
	return w.e.expand(ctx, job.Args.NotificationID)
}

// Timeout disables River's job timeout: expansion yields by itself.
func (w *expandWorker) Timeout(*river.Job[expandArgs]) time.Duration { return -1 }

type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	e *Engine
}

// Work implements river.Worker.
func (w *sendWorker) Work(ctx context.Context, job *river.Job[sendArgs]) error {
	return w.e.runSender(ctx, job.Args.NotificationID, job.Args.TenantID)
}

// Timeout disables River's job timeout: senders yield by themselves.
func (w *sendWorker) Timeout(*river.Job[sendArgs]) time.Duration { return -1 }

func queueOf(p herald.Priority) string {
	if p == herald.PriorityHigh {
		return queueHigh
	}
	return queueBulk
}

// expandInsert returns the notification's expansion job.
func (e *Engine) expandInsert(n herald.Notification) (expandArgs, *river.InsertOpts) {
	opts := &river.InsertOpts{
		Queue:      queueOf(n.Request.Priority),
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	}
	if at := n.NotBefore(); at.After(e.now()) {
		opts.ScheduledAt = at
	}
	return expandArgs{NotificationID: n.ID}, opts
}

// insertExpand makes sure the notification has its expansion job.
func (e *Engine) insertExpand(ctx context.Context, n herald.Notification) error {
	args, opts := e.expandInsert(n)
	if _, err := e.river.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("insert expansion job: %w", err)
	}
	return nil
}

// insertSenders makes sure each tenant has a sender job for the
// notification (unique: nothing is inserted where one waits or runs).
func (e *Engine) insertSenders(ctx context.Context, id string, p herald.Priority, tenants []string) error {
	if len(tenants) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(tenants))
	for _, t := range tenants {
		params = append(params, river.InsertManyParams{
			Args: sendArgs{NotificationID: id, TenantID: t},
			InsertOpts: &river.InsertOpts{
				Queue:      queueOf(p),
				UniqueOpts: river.UniqueOpts{ByArgs: true},
			},
		})
	}
	if _, err := e.river.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("insert sender jobs: %w", err)
	}
	return nil
}

// kickDelay is how long after a Retry or a recovery its extra sender jobs
// start: a sender still running for the pair sees the reopened deliveries
// itself or, if it just finished, the extra job does.
const kickDelay = 2 * time.Second

// kickSenders starts sender jobs for every tenant with pending deliveries
// of a notification. unique jobs dedupe against waiting and running
// ones; otherwise extra jobs are inserted to start after kickDelay, for
// deliveries reopened while a sender may be finishing (River's uniqueness
// would skip the insert while it still counts as running).
func (e *Engine) kickSenders(ctx context.Context, id string, unique bool) error {
	n, err := e.store.NotificationGet(ctx, id)
	if err != nil {
		return err
	}
	if n.State.Final() {
		return nil
	}
	if !n.Expanded {
		return e.insertExpand(ctx, n)
	}
	tenants, err := e.store.DeliveryTenants(ctx, id)
	if err != nil {
		return err
	}
	if len(tenants) == 0 {
		e.tryFinish(ctx, id)
		return nil
	}
	if unique {
		return e.insertSenders(ctx, id, n.Request.Priority, tenants)
	}
	params := make([]river.InsertManyParams, 0, len(tenants))
	for _, t := range tenants {
		params = append(params, river.InsertManyParams{
			Args: sendArgs{NotificationID: id, TenantID: t},
			InsertOpts: &river.InsertOpts{
				Queue:       queueOf(n.Request.Priority),
				ScheduledAt: e.now().Add(kickDelay),
			},
		})
	}
	if _, err := e.river.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("insert sender jobs: %w", err)
	}
	return nil
}

// ensureJobs gives every unfinished notification the jobs it needs; run at
// start, after settling what the previous run left.
func (e *Engine) ensureJobs(ctx context.Context) error {
	after := ""
	for {
		ns, err := e.store.NotificationList(ctx, herald.NotificationListParams{
			States: []herald.NotificationState{herald.NotificationScheduled, herald.NotificationExpanding, herald.NotificationSending},
			After:  after,
			Limit:  500,
		})
		if err != nil {
			return err
		}
		for _, n := range ns {
			if err := e.kickSenders(ctx, n.ID, true); err != nil {
				e.log.Error("ensure jobs", "id", n.ID, "err", err)
			}
		}
		if len(ns) < 500 {
			return nil
		}
		after = ns[len(ns)-1].ID
	}
}
