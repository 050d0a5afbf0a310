package engine

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

// Window is one sliding window of a rate limit: at most Max calls in any
// Period.
type Window struct {
	Period time.Duration `json:"period"`
	Max    int           `json:"max"`
}

// TeamsConversationWindows is Teams' published per-bot-per-thread limit for
// sends and conversation creations: 7 per 1 s, 8 per 2 s, 60 per 30 s and
// 1800 per 3600 s.
func TeamsConversationWindows() []Window {
	return []Window{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}, {time.Hour, 1800}}
}

// DefaultTenantRPS is Teams' published limit of calls per second per app per
// tenant.
const DefaultTenantRPS = 50

// Limits are the rate limits Herald applies before each call to Teams, so
// that a run against Teams' real limits sees no 429. The zero value is
// Teams' published table.
type Limits struct {
	// TenantRPS is the most calls per second (any sliding second) per
	// tenant. Zero means DefaultTenantRPS; negative means no tenant limit.
	TenantRPS int `json:"tenantRps"`
	// Conversation are the per-conversation windows, counting every call
	// to one conversation (a user's personal chat, or a channel with its
	// threads). Nil means TeamsConversationWindows; an empty non-nil slice
	// means no per-conversation limit.
	Conversation []Window `json:"conversation"`
	// Disabled turns pacing off (for measuring against an unlimited
	// emulator). A 429 still delays the delivery that got it.
	Disabled bool `json:"disabled"`
}

func (l Limits) resolved() Limits {
	if l.TenantRPS == 0 {
		l.TenantRPS = DefaultTenantRPS
	}
	if l.Conversation == nil {
		l.Conversation = TeamsConversationWindows()
	}
	ws := append([]Window(nil), l.Conversation...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Period < ws[j].Period })
	l.Conversation = ws
	return l
}

func (l Limits) validate() error {
	for i, w := range l.Conversation {
		if w.Period <= 0 || w.Max <= 0 {
			return fmt.Errorf("limits.conversation[%d]: period and max must be positive", i)
		}
	}
	return nil
}

// MinDuration is the least time n calls to one key can take under windows,
// measured from the first call to the last: the schedule that sends each
// call as early as the windows allow.
func MinDuration(n int, windows []Window) time.Duration {
	if n <= 1 {
		return 0
	}
	times := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		var t time.Duration
		if i > 0 {
			t = times[i-1]
		}
		for _, w := range windows {
			if w.Max > 0 && len(times) >= w.Max {
				t = max(t, times[len(times)-w.Max]+w.Period)
			}
		}
		times = append(times, t)
	}
	return times[n-1]
}

// pollFlying is how soon a caller blocked only by calls in flight looks
// again; completions also wake waiters early.
const pollFlying = 5 * time.Millisecond

// series holds the completion times of the recent calls of one key,
// ascending, and the number of its calls in flight. A call in flight
// counts in every window until it completes, and is then recorded at its
// completion time, which is no earlier than when Teams saw it: so the
// windows Teams counts can never hold more calls than ours.
type series struct {
	t      []int64 // unix nanoseconds, ascending
	flying int
}

// waitTimes returns how long until one more call fits in every window, given
// the ascending completion times and the calls in flight; 0 if it fits now.
func waitTimes(times []int64, flying int, now int64, windows []Window) time.Duration {
	var wait int64
	for _, w := range windows {
		need := w.Max - flying
		if need <= 0 {
			wait = max(wait, int64(pollFlying))
			continue
		}
		if len(times) < need {
			continue
		}
		if d := times[len(times)-need] + int64(w.Period) - now; d > wait {
			wait = d
		}
	}
	return time.Duration(wait)
}

// record adds a completion at at, keeping at most keep times no older than
// horizon.
func (s *series) record(at int64, horizon int64, keep int) {
	i := len(s.t)
	for i > 0 && s.t[i-1] > at {
		i--
	}
	s.t = append(s.t, 0)
	copy(s.t[i+1:], s.t[i:])
	s.t[i] = at
	drop := 0
	for drop < len(s.t) && s.t[drop] <= at-horizon {
		drop++
	}
	if extra := len(s.t) - drop - keep; extra > 0 {
		drop += extra
	}
	if drop > 0 {
		s.t = append(s.t[:0], s.t[drop:]...)
	}
}

// tenantPace is one tenant's pacing state.
type tenantPace struct {
	series
	pausedUntil int64
	// slowAt is when the last 429 arrived and slowFactor the fraction of
	// the rate allowed right after it; the rate recovers linearly over
	// slowRecovery.
	slowAt     int64
	slowFactor float64
}

// Slow-down after a 429: the tenant's rate drops to slowStep of what it was
// (at least slowFloor of the limit) and recovers over slowRecovery.
const (
	slowStep     = 0.7
	slowFloor    = 0.2
	slowRecovery = 30 * time.Second
	// maxTenantPause bounds how long one 429 pauses a whole tenant; the
	// throttled conversation itself waits the full Retry-After.
	maxTenantPause = time.Second
)

