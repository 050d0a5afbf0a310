package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald"

	"herald/botframework"
)

// Kinds of background task.
const (
	taskTeamAdded       = "team.added" // roster fetch, then the team welcome
	taskTeamSync        = "team.sync"  // periodic roster refresh
	taskWelcomePersonal = "welcome.personal"
	taskMemberChannel   = "welcome.member.channel"
	taskMemberPersonal  = "welcome.member.personal"
	taskReply           = "reply"        // a command's answer, or a card update
	taskUserDetails     = "user.details" // a user's email and UPN (bot_details.go)
)

// errDrop marks a task failure that retrying cannot fix.
var errDrop = errors.New("task cannot succeed")

// work is the background loop started by Start.
func (b *Bot) work(ctx context.Context) {
	poll := time.NewTicker(b.cfg.TaskPoll)
	defer poll.Stop()
	var nextRoster time.Time
	for {
		if err := b.runDue(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("background tasks", "err", err)
		}
		if b.cfg.RosterRefresh > 0 && !b.now().Before(nextRoster) {
			if err := b.RefreshRosters(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("schedule roster refresh", "err", err)
			}
			nextRoster = b.now().Add(min(b.cfg.RosterRefresh/4, 10*time.Minute))
		}
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-poll.C:
		}
	}
}

// Flush runs every task and follow-up that is due now (and any that they
// queue) before returning, waiting for a batch the background worker is
// running. Tests and one-shot tools use it instead of Start.
func (b *Bot) Flush(ctx context.Context) error {
	if err := b.runDue(ctx); err != nil {
		return err
	}
	return b.runDueFollowUps(ctx)
}

// runDue claims and runs due tasks until none is left.
func (b *Bot) runDue(ctx context.Context) error {
	b.runMu.Lock()
	defer b.runMu.Unlock()
	for ctx.Err() == nil {
		tasks, err := b.store.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: b.now(), Lease: b.cfg.TaskLease,
			Limit: b.cfg.TaskWorkers * 4, ExcludeKinds: []string{taskFollowUp}})
		if err != nil {
			return fmt.Errorf("claim tasks: %w", err)
		}
		if len(tasks) == 0 {
			return nil
		}
		sem := make(chan struct{}, b.cfg.TaskWorkers)
		var wg sync.WaitGroup
		for _, t := range tasks {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				b.runTask(ctx, t)
			})
		}
		wg.Wait()
	}
	return ctx.Err()
}

// runTask runs one claimed task and records its outcome.
func (b *Bot) runTask(ctx context.Context, t herald.BotTask) {
	tctx, cancel := context.WithTimeout(ctx, b.cfg.TaskLease/2)
	err := b.handleTask(tctx, t)
	cancel()
	// Record the outcome even if the worker is stopping.
	sctx := context.WithoutCancel(ctx)
	if err == nil {
		if err := b.store.BotTaskDone(sctx, t.ID); err != nil {
			b.log.Error("finish task", "kind", t.Kind, "key", t.Key, "err", err)
		}
		return
	}
	c := botframework.Classify(err)
	drop := b.dropsTask(t, err)
	if ctx.Err() != nil && !drop {
		// Stopping: leave the task to its lease, so it runs after restart.
		return
	}
	if drop {
		b.log.Warn("task dropped", "kind", t.Kind, "key", t.Key, "attempts", t.Attempts, "err", err)
		if err := b.store.BotTaskDone(sctx, t.ID); err != nil {
			b.log.Error("drop task", "kind", t.Kind, "key", t.Key, "err", err)
		}
		return
	}
	wait := max(backoff(t.Attempts), c.RetryAfter)
	b.log.Info("task will retry", "kind", t.Kind, "key", t.Key, "attempts", t.Attempts, "in", wait, "err", err)
	if err := b.store.BotTaskRetry(sctx, t.ID, b.now().Add(wait), clipMessage(err.Error())); err != nil {
		b.log.Error("retry task", "kind", t.Kind, "key", t.Key, "err", err)
	}
}

