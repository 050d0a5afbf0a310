package bot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"herald"

	"herald/botframework"
)

// followUpLoop runs follow-ups as they come due, at most FollowUpWorkers
// at once, until ctx ends; it returns after the running ones.
func (b *Bot) followUpLoop(ctx context.Context) {
	poll := time.NewTicker(b.cfg.TaskPoll)
	defer poll.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	free := make(chan struct{}, b.cfg.FollowUpWorkers)
	for range b.cfg.FollowUpWorkers {
		free <- struct{}{}
	}
	for {
		if n := len(free); n > 0 {
			tasks, err := b.claimFollowUps(ctx, n)
			if err != nil && ctx.Err() == nil {
				b.log.Error("claim follow-ups", "err", err)
			}
			for _, t := range tasks {
				<-free
				wg.Go(func() {
					defer func() {
						free <- struct{}{}
						b.wakeFollowUps()
					}()
					b.runFollowUp(ctx, t)
				})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-b.laterWake:
		case <-poll.C:
		}
	}
}

func (b *Bot) wakeFollowUps() {
	select {
	case b.laterWake <- struct{}{}:
	default:
	}
}

func (b *Bot) claimFollowUps(ctx context.Context, n int) ([]herald.BotTask, error) {
	return b.store.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: b.now(), Lease: b.cfg.FollowUpLease, Limit: n,
		Kinds: []string{taskFollowUp}})
}

// runDueFollowUps runs every follow-up due now, FollowUpWorkers at a
// time, and returns when none is left (Flush).
func (b *Bot) runDueFollowUps(ctx context.Context) error {
	for ctx.Err() == nil {
		tasks, err := b.claimFollowUps(ctx, b.cfg.FollowUpWorkers)
		if err != nil {
			return err
		}
		if len(tasks) == 0 {
			return nil
		}
		var wg sync.WaitGroup
		for _, t := range tasks {
			wg.Go(func() { b.runFollowUp(ctx, t) })
		}
		wg.Wait()
	}
	return ctx.Err()
}

// runFollowUp runs one claimed follow-up, keeping its lease, and records
// the outcome.
func (b *Bot) runFollowUp(ctx context.Context, t herald.BotTask) {
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := b.keepLease(run, cancel, t)
	err := b.followUp(run, t)
	superseded := lost() || errors.Is(err, herald.ErrConflict)
	sctx := context.WithoutCancel(ctx)
	switch {
	case superseded:
		// Another claim took the follow-up over after this one's lease
		// ran out (a stalled process): the outcome is its to record.
		b.log.Warn("follow-up taken over by another claim", "key", t.Key, "attempts", t.Attempts)
		return
	case err == nil:
		if err := b.store.BotTaskDone(sctx, t.ID); err != nil {
			b.log.Error("finish follow-up", "key", t.Key, "err", err)
		}
		return
	}
	c := botframework.Classify(err)
	permanent := errors.Is(err, errDrop) || errors.Is(err, herald.ErrUnreachable) || c.Reason.Permanent()
	drop := permanent || t.Attempts >= b.cfg.TaskAttempts
	switch {
	case ctx.Err() != nil && !permanent:
		// Stopping (not the follow-up's fault): due again at once, so the
		// next start runs it without waiting for the lease.
		if err := b.store.BotTaskRetry(sctx, t.ID, b.now(), "interrupted: the bot stopped"); err != nil {
			b.log.Error("release follow-up", "key", t.Key, "err", err)
		}
	case drop:
		b.log.Warn("follow-up dropped", "key", t.Key, "attempts", t.Attempts, "err", err)
		if err := b.store.BotTaskDone(sctx, t.ID); err != nil {
			b.log.Error("drop follow-up", "key", t.Key, "err", err)
		}
	default:
		wait := max(backoff(t.Attempts), c.RetryAfter)
		b.log.Info("follow-up will retry", "key", t.Key, "attempts", t.Attempts, "in", wait, "err", err)
		if err := b.store.BotTaskRetry(sctx, t.ID, b.now().Add(wait), clipMessage(err.Error())); err != nil {
			b.log.Error("retry follow-up", "key", t.Key, "err", err)
		}
	}
}

// keepLease renews the claim on t every third of FollowUpLease until the
// returned function is called; that function stops the renewals and
// reports whether the claim was lost (another claim holds the task, or it
// is gone), in which case cancel was called.
func (b *Bot) keepLease(ctx context.Context, cancel context.CancelFunc, t herald.BotTask) func() bool {
	done := make(chan struct{})
	var lost atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(max(b.cfg.FollowUpLease/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := b.store.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: t.ID, Attempts: t.Attempts, RunAfter: b.now().Add(b.cfg.FollowUpLease)})
			switch {
			case errors.Is(err, herald.ErrConflict) || errors.Is(err, herald.ErrNotFound):
				lost.Store(true)
				cancel()
				return
			case err != nil && ctx.Err() == nil:
				b.log.Warn("renew follow-up lease", "key", t.Key, "err", err)
			}
		}
	})
	return func() bool {
		close(done)
		wg.Wait()
		return lost.Load()
	}
}
