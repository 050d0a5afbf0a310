package engine

import (
	"testing"
	"time"

	"herald"

	"herald/botframework"
)

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	tests := []struct {
		n    int
		u    float64
		want time.Duration
	}{
		{1, 0, 500 * time.Millisecond},
		{1, 0.999999, time.Second - time.Microsecond/2},
		{2, 0, time.Second},
		{3, 0.5, 3 * time.Second},
		{4, 1, 8 * time.Second},
		{5, 0, 5 * time.Second}, // 16 s capped at 10 s
		{50, 0, 5 * time.Second},
	}
	for _, tt := range tests {
		got := p.Backoff(tt.n, tt.u)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.u, got, tt.want)
		}
	}
	if got := (RetryPolicy{}).Backoff(1, 0); got != 500*time.Millisecond {
		t.Errorf("default first backoff = %v, want 500ms", got)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	pol := RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Minute}
	// cls is a failure Teams certainly did not act on; open one whose
	// outcome is unknown (a 500, a 504, a transport failure after the
	// request was written).
	cls := func(r botframework.Reason, after time.Duration) botframework.Classification {
		return botframework.Classification{Reason: r, Retryable: r.Retryable(), RetryAfter: after, NotProcessed: true}
	}
	open := func(r botframework.Reason) botframework.Classification {
		return botframework.Classification{Reason: r, Retryable: r.Retryable()}
	}
	tests := []struct {
		name        string
		c           botframework.Classification
		attempts    int
		deadline    time.Duration
		atLeastOnce bool
		want        outcome
	}{
		{"429 honours Retry-After", cls(botframework.ReasonThrottled, 7*time.Second), 1, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(7 * time.Second), throttled: true}},
		{"429 after many attempts still retries", cls(botframework.ReasonThrottled, time.Second), 3, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(time.Second), throttled: true}},
		{"429 past the deadline fails", cls(botframework.ReasonThrottled, 2*time.Hour), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonOther}},
		{"503 backs off", cls(botframework.ReasonServiceUnavailable, 0), 1, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"412 backs off more on attempt 2", cls(botframework.ReasonPrecondition, 0), 2, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(time.Second)}},
		{"503 out of attempts fails", cls(botframework.ReasonServiceUnavailable, 0), 3, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonOther}},
		{"500 is uncertain", open(botframework.ReasonServiceError), 1, time.Hour, false,
			outcome{verdict: verdictUncertain, reason: herald.ReasonServerError}},
		{"500 retries at least once", open(botframework.ReasonServiceError), 1, time.Hour, true,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"504 is uncertain", open(botframework.ReasonGatewayTimeout), 1, time.Hour, false,
			outcome{verdict: verdictUncertain, reason: herald.ReasonTimedOut}},
		{"504 retries at least once", open(botframework.ReasonGatewayTimeout), 1, time.Hour, true,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"401 retries (a token problem; nothing was done)", cls(botframework.ReasonUnauthorized, 0), 1, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"redirect fails", cls(botframework.ReasonRedirect, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonOther}},
		{"connection refused retries", cls(botframework.ReasonNetwork, 0), 1, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"connection lost after writing is uncertain", open(botframework.ReasonNetwork), 1, time.Hour, false,
			outcome{verdict: verdictUncertain, reason: herald.ReasonConnectionLost}},
		{"connection lost retries at least once", open(botframework.ReasonNetwork), 1, time.Hour, true,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"cancelled before sending retries", cls(botframework.ReasonCanceled, 0), 1, time.Hour, false,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"blocked never retries", cls(botframework.ReasonBlockedByUser, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonBlocked}},
		{"not in roster is uninstalled", cls(botframework.ReasonNotInRoster, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonUninstalled}},
		{"not installed is uninstalled", cls(botframework.ReasonNotInstalled, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonUninstalled}},
		{"disabled by admin", cls(botframework.ReasonDisabledByAdmin, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonDisabledByAdmin}},
		{"too large", cls(botframework.ReasonMessageTooLarge, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonMessageTooLarge}},
		{"conversation not found", cls(botframework.ReasonConversationNotFound, 0), 2, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonConversationNotFound}},
		{"bad request", cls(botframework.ReasonBadRequest, 0), 1, time.Hour, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonOther}},
		{"timeout is uncertain", open(botframework.ReasonTimeout), 1, time.Hour, false,
			outcome{verdict: verdictUncertain, reason: herald.ReasonTimedOut}},
		{"timeout retries at least once", open(botframework.ReasonTimeout), 1, time.Hour, true,
			outcome{verdict: verdictRetry, at: now.Add(500 * time.Millisecond)}},
		{"cancelled mid-call is uncertain", open(botframework.ReasonCanceled), 1, time.Hour, false,
			outcome{verdict: verdictUncertain, reason: herald.ReasonInterrupted}},
		{"garbled 2xx counts as delivered", cls(botframework.ReasonBadResponse, 0), 1, time.Hour, false,
			outcome{verdict: verdictDelivered}},
		{"retry past the deadline fails", cls(botframework.ReasonNetwork, 0), 1, 100 * time.Millisecond, false,
			outcome{verdict: verdictFailed, reason: herald.ReasonOther}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := decide(tt.c, attemptInfo{attempts: tt.attempts, now: now, deadline: now.Add(tt.deadline),
				atLeastOnce: tt.atLeastOnce, policy: pol, jitter: 0})
			if got != tt.want {
				t.Fatalf("decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}
