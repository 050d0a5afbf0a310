package engine

import "time"

// Conversation pacing keeps exact call times only for windows up to
// exactHorizon (Teams' 1, 2 and 30 s ones), and only while a conversation
// has calls that recent: its memory follows the rate of calls, not the
// number of recipients. Longer windows (Teams' 3600 s) are counted in a
// callSketch, which may overcount (so Herald waits a little early) but
// never undercounts.
const (
	exactHorizon = time.Minute
	sweepEvery   = 5 * time.Second
)

// convTracker paces conversations.
type convTracker struct {
	exact   []Window // periods up to exactHorizon
	long    []Window // longer periods, counted in sketch
	horizon int64    // longest exact period
	keep    int      // largest exact Max
	recent  map[uint64]*series
	paused  map[uint64]int64
	sketch  *callSketch
	swept   int64
}

func newConvTracker(windows []Window) convTracker {
	c := convTracker{recent: map[uint64]*series{}, paused: map[uint64]int64{}}
	var longest time.Duration
	for _, w := range windows {
		if w.Period <= exactHorizon {
			c.exact = append(c.exact, w)
			c.horizon = max(c.horizon, int64(w.Period))
			c.keep = max(c.keep, w.Max)
		} else {
			c.long = append(c.long, w)
			longest = max(longest, w.Period)
		}
	}
	if len(c.long) > 0 {
		c.sketch = newCallSketch(longest)
	}
	return c
}

func (c *convTracker) wait(key uint64, now int64) time.Duration {
	var wait time.Duration
	if p, ok := c.paused[key]; ok {
		if p > now {
			wait = time.Duration(p - now)
		} else {
			delete(c.paused, key)
		}
	}
	var times []int64
	flying := 0
	if s := c.recent[key]; s != nil {
		times, flying = s.t, s.flying
	}
	wait = max(wait, waitTimes(times, flying, now, c.exact))
	for _, w := range c.long {
		if n := c.sketch.count(key, now, w.Period) + flying; n >= w.Max {
			wait = max(wait, c.sketch.untilOldestLeaves(key, now, w.Period))
		}
	}
	return wait
}

func (c *convTracker) start(key uint64) {
	s := c.recent[key]
	if s == nil {
		s = &series{}
		c.recent[key] = s
	}
	s.flying++
}

// cancel forgets a reserved call that was not made.
func (c *convTracker) cancel(key uint64) {
	if s := c.recent[key]; s != nil {
		s.flying = max(0, s.flying-1)
	}
}

func (c *convTracker) finish(key uint64, at int64) {
	s := c.recent[key]
	if s == nil {
		s = &series{}
		c.recent[key] = s
	}
	s.flying = max(0, s.flying-1)
	if len(c.exact) > 0 {
		s.record(at, c.horizon, c.keep)
	}
	if c.sketch != nil {
		c.sketch.add(key, at)
	}
	if at-c.swept >= int64(sweepEvery) {
		c.sweep(at)
	}
}

// sweep forgets conversations with no call in flight and none inside the
// exact windows.
func (c *convTracker) sweep(now int64) {
	c.swept = now
	old := now - c.horizon
	for k, s := range c.recent {
		if s.flying == 0 && (len(s.t) == 0 || s.t[len(s.t)-1] <= old) {
			delete(c.recent, k)
		}
	}
	for k, p := range c.paused {
		if p <= now {
			delete(c.paused, k)
		}
	}
}

// callSketch counts calls per conversation over long windows in fixed
// memory: one counter array per minute (a count-min sketch of depth one).
// Conversations that share a counter add up, so counts can only be too
// high; a call is counted in its minute, so a window is in effect up to a
// minute longer. Both errors make Herald wait, never exceed a limit.
type callSketch struct {
	buckets []sketchBucket
}

type sketchBucket struct {
	minute int64    // which minute the counts are for
	counts []uint16 // by key modulo sketchWidth; nil until used
}

const (
	sketchBucket0 = int64(time.Minute)
	sketchWidth   = 1 << 16
)

func newCallSketch(longest time.Duration) *callSketch {
	n := int(int64(longest)/sketchBucket0) + 2
	return &callSketch{buckets: make([]sketchBucket, n)}
}

func (k *callSketch) add(key uint64, at int64) {
	m := at / sketchBucket0
	b := k.bucket(m)
	if b.counts == nil {
		b.counts = make([]uint16, sketchWidth)
	}
	if b.minute != m {
		clear(b.counts)
		b.minute = m
	}
	if c := &b.counts[key%sketchWidth]; *c < ^uint16(0) {
		*c++
	}
}

func (k *callSketch) bucket(minute int64) *sketchBucket {
	n := int64(len(k.buckets))
	return &k.buckets[((minute%n)+n)%n]
}

// count returns at least the number of calls to key in (now-period, now].
func (k *callSketch) count(key uint64, now int64, period time.Duration) int {
	first, last := (now-int64(period))/sketchBucket0, now/sketchBucket0
	n := 0
	for m := first; m <= last; m++ {
		b := k.bucket(m)
		if b.counts != nil && b.minute == m {
			n += int(b.counts[key%sketchWidth])
		}
	}
	return n
}

// untilOldestLeaves is how long until the oldest minute holding calls to
// key leaves the window (its calls may be as late as the minute's end).
func (k *callSketch) untilOldestLeaves(key uint64, now int64, period time.Duration) time.Duration {
	first, last := (now-int64(period))/sketchBucket0, now/sketchBucket0
	for m := first; m <= last; m++ {
		if b := k.bucket(m); b.counts != nil && b.minute == m && b.counts[key%sketchWidth] > 0 {
			return max(time.Duration((m+1)*sketchBucket0+int64(period)-now), pollFlying)
		}
	}
	return pollFlying
}
