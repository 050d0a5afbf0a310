package engine

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time           { return c.t }
func (c *fakeClock) add(d time.Duration)      { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock                { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func (c *fakeClock) ns() int64                { return c.t.UnixNano() }
func (c *fakeClock) since(t0 time.Time) int64 { return int64(c.t.Sub(t0) / time.Millisecond) }

func TestWaitTimes(t *testing.T) {
	t.Parallel()
	sec := int64(time.Second)
	ws := TeamsConversationWindows()
	tests := []struct {
		name   string
		times  []int64 // completion times, ns
		flying int
		now    int64
		want   time.Duration
	}{
		{"empty", nil, 0, 10 * sec, 0},
		{"six in a second fit", []int64{1, 2, 3, 4, 5, 6}, 0, 10, 0},
		{"seventh waits for the first to leave the second", []int64{0, 1, 2, 3, 4, 5, 6}, 0, 100, time.Duration(sec - 100)},
		{"in flight counts", []int64{0, 1, 2, 3, 4, 5}, 1, 100, time.Duration(sec - 100)},
		{"all in flight polls", nil, 7, 0, pollFlying},
		{"eight in two seconds", []int64{0, 1, sec + 1, sec + 2, sec + 3, sec + 4, sec + 5, sec + 6}, 0, sec + 500, time.Duration(sec - 500)},
		{"both windows, the later wins", []int64{0, sec + 1, sec + 2, sec + 3, sec + 4, sec + 5, sec + 6, sec + 7}, 0, sec + 500, time.Duration(sec - 499)},
		{"a call exactly one period old has left the window", []int64{0, 1, 2, 3, 4, 5, 6}, 0, sec, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := waitTimes(tt.times, tt.flying, tt.now, ws); got != tt.want {
				t.Fatalf("waitTimes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSeriesRecordTrims(t *testing.T) {
	t.Parallel()
	var s series
	for i := range 10 {
		s.record(int64(i*100), 500, 4)
	}
	if len(s.t) != 4 || s.t[0] != 600 || s.t[3] != 900 {
		t.Fatalf("kept %v, want the last 4", s.t)
	}
	s.record(2000, 500, 4) // everything else is older than the horizon
	if len(s.t) != 1 || s.t[0] != 2000 {
		t.Fatalf("kept %v, want [2000]", s.t)
	}
	s.record(1900, 500, 4) // out of order lands sorted
	if len(s.t) != 2 || s.t[0] != 1900 || s.t[1] != 2000 {
		t.Fatalf("kept %v, want sorted", s.t)
	}
}

// simulate runs n calls to one conversation of one tenant as fast as the
// pacer allows, each call taking latency, and returns their start times
// (ms from the first) and the completion times.
func simulate(t *testing.T, l Limits, n int, latency time.Duration) []int64 {
	t.Helper()
	c := newFakeClock()
	p := newPacer(l, c.now)
	conv := p.convKey("c:channel")
	t0 := c.t
	var starts []int64
	for len(starts) < n {
		w := p.tryReserve("t", conv, c.ns())
		if w > 0 {
			c.add(w)
			continue
		}
		starts = append(starts, c.since(t0))
		c.add(latency)
		p.done("t", conv)
	}
	return starts
}

func TestPacerConversationWindows(t *testing.T) {
	t.Parallel()
	starts := simulate(t, Limits{}, 200, 0)
	check := func(period time.Duration, max int) {
		p := int64(period / time.Millisecond)
		for i := range starts {
			j := i
			for j < len(starts) && starts[j] < starts[i]+p {
				j++
			}
			if j-i > max {
				t.Fatalf("%d calls within %v starting at %d ms, limit %d", j-i, period, starts[i], max)
			}
		}
	}
	for _, w := range TeamsConversationWindows() {
		check(w.Period, w.Max)
	}
	last := time.Duration(starts[len(starts)-1]) * time.Millisecond
	min := MinDuration(200, TeamsConversationWindows())
	if last != min {
		t.Fatalf("200 calls took %v, the minimum is %v", last, min)
	}
}

func TestPacerTenantRate(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	p := newPacer(Limits{TenantRPS: 50}, c.now)
	t0 := c.t
	calls := 0
	for calls < 500 {
		conv := p.convKey(string(rune('a' + calls%26)))
		// Many conversations: only the tenant limit binds.
		conv ^= uint64(calls) << 20
		if w := p.tryReserve("t", conv, c.ns()); w > 0 {
			c.add(w)
			continue
		}
		calls++
		p.done("t", conv)
	}
	if got := c.t.Sub(t0); got < 9*time.Second || got > 9*time.Second+time.Millisecond {
		t.Fatalf("500 calls at 50/s took %v, want 9 s (bursts of 50 per second)", got)
	}
}

func TestPacerThrottleSlowsTenant(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	p := newPacer(Limits{TenantRPS: 50}, c.now)
	conv := p.convKey("u:1")
	other := p.convKey("u:2")
	p.throttled("t", conv, 5*time.Second)
	if w := p.tryReserve("t", other, c.ns()); w != maxTenantPause {
		t.Fatalf("tenant wait after 429 = %v, want %v", w, maxTenantPause)
	}
	c.add(maxTenantPause)
	if w := p.tryReserve("t", conv, c.ns()); w != 5*time.Second-maxTenantPause {
		t.Fatalf("throttled conversation wait = %v, want the rest of Retry-After", w)
	}
	if r := p.rate("t"); r > 50*slowStep+0.5 || r < 50*slowStep*0.9 {
		t.Fatalf("rate after 429 = %v, want about %v", r, 50*slowStep)
	}
	c.add(slowRecovery)
	if r := p.rate("t"); r != 50 {
		t.Fatalf("rate after recovery = %v, want 50", r)
	}
}

func TestPacerDisabledAndCancel(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	p := newPacer(Limits{Disabled: true}, c.now)
	for range 1000 {
		if w := p.tryReserve("t", 1, c.ns()); w != 0 {
			t.Fatalf("disabled pacer made a call wait %v", w)
		}
	}
	q := newPacer(Limits{TenantRPS: 1, Conversation: []Window{}}, c.now)
	if w := q.tryReserve("t", 1, c.ns()); w != 0 {
		t.Fatalf("first call waits %v", w)
	}
	if w := q.tryReserve("t", 2, c.ns()); w == 0 {
		t.Fatal("second call with one in flight allowed at 1/s")
	}
	q.cancel("t", 1)
	if w := q.tryReserve("t", 2, c.ns()); w != 0 {
		t.Fatalf("after cancel the call waits %v", w)
	}
}

func TestPacerReserveBlocksUntilAllowed(t *testing.T) {
	t.Parallel()
	// The clock moves only when the test moves it, and remembers the last
	// time it was read: the time the pacer granted a reservation at.
	var now, lastRead, reads atomic.Int64
	now.Store(time.Unix(1_700_000_000, 0).UnixNano())
	clock := func() time.Time {
		v := now.Load()
		lastRead.Store(v)
		reads.Add(1)
		return time.Unix(0, v)
	}
	const period = 50 * time.Millisecond
	p := newPacer(Limits{TenantRPS: -1, Conversation: []Window{{Period: period, Max: 1}}}, clock)
	conv := p.convKey("c:x")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only against hanging
	defer cancel()
	if err := p.reserve(ctx, "t", conv); err != nil {
		t.Fatal(err)
	}
	p.done("t", conv)
	t0 := now.Load()
	granted := make(chan error, 1)
	seen := reads.Load()
	go func() { granted <- p.reserve(ctx, "t", conv) }()
	// Each step waits until the waiting caller has looked at the clock,
	// then moves it 10 ms and wakes the caller.
	const step = 10 * time.Millisecond
	for {
		for reads.Load() == seen {
			select {
			case err := <-granted:
				t.Fatalf("reserve returned %v at +%v without reading the clock", err, time.Duration(lastRead.Load()-t0))
			case <-ctx.Done():
				t.Fatal("the waiting caller never looked at the clock")
			default:
				goruntime.Gosched()
			}
		}
		select {
		case err := <-granted:
			if err != nil {
				t.Fatal(err)
			}
			if at := time.Duration(lastRead.Load() - t0); at != period {
				t.Fatalf("second call granted at +%v, want +%v (one call per %v)", at, period, period)
			}
			p.done("t", conv)
			return
		default:
		}
		if time.Duration(now.Load()-t0) > period {
			t.Fatalf("second call not granted at +%v", time.Duration(now.Load()-t0))
		}
		seen = reads.Load()
		now.Add(int64(step))
		p.cancel("other", p.convKey("c:other")) // wakes the waiting caller
	}
}

func TestPacerReserveCancelled(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	p := newPacer(Limits{TenantRPS: -1, Conversation: []Window{{Period: time.Hour, Max: 1}}}, c.now)
	conv := p.convKey("c:x")
	if err := p.reserve(context.Background(), "t", conv); err != nil {
		t.Fatal(err)
	}
	p.done("t", conv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.reserve(ctx, "t", conv); !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve with a cancelled context and no room = %v, want context.Canceled", err)
	}
}

func TestMinDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		ws   []Window
		want time.Duration
	}{
		{1, TeamsConversationWindows(), 0},
		{7, TeamsConversationWindows(), 0},
		{8, TeamsConversationWindows(), time.Second},
		{9, TeamsConversationWindows(), 2 * time.Second},
		{3000, []Window{{time.Second, 50}}, 59 * time.Second},
		{61, TeamsConversationWindows(), 30 * time.Second},
	}
	for _, tt := range tests {
		if got := MinDuration(tt.n, tt.ws); got != tt.want {
			t.Errorf("MinDuration(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestConvTrackerForgetsQuietConversations(t *testing.T) {
	t.Parallel()
	c := newConvTracker(TeamsConversationWindows())
	sec := int64(time.Second)
	for k := uint64(1); k <= 1000; k++ {
		c.start(k)
		c.finish(k, 0)
	}
	c.start(5000) // in flight: kept
	if len(c.recent) != 1001 {
		t.Fatalf("recent = %d", len(c.recent))
	}
	c.start(1)
	c.finish(1, 61*sec) // sweeps
	if len(c.recent) != 2 {
		t.Fatalf("after a minute recent = %d, want the one just called and the one in flight", len(c.recent))
	}
}

func TestConvTrackerLongWindow(t *testing.T) {
	t.Parallel()
	// 3 calls per hour, with the short windows out of the way.
	c := newConvTracker([]Window{{time.Second, 100}, {time.Hour, 3}})
	min := int64(time.Minute)
	for i := range 3 {
		at := int64(i) * 10 * min
		if w := c.wait(7, at); w != 0 {
			t.Fatalf("call %d waits %v", i, w)
		}
		c.start(7)
		c.finish(7, at)
	}
	now := 30 * min
	w := c.wait(7, now)
	if w <= 0 {
		t.Fatal("fourth call in the hour allowed")
	}
	// The first call (minute 0) leaves the window at 60 min; the sketch
	// counts by minute, so the wait ends at 61 min at the latest.
	if got := now + int64(w); got < 60*min || got > 61*min {
		t.Fatalf("wait ends at %v, want between 60 and 61 min", time.Duration(got))
	}
	if w := c.wait(8, now); w != 0 {
		t.Fatalf("another conversation waits %v", w)
	}
	c.sweep(now)
	if len(c.recent) != 0 {
		t.Fatalf("quiet conversation kept: %d", len(c.recent))
	}
	if w := c.wait(7, now); w <= 0 {
		t.Fatal("the sketch forgot the calls when the exact record went")
	}
}

func TestCallSketchMemoryIsFixed(t *testing.T) {
	t.Parallel()
	k := newCallSketch(time.Hour)
	for i := range 200_000 {
		k.add(uint64(i)*0x9e3779b97f4a7c15, int64(i)*int64(time.Millisecond)*50)
	}
	used := 0
	for _, b := range k.buckets {
		if b.counts != nil {
			used++
		}
	}
	if used > len(k.buckets) || len(k.buckets) != 62 {
		t.Fatalf("buckets = %d (used %d)", len(k.buckets), used)
	}
}
