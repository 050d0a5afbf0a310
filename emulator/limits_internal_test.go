package emulator

import (
	"math/rand/v2"
	"testing"
	"time"
)

// refLimiter is the obvious model of sliding windows: keep every accepted
// time, count those inside each window.
type refLimiter struct {
	windows []Window
	times   []time.Time
}

func (r *refLimiter) allow(now time.Time) bool {
	for _, w := range r.windows {
		n := 0
		for _, t := range r.times {
			if t.After(now.Add(-w.Period)) && !t.After(now) {
				n++
			}
		}
		if n >= w.Max {
			return false
		}
	}
	r.times = append(r.times, now)
	return true
}

// TestLimiterMatchesModel drives the limiter and the model with the same
// random schedules, including bursts at one instant. The longest window is
// shortened from Teams' hour so that every window bites.
func TestLimiterMatchesModel(t *testing.T) {
	t.Parallel()
	windows := []Window{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}, {5 * time.Minute, 150}}
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		lm := newLimiter(Limits{Send: windows, TenantRPS: -1})
		ref := &refLimiter{windows: windows}
		now := time.Unix(1_700_000_000, 0)
		for i := range 2000 {
			switch rng.IntN(4) {
			case 0:
				now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
			case 1:
				now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			}
			got := lm.allow(classSend, "tenant", "conv", now) == nil
			if want := ref.allow(now); got != want {
				t.Fatalf("seed %d step %d at %v: limiter %v, model %v", seed, i, now, got, want)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		windows []Window
		sends   []time.Duration // offsets of accepted sends
		at      time.Duration
		want    time.Duration
		limit   string
	}{
		{"1s full", []Window{{time.Second, 2}}, []time.Duration{0, 300 * time.Millisecond}, 500 * time.Millisecond, 500 * time.Millisecond, "send/1s"},
		{"2s full", []Window{{time.Second, 5}, {2 * time.Second, 2}}, []time.Duration{0, 1500 * time.Millisecond}, 1600 * time.Millisecond, 400 * time.Millisecond, "send/2s"},
		{"zero max", []Window{{time.Second, 0}}, nil, 0, time.Second, "send/1s"},
		{"two full, longest wait", []Window{{time.Second, 1}, {10 * time.Second, 2}}, []time.Duration{0, 5 * time.Second}, 5500 * time.Millisecond, 4500 * time.Millisecond, "send/1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lm := newLimiter(Limits{Send: tt.windows, TenantRPS: -1})
			for _, s := range tt.sends {
				if ref := lm.allow(classSend, "t", "c", t0.Add(s)); ref != nil {
					t.Fatalf("send at %v refused: %+v", s, ref)
				}
			}
			ref := lm.allow(classSend, "t", "c", t0.Add(tt.at))
			if ref == nil || ref.retryAfter != tt.want || ref.limit != tt.limit || ref.cause != causeConversation {
				t.Fatalf("got %+v, want retry %v by %s", ref, tt.want, tt.limit)
			}
		})
	}
}

func TestLimiterSweep(t *testing.T) {
	t.Parallel()
	lm := newLimiter(Limits{TenantRPS: -1})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 8192 {
		lm.allow(classSend, "t", string(rune('a'+i%26))+time.Duration(i).String(), t0)
	}
	lm.allow(classSend, "t", "last", t0.Add(2*time.Hour))
	for range 8191 {
		lm.allow(classRead, "t", "", t0.Add(2*time.Hour))
	}
	if n := len(lm.convs); n > 2 {
		t.Fatalf("%d series kept after the windows passed", n)
	}
}
