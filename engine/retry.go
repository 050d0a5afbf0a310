package engine

import (
	"time"

	"herald"

	"herald/botframework"
)

// RetryPolicy bounds the retries of transient failures (5xx, 412, network
// errors). Throttled calls (429) are retried after their Retry-After and do
// not count as attempts; every retry also stops at the notification's
// deadline. Permanent failures are never retried.
type RetryPolicy struct {
	// MaxAttempts is the most calls one delivery makes, throttled calls
	// excluded. Zero means 6.
	MaxAttempts int `json:"maxAttempts"`
	// BaseDelay is the backoff before the first retry; each retry doubles
	// it. Zero means 1 s.
	BaseDelay time.Duration `json:"baseDelay"`
	// MaxDelay caps one backoff. Zero means 1 minute.
	MaxDelay time.Duration `json:"maxDelay"`
}

func (p RetryPolicy) resolved() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Minute
	}
	p.MaxDelay = max(p.MaxDelay, p.BaseDelay)
	return p
}

// Backoff returns the delay before retry number n (1 for the first retry),
// given u drawn uniformly from [0, 1): exponential, capped at MaxDelay, with
// "equal jitter" (half of the delay fixed, half random) so that many
// deliveries failing together do not retry together.
func (p RetryPolicy) Backoff(n int, u float64) time.Duration {
	p = p.resolved()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	u = min(max(u, 0), 1)
	return d/2 + time.Duration(float64(d/2)*u)
}

// verdict is what to do with a delivery after a call failed.
type verdict int

const (
	verdictRetry     verdict = iota + 1 // transient: try again at outcome.at
	verdictFailed                       // permanent: record the failure
	verdictUncertain                    // may have reached Teams: do not resend
	verdictDelivered                    // the answer was garbled but the call most likely succeeded
)

// outcome is decide's answer.
type outcome struct {
	verdict   verdict
	reason    herald.Reason
	at        time.Time // when to retry
	throttled bool      // the retry is for a 429: not counted as an attempt
}

// attemptInfo is what decide needs to know about the delivery.
type attemptInfo struct {
	attempts    int       // calls made so far, this one included, throttled ones excluded
	now         time.Time // when the call failed
	deadline    time.Time // no retry after it
	atLeastOnce bool
	policy      RetryPolicy
	jitter      float64 // uniform in [0, 1)
}

// openReasons are the failures that are not retryable by nature but may
// succeed on another try: a server error, a token problem, the unknown, or
// a call the caller cancelled.
var openReasons = map[botframework.Reason]bool{
	botframework.ReasonServiceError: true, botframework.ReasonUnauthorized: true,
	botframework.ReasonUnknown: true, botframework.ReasonCanceled: true,
}

// uncertainReason names why a call's outcome is unknown.
func uncertainReason(r botframework.Reason) herald.Reason {
	switch r {
	case botframework.ReasonCanceled:
		return herald.ReasonInterrupted
	case botframework.ReasonTimeout, botframework.ReasonGatewayTimeout:
		return herald.ReasonTimedOut
	case botframework.ReasonNetwork:
		return herald.ReasonConnectionLost
	}
	return herald.ReasonServerError
}

// decide turns the Connector's classification of a failed call into what
// to do with the delivery. It does not handle conversation-not-found, which
// the sender answers by recreating the conversation once.
func decide(c botframework.Classification, in attemptInfo) outcome {
	p := in.policy.resolved()
	retryAt := func(at time.Time, throttled bool) outcome {
		if at.After(in.deadline) {
			return outcome{verdict: verdictFailed, reason: herald.ReasonOther}
		}
		return outcome{verdict: verdictRetry, at: at, throttled: throttled}
	}
	transient := func() outcome {
		if in.attempts >= p.MaxAttempts {
			return outcome{verdict: verdictFailed, reason: herald.ReasonOther}
		}
		return retryAt(in.now.Add(p.Backoff(in.attempts, in.jitter)), false)
	}
	switch c.Reason {
	case botframework.ReasonThrottled:
		wait := c.RetryAfter
		if wait <= 0 {
			wait = p.Backoff(1, in.jitter)
		}
		return retryAt(in.now.Add(wait), true)
	case botframework.ReasonBadResponse:
		return outcome{verdict: verdictDelivered}
	}
	open := !c.NotProcessed && (c.Retryable || openReasons[c.Reason])
	if open && !in.atLeastOnce {
		// Teams may have acted on the request: resending risks a duplicate.
		return outcome{verdict: verdictUncertain, reason: uncertainReason(c.Reason)}
	}
	if open || c.Retryable || openReasons[c.Reason] {
		return transient()
	}
	return outcome{verdict: verdictFailed, reason: herald.FailureReason(c.Reason)}
}