// dropsTask reports whether a task that failed with err ends instead of
// being retried: the failure is permanent, or it was the last attempt.
func (b *Bot) dropsTask(t herald.BotTask, err error) bool {
	return errors.Is(err, errDrop) || errors.Is(err, herald.ErrUnreachable) ||
		botframework.Classify(err).Reason.Permanent() || t.Attempts >= b.cfg.TaskAttempts
}

// backoff is the wait before attempt n+1: 2s, 4s, 8s … capped at 10 min.
func backoff(attempts int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < attempts && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

func (b *Bot) handleTask(ctx context.Context, t herald.BotTask) error {
	switch t.Kind {
	case taskTeamAdded:
		var p teamAddedTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.teamAdded(ctx, p)
	case taskTeamSync:
		_, err := b.syncTeam(ctx, t.Key)
		return err
	case taskWelcomePersonal:
		var p personalWelcomeTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.welcomePersonal(ctx, p)
	case taskMemberChannel, taskMemberPersonal:
		var p memberWelcomeTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		if t.Kind == taskMemberChannel {
			return b.welcomeMemberChannel(ctx, p)
		}
		return b.welcomeMemberPersonal(ctx, p)
	case taskUserDetails:
		return b.runUserDetails(ctx, t)
	case taskReply:
		var p replyTask
		if err := decodeTask(t, &p); err != nil {
			return err
		}
		return b.reply(ctx, p)
	}
	return fmt.Errorf("unknown task kind %q: %w", t.Kind, errDrop)
}

func decodeTask(t herald.BotTask, v any) error {
	if err := json.Unmarshal(t.Payload, v); err != nil {
		return fmt.Errorf("decode %s task: %w: %w", t.Kind, err, errDrop)
	}
	return nil
}

// RefreshRosters queues a roster fetch for every installed team whose
// roster is older than RosterRefresh (the background worker calls it
// periodically); Flush or the worker then runs them.
func (b *Bot) RefreshRosters(ctx context.Context) error {
	if b.cfg.RosterRefresh < 0 {
		return nil
	}
	before := b.now().Add(-b.cfg.RosterRefresh)
	after := ""
	for {
		teams, err := b.store.TeamList(ctx, herald.TeamListParams{InstalledOnly: true, RosterBefore: before, After: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, t := range teams {
			if err := b.addTask(ctx, taskTeamSync, t.ID, struct{}{}); err != nil {
				return err
			}
		}
		if len(teams) < 500 {
			return nil
		}
		after = teams[len(teams)-1].ID
	}
}

// replyTask is a message (or card update) queued by a command.
type replyTask struct {
	ConversationID string                 `json:"conversationId"`
	ServiceURL     string                 `json:"serviceUrl"`
	UpdateID       string                 `json:"updateId,omitempty"`
	Activity       *botframework.Activity `json:"activity"`
}

func (b *Bot) reply(ctx context.Context, p replyTask) error {
	if p.Activity == nil {
		return fmt.Errorf("reply task without activity: %w", errDrop)
	}
	if p.UpdateID != "" {
		a := *p.Activity
		a.ID = p.UpdateID
		a.Conversation = &botframework.ConversationAccount{ID: p.ConversationID}
		_, err := b.cfg.Connector.Client(p.ServiceURL).UpdateActivity(ctx, p.ConversationID, p.UpdateID, &a)
		if err != nil {
			return fmt.Errorf("update card: %w", err)
		}
		return nil
	}
	conv, err := b.store.ConversationGet(ctx, p.ConversationID)
	if errors.Is(err, herald.ErrNotFound) {
		conv = herald.Conversation{ID: p.ConversationID, ServiceURL: p.ServiceURL}
	} else if err != nil {
		return err
	}
	_, err = b.sender.SendToConversation(ctx, conv, p.Activity, SendOptions{})
	return err
}