// factor returns the fraction of the tenant rate allowed at now.
func (tp *tenantPace) factor(now int64) float64 {
	if tp.slowFactor == 0 {
		return 1
	}
	f := tp.slowFactor + (1-tp.slowFactor)*float64(now-tp.slowAt)/float64(slowRecovery)
	if f >= 1 {
		tp.slowFactor = 0
		return 1
	}
	return f
}

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

// pacer applies Limits before calls: per tenant and per conversation.
// Callers reserve a call (which counts as in flight) and report its
// completion. It is safe for concurrent use.
type pacer struct {
	mu      sync.Mutex
	lim     Limits
	tenants map[string]*tenantPace
	convs   convTracker
	seed    maphash.Seed
	now     func() time.Time
	// changed is closed and replaced whenever capacity may have freed up.
	changed chan struct{}
}

func newPacer(l Limits, now func() time.Time) *pacer {
	l = l.resolved()
	return &pacer{
		lim:     l,
		tenants: map[string]*tenantPace{},
		convs:   newConvTracker(l.Conversation),
		seed:    maphash.MakeSeed(),
		now:     now,
		changed: make(chan struct{}),
	}
}

// convKey hashes a conversation key (a user id or channel id).
func (p *pacer) convKey(s string) uint64 { return maphash.String(p.seed, s) }

func (p *pacer) tenant(id string) *tenantPace {
	tp := p.tenants[id]
	if tp == nil {
		tp = &tenantPace{}
		p.tenants[id] = tp
	}
	return tp
}

// tenantWaitLocked returns how long until the tenant may make one more
// call.
func (p *pacer) tenantWaitLocked(id string, now int64) time.Duration {
	if p.lim.Disabled {
		return 0
	}
	tp := p.tenants[id]
	if tp == nil {
		return 0
	}
	var wait time.Duration
	if tp.pausedUntil > now {
		wait = time.Duration(tp.pausedUntil - now)
	}
	if p.lim.TenantRPS < 0 {
		return wait
	}
	limit := max(1, int(float64(p.lim.TenantRPS)*tp.factor(now)))
	return max(wait, waitTimes(tp.t, tp.flying, now, []Window{{time.Second, limit}}))
}

// tryReserveLocked reserves one call to conversation conv of tenant if both
// allow it now, returning 0; otherwise it returns how long to wait and
// reserves nothing.
func (p *pacer) tryReserveLocked(tenant string, conv uint64, now int64) time.Duration {
	if p.lim.Disabled {
		return 0
	}
	if w := p.tenantWaitLocked(tenant, now); w > 0 {
		return w
	}
	if w := p.convs.wait(conv, now); w > 0 {
		return w
	}
	p.tenant(tenant).flying++
	p.convs.start(conv)
	return 0
}

// tenantWait returns how long until the tenant may make one more call.
func (p *pacer) tenantWait(tenant string, now int64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tenantWaitLocked(tenant, now)
}

// tryReserve is tryReserveLocked with the lock.
func (p *pacer) tryReserve(tenant string, conv uint64, now int64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tryReserveLocked(tenant, conv, now)
}

// cancel gives back a reservation that was not used for a call.
func (p *pacer) cancel(tenant string, conv uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim.Disabled {
		return
	}
	if tp := p.tenants[tenant]; tp != nil {
		tp.flying = max(0, tp.flying-1)
	}
	p.convs.cancel(conv)
	p.wakeLocked()
}

// reserve waits until one call to conv in tenant is allowed and reserves it.
func (p *pacer) reserve(ctx context.Context, tenant string, conv uint64) error {
	for {
		p.mu.Lock()
		w := p.tryReserveLocked(tenant, conv, p.now().UnixNano())
		changed := p.changed
		p.mu.Unlock()
		if w == 0 {
			return nil
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// done records the completion of a reserved call.
func (p *pacer) done(tenant string, conv uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim.Disabled {
		return
	}
	now := p.now().UnixNano()
	tp := p.tenant(tenant)
	tp.flying = max(0, tp.flying-1)
	if p.lim.TenantRPS > 0 {
		tp.record(now, int64(time.Second), p.lim.TenantRPS)
	}
	p.convs.finish(conv, now)
	p.wakeLocked()
}

// throttled reacts to a 429 on a call to conv in tenant: the conversation
// waits the full Retry-After, the tenant pauses for at most maxTenantPause
// and its rate drops, recovering over slowRecovery. It applies even when
// pacing is disabled.
func (p *pacer) throttled(tenant string, conv uint64, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now().UnixNano()
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	if until := now + int64(retryAfter); until > p.convs.paused[conv] {
		p.convs.paused[conv] = until
	}
	tp := p.tenant(tenant)
	if until := now + int64(min(retryAfter, maxTenantPause)); until > tp.pausedUntil {
		tp.pausedUntil = until
	}
	tp.slowFactor = max(slowFloor, tp.factor(now)*slowStep)
	tp.slowAt = now
}

// wakeLocked wakes everyone waiting for capacity.
func (p *pacer) wakeLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// rate returns the calls per second a tenant is allowed now (0 for no
// limit).
func (p *pacer) rate(tenant string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim.Disabled || p.lim.TenantRPS < 0 {
		return 0
	}
	f := 1.0
	if tp := p.tenants[tenant]; tp != nil {
		f = tp.factor(p.now().UnixNano())
	}
	return float64(p.lim.TenantRPS) * f
}
