package graph

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// BatchRetry is Batch that sends again, under policy, the items answered
// with a retryable status (429, 502, 503, 504, each item throttled on its
// own) or left unanswered by a batch that failed retryably, together with
// the items answered 424 because one of those failed. It waits the longest
// Retry-After among them first (see RetryPolicy.Delay); an item whose wait
// exceeds the policy keeps its answer. The answers are those of each
// item's last attempt; the error is that of the last round's call.
func (c *Client) BatchRetry(ctx context.Context, policy RetryPolicy, reqs []BatchRequest) ([]BatchResponse, error) {
	wire, err := normalizeBatch(reqs)
	if err != nil {
		return nil, err
	}
	out := make([]BatchResponse, len(wire))
	for i := range wire {
		out[i].ID = wire[i].ID
	}
	err = c.batch(ctx, wire, out)
	for attempt := 2; ; attempt++ {
		again, wait := retrySet(policy, attempt, wire, out)
		if len(again) == 0 {
			return out, err
		}
		if policy.sleep(ctx, wait) != nil {
			return out, err
		}
		sub := make([]wireRequest, len(again))
		subOut := make([]BatchResponse, len(again))
		for n, i := range again {
			sub[n] = wire[i]
			sub[n].DependsOn = keepDeps(wire[i].DependsOn, wire, again)
		}
		err = c.batch(ctx, sub, subOut)
		for n, i := range again {
			out[i] = subOut[n]
		}
	}
}

// retrySet returns the indices of the items to send again at attempt
// number attempt, in order, and how long to wait first.
func retrySet(policy RetryPolicy, attempt int, wire []wireRequest, out []BatchResponse) ([]int, time.Duration) {
	var wait time.Duration
	again := map[string]bool{}
	for i := range out {
		if out[i].err == nil {
			continue
		}
		if d, ok := policy.Delay(attempt, out[i].err); ok {
			again[wire[i].ID] = true
			wait = max(wait, d)
		}
	}
	if len(again) == 0 {
		return nil, 0
	}
	// A 424 follows its parents when one is sent again and the others
	// succeeded; until no more are added.
	index := make(map[string]int, len(wire))
	for i := range wire {
		index[wire[i].ID] = i
	}
	settled := func(d string) bool { return again[d] || out[index[d]].err == nil }
	for added := true; added; {
		added = false
		for i := range out {
			deps := wire[i].DependsOn
			if again[wire[i].ID] || out[i].Status != http.StatusFailedDependency ||
				!slices.ContainsFunc(deps, func(d string) bool { return again[d] }) || !allOf(deps, settled) {
				continue
			}
			again[wire[i].ID] = true
			added = true
		}
	}
	var idx []int
	for i := range wire {
		if again[wire[i].ID] {
			idx = append(idx, i)
		}
	}
	return idx, wait
}

// keepDeps returns the dependencies among the requests sent again: those
// not sent again already succeeded, and naming them would make Graph
// refuse the batch.
func keepDeps(deps []string, wire []wireRequest, again []int) []string {
	var out []string
	for _, d := range deps {
		for _, i := range again {
			if wire[i].ID == d {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func allOf(deps []string, ok func(string) bool) bool {
	for _, d := range deps {
		if !ok(d) {
			return false
		}
	}
	return true
}
