package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Window is one sliding window of a rate limit: at most Max operations in
// any Period. A refused request does not count.
type Window struct {
	Period time.Duration // the window's length
	Max    int           // the most operations accepted in it
}

type windowJSON struct {
	Seconds float64 `json:"seconds"`
	Max     int     `json:"max"`
}

// MarshalJSON writes {"seconds":1,"max":7}.
func (w Window) MarshalJSON() ([]byte, error) {
	return json.Marshal(windowJSON{Seconds: w.Period.Seconds(), Max: w.Max})
}

// UnmarshalJSON reads {"seconds":1,"max":7}.
func (w *Window) UnmarshalJSON(b []byte) error {
	var v windowJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Seconds <= 0 || v.Max < 0 || math.IsInf(v.Seconds, 0) || v.Seconds > 1e6 {
		return fmt.Errorf("window needs seconds in (0, 1e6] and max >= 0")
	}
	*w = Window{Period: time.Duration(v.Seconds * float64(time.Second)), Max: v.Max}
	return nil
}

// Limits are the Connector's rate limits (Teams' "per bot per thread" table
// and the per-app-per-tenant limit). Every Connector request counts towards
// its tenant; sends, creates and reads also count towards their conversation
// (a channel thread counts towards its channel; team calls towards the team).
// The zero value is Teams' published table.
type Limits struct {
	// Disabled turns every limit off.
	Disabled bool
	// Send limits sends, replies, updates and deletes per conversation. Nil
	// means 7 per 1 s, 8 per 2 s, 60 per 30 s and 1800 per 3600 s; an empty
	// non-nil slice means no per-conversation limit.
	Send []Window
	// Create limits conversation creations per resulting conversation
	// (the 1:1 chat, or the channel of a new thread). Nil means the Send
	// table.
	Create []Window
	// Read limits roster, member and team reads per conversation. Nil means
	// 14 per 1 s, 16 per 2 s, 120 per 30 s and 3600 per 3600 s.
	Read []Window
	// TenantRPS is the most requests per second per app per tenant. Zero
	// means 50; negative means no tenant limit.
	TenantRPS int
}

func writeWindows() []Window {
	return []Window{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}, {time.Hour, 1800}}
}

func readWindows() []Window {
	return []Window{{time.Second, 14}, {2 * time.Second, 16}, {30 * time.Second, 120}, {time.Hour, 3600}}
}

// resolved returns l with its defaults filled in.
func (l Limits) resolved() Limits {
	if l.Send == nil {
		l.Send = writeWindows()
	}
	if l.Create == nil {
		l.Create = writeWindows()
	}
	if l.Read == nil {
		l.Read = readWindows()
	}
	if l.TenantRPS == 0 {
		l.TenantRPS = 50
	}
	l.Send, l.Create, l.Read = slices.Clone(l.Send), slices.Clone(l.Create), slices.Clone(l.Read)
	return l
}

// Operation classes for the per-conversation windows.
const (
	classSend   = "send"
	classCreate = "create"
	classRead   = "read"
)

// Causes of a 429.
const (
	causeConversation = "conversation"
	causeTenant       = "tenant"
	causeStorm        = "storm"
)

func (l Limits) windows(class string) []Window {
	switch class {
	case classSend:
		return l.Send
	case classCreate:
		return l.Create
	case classRead:
		return l.Read
	}
	return nil
}

// refusal says which limit refused a request and when to retry.
type refusal struct {
	cause, limit string
	retryAfter   time.Duration
}

// series is the times of the accepted requests of one key, ascending.
type series struct{ t []time.Time }

// inWindow returns the index of the first time inside (now-period, now].
func (s *series) inWindow(now time.Time, period time.Duration) int {
	since := now.Add(-period)
	return sort.Search(len(s.t), func(i int) bool { return s.t[i].After(since) })
}

// check returns how long until one more request fits in w, or 0 if it fits.
func (s *series) check(now time.Time, w Window) time.Duration {
	if s == nil {
		if w.Max > 0 {
			return 0
		}
		return w.Period
	}
	i := s.inWindow(now, w.Period)
	n := len(s.t) - i
	if n < w.Max {
		return 0
	}
	if w.Max == 0 {
		return w.Period
	}
	return s.t[i+n-w.Max].Add(w.Period).Sub(now)
}

