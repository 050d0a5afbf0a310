package engine

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

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
