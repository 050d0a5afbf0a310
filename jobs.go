package herald

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Job is a unit of durable background work that a room other than the
// engine owns (the bot's roster fetches, member welcomes, command replies
// and follow-ups). The engine's job runner stores it, runs it through the
// JobHandler registered for it, retries it with backoff when it fails, and
// runs it again after a crash.
type Job struct {
	// Kind names the work; the handler dispatches on it. Required.
	Kind string
	// Key, when set, makes the job unique by Kind and Key while it waits
	// or runs: enqueueing it again then adds nothing.
	Key string
	// Args are the job's arguments, as JSON.
	Args json.RawMessage
	// RunAt is when the job may run first; zero means now.
	RunAt time.Time
	// Priority PriorityHigh runs the job in the queue of welcomes and
	// alerts; anything else in the bulk queue.
	Priority Priority
	// MaxAttempts is how many times the job is tried; zero means the
	// runner's default.
	MaxAttempts int
	// Timeout bounds one run; zero means the runner's default. A job still
	// running this long after it started on a node that has died is run
	// again elsewhere.
	Timeout time.Duration

	// Attempt counts the runs so far, this one included (set when run).
	Attempt int
	// Final is set on the last attempt the runner will make.
	Final bool
}

// JobQueue stores jobs durably for the runner. It reports whether it
// added the job (false: a unique job with the same Kind and Key waits or
// runs). EnqueueTx stores it inside tx (a transaction of the same
// database), so that it commits with the caller's rows.
type JobQueue interface {
	Enqueue(ctx context.Context, j Job) (bool, error)
	EnqueueTx(ctx context.Context, tx *sql.Tx, j Job) (bool, error)
}

// JobHandler runs one job. Returning nil ends the job; an error wrapping
// ErrPermanent ends it as failed; any other error is retried with backoff
// (a RetryAfter error waits at least as long as it says).
type JobHandler func(ctx context.Context, j Job) error

// ErrPermanent marks a failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// RetryAfterError asks the job runner to wait at least After before the
// next attempt (Teams' Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// TxFunc runs inside a store's transaction, so that what it writes (a
// job of the engine's runner) commits or rolls back with the store's own
// rows.
type TxFunc func(ctx context.Context, tx *sql.Tx) error
