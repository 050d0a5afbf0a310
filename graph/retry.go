package graph

import (
	"context"
	"time"
)

// Defaults of [RetryPolicy].
const (
	DefaultAttempts = 4
	DefaultMaxWait  = 2 * time.Minute
	DefaultBackoff  = time.Second
)

// RetryPolicy bounds how [Retry] and [Client.BatchRetry] repeat a call.
// The zero value of every field selects its default.
type RetryPolicy struct {
	// Attempts is the most calls made in all, the first included; default
	// DefaultAttempts.
	Attempts int
	// MaxWait caps one wait; default DefaultMaxWait. A Retry-After longer
	// than MaxWait ends the retries with the error, so the caller can
	// reschedule the work rather than hold a worker that long.
	MaxWait time.Duration
	// Backoff is the first wait when the answer has no Retry-After, doubled
	// for each further attempt (up to MaxWait); default DefaultBackoff.
	Backoff time.Duration
	// Sleep waits d, or returns ctx's error when ctx ends first; default a
	// timer. Tests inject a sleeper that only records d.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p RetryPolicy) attempts() int {
	if p.Attempts <= 0 {
		return DefaultAttempts
	}
	return p.Attempts
}

// Delay says how long to wait before attempt number next (2 for the first
// retry) after err, and whether to retry at all: only a retryable error
// (429, 502, 503, 504, a timeout, a network failure), only while attempts
// remain, and only when the wait fits in MaxWait. Retry-After wins over
// the exponential backoff.
func (p RetryPolicy) Delay(next int, err error) (time.Duration, bool) {
	c := Classify(err)
	if !c.Retryable || next > p.attempts() || next < 2 {
		return 0, false
	}
	maxWait := p.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	if c.RetryAfter > 0 {
		return c.RetryAfter, c.RetryAfter <= maxWait
	}
	d := p.Backoff
	if d <= 0 {
		d = DefaultBackoff
	}
	for i := 2; i < next && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait), true
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry calls fn until it succeeds, fails with an error that is not
// retryable, or the policy says stop (see [RetryPolicy.Delay]); it returns
// fn's last result. A 4xx other than 429 is never retried. When ctx ends
// during a wait, Retry returns fn's last error.
func Retry[T any](ctx context.Context, p RetryPolicy, fn func(context.Context) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := fn(ctx)
		if err == nil {
			return v, nil
		}
		d, ok := p.Delay(attempt+1, err)
		if !ok {
			return v, err
		}
		if p.sleep(ctx, d) != nil {
			return v, err
		}
	}
}