// add records an accepted request at now, keeping at most keep times
// within the horizon.
func (s *series) add(now time.Time, horizon time.Duration, keep int) {
	i := sort.Search(len(s.t), func(i int) bool { return s.t[i].After(now) })
	s.t = slices.Insert(s.t, i, now)
	drop := s.inWindow(now, horizon)
	if extra := len(s.t) - drop - keep; extra > 0 {
		drop += extra
	}
	if drop > 0 {
		s.t = slices.Delete(s.t, 0, drop)
	}
}

type seriesKey struct{ class, conv string }

// limiter counts requests in exact sliding windows.
type limiter struct {
	mu      sync.Mutex
	lim     Limits // resolved
	convs   map[seriesKey]*series
	tenants map[string]*series
	adds    int
}

func newLimiter(l Limits) *limiter {
	return &limiter{lim: l.resolved(), convs: map[seriesKey]*series{}, tenants: map[string]*series{}}
}

func (lm *limiter) set(l Limits) {
	lm.mu.Lock()
	lm.lim = l.resolved()
	lm.mu.Unlock()
}

func (lm *limiter) get() Limits {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return lm.lim.resolved()
}

func limitName(prefix string, p time.Duration) string {
	return fmt.Sprintf("%s/%gs", prefix, p.Seconds())
}

// allow decides one request of class to conversation conv ("" for none) in
// tenant ("" for none). An accepted request counts in every window; a
// refused one counts nowhere.
func (lm *limiter) allow(class, tenant, conv string, now time.Time) *refusal {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.lim.Disabled {
		return nil
	}
	key := seriesKey{class, conv}
	windows := lm.lim.windows(class)
	if conv == "" {
		windows = nil
	}
	cs := lm.convs[key]
	var ref *refusal
	for _, w := range windows {
		wait := cs.check(now, w)
		switch {
		case wait <= 0:
		case ref == nil:
			ref = &refusal{cause: causeConversation, limit: limitName(class, w.Period), retryAfter: wait}
		default:
			ref.retryAfter = max(ref.retryAfter, wait) // the longest wait frees every window
		}
	}
	if ref != nil {
		return ref
	}
	tw := Window{Period: time.Second, Max: lm.lim.TenantRPS}
	ts := lm.tenants[tenant]
	if tenant != "" && tw.Max >= 0 {
		if wait := ts.check(now, tw); wait > 0 {
			return &refusal{cause: causeTenant, limit: limitName("tenant", tw.Period), retryAfter: wait}
		}
		if ts == nil {
			ts = &series{}
			lm.tenants[tenant] = ts
		}
		ts.add(now, tw.Period, tw.Max)
	}
	if len(windows) > 0 {
		if cs == nil {
			cs = &series{}
			lm.convs[key] = cs
		}
		horizon, keep := span(windows)
		cs.add(now, horizon, keep)
	}
	lm.adds++
	if lm.adds%8192 == 0 {
		lm.sweep(now)
	}
	return nil
}

// span returns the longest period and largest max of windows.
func span(windows []Window) (time.Duration, int) {
	var p time.Duration
	m := 0
	for _, w := range windows {
		p, m = max(p, w.Period), max(m, w.Max)
	}
	return p, m
}

// sweep forgets series with no time inside any window.
func (lm *limiter) sweep(now time.Time) {
	for k, s := range lm.convs {
		horizon, _ := span(lm.lim.windows(k.class))
		if len(s.t) == 0 || !s.t[len(s.t)-1].After(now.Add(-horizon)) {
			delete(lm.convs, k)
		}
	}
	for k, s := range lm.tenants {
		if len(s.t) == 0 || !s.t[len(s.t)-1].After(now.Add(-time.Second)) {
			delete(lm.tenants, k)
		}
	}
}

// SetLimits replaces the rate limits. Requests already counted stay counted.
// It refuses windows with a period <= 0 or a negative max.
func (e *Emulator) SetLimits(l Limits) error {
	for _, ws := range [][]Window{l.Send, l.Create, l.Read} {
		for _, w := range ws {
			if w.Period <= 0 || w.Max < 0 {
				return invalid("send", "a window needs a period > 0 and a max >= 0")
			}
		}
	}
	e.limiter.set(l)
	e.notify()
	return nil
}

// Limits returns the rate limits in force, defaults filled in.
func (e *Emulator) Limits() Limits { return e.limiter.get() }
