package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"herald"
)

// The engine's job runner also runs the jobs of other rooms (the bot's
// roster fetches, welcomes and follow-ups): they are River jobs of one kind,
// herald_task, dispatched to the herald.JobHandler given to HandleJobs.

// Defaults of jobs of other rooms.
const (
	defaultTaskTimeout  = 2 * time.Minute
	defaultTaskAttempts = 8
)

// taskArgs is a herald.Job as River stores it. Jobs with a key are unique
// by kind and key while they wait or run.
type taskArgs struct {
	JobKind string          `json:"k" river:"unique"`
	Key     string          `json:"key,omitempty" river:"unique"`
	Args    json.RawMessage `json:"a,omitempty"`
	Timeout time.Duration   `json:"to,omitempty"`
}

// Kind implements river.JobArgs.
func (taskArgs) Kind() string { return "herald_task" }

type taskWorker struct {
	river.WorkerDefaults[taskArgs]
	e *Engine
}

// Work implements river.Worker: it runs the job through the registered
// handler and turns its verdict into River's.
func (w *taskWorker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	h := w.e.taskHandler.Load()
	if h == nil {
		return errors.New("no job handler registered (HandleJobs)")
	}
	j := herald.Job{Kind: job.Args.JobKind, Key: job.Args.Key, Args: job.Args.Args, Timeout: job.Args.Timeout,
		MaxAttempts: job.MaxAttempts, Attempt: job.Attempt, Final: job.Attempt >= job.MaxAttempts}
	err := (*h)(ctx, j)
	var ra *herald.RetryAfterError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, herald.ErrPermanent):
		w.e.log.Warn("job failed for good", "kind", j.Kind, "key", j.Key, "attempt", j.Attempt, "err", err)
		return river.JobCancel(err)
	case errors.As(err, &ra) && !j.Final && ra.After > w.e.cfg.Retry.Backoff(j.Attempt, w.e.cfg.Rand()):
		w.e.log.Info("job waits as Teams asked", "kind", j.Kind, "key", j.Key, "in", ra.After, "err", err)
		return river.JobSnooze(ra.After)
	}
	w.e.log.Info("job failed", "kind", j.Kind, "key", j.Key, "attempt", j.Attempt, "final", j.Final, "err", err)
	return err
}

// Timeout is the job's own, else two minutes: a job of a node that died
// runs again elsewhere once this long has passed since it started.
func (w *taskWorker) Timeout(job *river.Job[taskArgs]) time.Duration {
	if job.Args.Timeout > 0 {
		return job.Args.Timeout
	}
	return defaultTaskTimeout
}

// HandleJobs registers h as the handler of every herald.Job enqueued with
// Enqueue. Register it before Start; jobs wait until a handler is there.
func (e *Engine) HandleJobs(h herald.JobHandler) { e.taskHandler.Store(&h) }

// Enqueue implements herald.JobQueue: it stores j as a River job, and
// reports false when a job with the same kind and key waits or runs.
func (e *Engine) Enqueue(ctx context.Context, j herald.Job) (bool, error) {
	return e.enqueue(j, func(args taskArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
		return e.river.Insert(ctx, args, opts)
	})
}

// EnqueueTx implements herald.JobQueue: Enqueue inside tx.
func (e *Engine) EnqueueTx(ctx context.Context, tx *sql.Tx, j herald.Job) (bool, error) {
	return e.enqueue(j, func(args taskArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
		return e.river.InsertTx(ctx, tx, args, opts)
	})
}

// enqueue inserts j with insert and reports whether it was added.
func (e *Engine) enqueue(j herald.Job, insert func(taskArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error)) (bool, error) {
	args, opts, err := e.taskInsert(j)
	if err != nil {
		return false, err
	}
	res, err := insert(args, opts)
	if err != nil {
		return false, fmt.Errorf("enqueue %s job: %w", j.Kind, err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// taskInsert turns a herald.Job into River's insert parameters.
func (e *Engine) taskInsert(j herald.Job) (taskArgs, *river.InsertOpts, error) {
	if j.Kind == "" {
		return taskArgs{}, nil, errors.New("enqueue job: empty kind")
	}
	if j.Args != nil && !json.Valid(j.Args) {
		return taskArgs{}, nil, fmt.Errorf("enqueue %s job: args are not JSON", j.Kind)
	}
	opts := &river.InsertOpts{Queue: queueOf(j.Priority), MaxAttempts: j.MaxAttempts, ScheduledAt: j.RunAt}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = defaultTaskAttempts
	}
	if j.Key != "" {
		// Unique while it waits or runs; once done, the same job may come
		// again (a re-install's welcome).
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
			rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	}
	return taskArgs{JobKind: j.Kind, Key: j.Key, Args: j.Args, Timeout: j.Timeout}, opts, nil
}

// moveLegacyTasks hands the tasks an older Herald left in its own table
// to River, in one transaction with their deletion there.
func (e *Engine) moveLegacyTasks(ctx context.Context) (int, error) {
	return e.store.LegacyTasksMove(ctx, func(ctx context.Context, tx *sql.Tx, jobs []herald.Job) error {
		params := make([]river.InsertManyParams, 0, len(jobs))
		for _, j := range jobs {
			args, opts, err := e.taskInsert(j)
			if err != nil {
				return err
			}
			params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
		}
		_, err := e.river.InsertManyTx(ctx, tx, params)
		return err
	})
}

// Drain waits until no job is waiting to run now or running (jobs
// scheduled later do not count), or ctx ends. Tests and one-shot tools use
// it to let every job that is due finish.
func (e *Engine) Drain(ctx context.Context) error {
	busy := []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning,
		rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateScheduled}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for quiet := 0; quiet < 2; {
		res, err := e.river.JobList(ctx, river.NewJobListParams().States(busy...).First(100))
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		due := slices.ContainsFunc(res.Jobs, func(j *rivertype.JobRow) bool {
			return j.State == rivertype.JobStateAvailable || j.State == rivertype.JobStateRunning ||
				j.State == rivertype.JobStatePending || !j.ScheduledAt.After(time.Now().Add(time.Second))
		})
		if due {
			quiet = 0
		} else {
			quiet++
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
