package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// scripted answers /organization with the given statuses in turn (each
// with its Retry-After, "" for none), then 200.
func scripted(t *testing.T, steps ...[2]string) (*Client, *fakeGraph) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	return newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(steps) {
			writeRaw(w, 200, `{"value":[{"id":"t1"}]}`)
			return
		}
		if ra := steps[i][1]; ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		switch steps[i][0] {
		case "429":
			writeRaw(w, 429, `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`)
		case "503":
			writeRaw(w, 503, ``)
		case "504":
			writeRaw(w, 504, ``)
		case "403":
			writeRaw(w, 403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
		case "404":
			writeRaw(w, 404, `{"error":{"code":"NotFound"}}`)
		case "400":
			writeRaw(w, 400, `{"error":{"code":"BadRequest"}}`)
		}
	})
}

func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		steps  [][2]string
		policy RetryPolicy
		calls  int
		waits  []time.Duration
		kind   Kind // of the final error; "" for success
	}{
		{"429 with Retry-After then success", [][2]string{{"429", "3"}}, RetryPolicy{}, 2, []time.Duration{3 * time.Second}, ""},
		{"429, 503 without header, 504", [][2]string{{"429", "3"}, {"503", ""}, {"504", "1"}}, RetryPolicy{}, 4,
			[]time.Duration{3 * time.Second, 2 * time.Second, time.Second}, ""},
		{"backoff doubles", [][2]string{{"503", ""}, {"503", ""}, {"503", ""}}, RetryPolicy{Backoff: 100 * time.Millisecond}, 4,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, ""},
		{"bounded attempts", [][2]string{{"429", "1"}, {"429", "1"}, {"429", "1"}}, RetryPolicy{Attempts: 3}, 3,
			[]time.Duration{time.Second, time.Second}, KindThrottled},
		{"Retry-After beyond MaxWait", [][2]string{{"429", "600"}}, RetryPolicy{MaxWait: time.Minute}, 1, nil, KindThrottled},
		{"403 is not retried", [][2]string{{"403", "5"}}, RetryPolicy{}, 1, nil, KindPermissionMissing},
		{"404 is not retried", [][2]string{{"404", ""}}, RetryPolicy{}, 1, nil, KindNotFound},
		{"400 is not retried", [][2]string{{"400", ""}}, RetryPolicy{}, 1, nil, KindBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := scripted(t, tt.steps...)
			sleeps := &recordSleeps{}
			tt.policy.Sleep = sleeps.sleep
			org, err := Retry(context.Background(), tt.policy, c.Organization)
			if Classify(err).Kind != tt.kind || (err == nil) != (org != nil) {
				t.Errorf("Retry = %+v, %v; want kind %q", org, err, tt.kind)
			}
			if n := len(f.requests()); n != tt.calls {
				t.Errorf("%d calls, want %d", n, tt.calls)
			}
			if w := sleeps.waits(); !slices.Equal(w, tt.waits) {
				t.Errorf("waits = %v, want %v", w, tt.waits)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	c, f := scripted(t, [2]string{"429", "30"}, [2]string{"429", "30"})
	ctx, cancel := context.WithCancel(context.Background())
	policy := RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}
	_, err := Retry(ctx, policy, c.Organization)
	if Classify(err).Kind != KindThrottled || len(f.requests()) != 1 {
		t.Errorf("err = %v after %d calls; want the 429, 1 call", err, len(f.requests()))
	}
	// The default sleeper honours the context too.
	done, stop := context.WithCancel(context.Background())
	stop()
	if err := (RetryPolicy{}).sleep(done, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on a cancelled context = %v", err)
	}
}

func TestPagerRetriesAPage(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	var base string
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case n == 1:
			writeRaw(w, 200, `{"value":[{"id":"u1"}],"@odata.nextLink":"`+base+`/users?$skiptoken=2"}`)
		case n == 2:
			w.Header().Set("Retry-After", "4")
			writeRaw(w, 429, `{"error":{"code":"TooManyRequests"}}`)
		default:
			writeRaw(w, 200, `{"value":[{"id":"u2"}]}`)
		}
	})
	base = f.base()
	sleeps := &recordSleeps{}
	users, err := c.Users(UserQuery{}).All(context.Background(), RetryPolicy{Sleep: sleeps.sleep})
	if err != nil || len(users) != 2 || !slices.Equal(sleeps.waits(), []time.Duration{4 * time.Second}) {
		t.Fatalf("users %v, err %v, waits %v", users, err, sleeps.waits())
	}
	if reqs := f.requests(); reqs[2].Query != "$skiptoken=2" {
		t.Errorf("the retried page went to %q", reqs[2].Query)
	}
}
