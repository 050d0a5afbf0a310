package emulator

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Graph's throttling classes (teams-protocol-2026.md §1.8): the identity
// (directory) workload counts resource units per 10 s; the Teams workload
// counts requests per second, by kind.
const (
	classIdentity    = "identity"
	classTeamsRead   = "teamsRead"
	classTeamsWrite  = "teamsWrite"
	classTeamsDelete = "teamsDelete"
)

// graphCost is what a route costs against a limit.
type graphCost struct {
	class string
	units int
}

func identityCost(units int) graphCost { return graphCost{class: classIdentity, units: units} }

func teamsCost(class string) graphCost { return graphCost{class: class, units: 1} }

// GraphLimits are Graph's limits per app per tenant. The zero value is the
// published table: Teams installedApps and app catalog GETs 30/s, POSTs
// 30/s, DELETEs 15/s; directory reads 3,500 resource units per 10 s in a
// tenant of fewer than 50 users, 5,000 up to 500, 8,000 above. A negative
// number turns that limit off.
type GraphLimits struct {
	// Disabled turns every Graph limit off.
	Disabled bool `json:"disabled,omitempty"`
	// TeamsReadRPS, TeamsWriteRPS and TeamsDeleteRPS are the Teams
	// workload's requests per second; zero means 30, 30 and 15.
	TeamsReadRPS   int `json:"teamsReadRps,omitempty"`
	TeamsWriteRPS  int `json:"teamsWriteRps,omitempty"`  // see TeamsReadRPS
	TeamsDeleteRPS int `json:"teamsDeleteRps,omitempty"` // see TeamsReadRPS
	// IdentityUnits is the directory's resource units per 10 s; zero means
	// by tenant size. A request costs its route's units (users 2, a user 1,
	// delta 5, transitiveMembers 5…), one less with $select and one less
	// with $top below 20, at least 1.
	IdentityUnits int `json:"identityUnits,omitempty"`
}

// window returns the limit of class for a tenant of n users: the most
// units in one period; max < 0 means none.
func (l GraphLimits) window(class string, n int) (limit int, period time.Duration) {
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	switch class {
	case classTeamsRead:
		return pick(l.TeamsReadRPS, 30), time.Second
	case classTeamsWrite:
		return pick(l.TeamsWriteRPS, 30), time.Second
	case classTeamsDelete:
		return pick(l.TeamsDeleteRPS, 15), time.Second
	}
	def := 8000
	switch {
	case n < 50:
		def = 3500
	case n <= 500:
		def = 5000
	}
	return pick(l.IdentityUnits, def), 10 * time.Second
}

// stamp is units spent at a time.
type stamp struct {
	t     time.Time
	units int
}

// graphLimiter counts units in exact sliding windows per tenant and class.
type graphLimiter struct {
	mu     sync.Mutex
	lim    GraphLimits
	spends map[string][]stamp
}

func newGraphLimiter() *graphLimiter { return &graphLimiter{spends: map[string][]stamp{}} }

// allow spends units of class in tenant at now, or returns how long until
// they fit.
func (gl *graphLimiter) allow(class, tenant string, users, units int, now time.Time) (time.Duration, string) {
	gl.mu.Lock()
	defer gl.mu.Unlock()
	limit, period := gl.lim.window(class, users)
	if gl.lim.Disabled || limit < 0 {
		return 0, ""
	}
	key := tenant + " " + class
	s := gl.spends[key]
	since := now.Add(-period)
	s = slices.DeleteFunc(s, func(x stamp) bool { return !x.t.After(since) })
	used := 0
	for _, x := range s {
		used += x.units
	}
	name := fmt.Sprintf("%s/%gs", class, period.Seconds())
	if used+units > limit {
		wait := period
		for _, x := range s {
			used -= x.units
			if used+units <= limit {
				wait = x.t.Add(period).Sub(now)
				break
			}
		}
		gl.spends[key] = s
		return max(wait, time.Millisecond), name
	}
	gl.spends[key] = append(s, stamp{t: now, units: units})
	return 0, name
}

// SetGraphLimits replaces Graph's limits. Units already spent stay spent.
func (e *Emulator) SetGraphLimits(l GraphLimits) {
	e.graphLimiter.mu.Lock()
	e.graphLimiter.lim = l
	e.graphLimiter.mu.Unlock()
	e.notify()
}

// GraphLimits returns Graph's limits in force.
func (e *Emulator) GraphLimits() GraphLimits {
	e.graphLimiter.mu.Lock()
	defer e.graphLimiter.mu.Unlock()
	return e.graphLimiter.lim
}

// throttledGraph is Graph's 429.
func throttledGraph(wait time.Duration) *graphError {
	g := gErr(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	g.inner = "429"
	g.retryAfter = time.Duration(math.Ceil(wait.Seconds())) * time.Second
	return g
}

// graphLimit spends a request's cost, setting x-ms-resource-unit on
// directory answers, or returns the 429.
func (e *Emulator) graphLimit(w http.ResponseWriter, c *graphCall, cost graphCost) error {
	if cost.class == "" {
		return nil
	}
	units := cost.units
	if cost.class == classIdentity {
		if c.q.selected != nil {
			units--
		}
		if c.q.top > 0 && c.q.top < 20 {
			units--
		}
		units = max(units, 1)
	}
	e.mu.Lock()
	users := c.tenant.userCount()
	e.mu.Unlock()
	wait, name := e.graphLimiter.allow(cost.class, c.tenant.id, users, units, e.now())
	if wait > 0 {
		e.graphStats.throttled(causeTenant, name)
		g := throttledGraph(wait)
		g.header = http.Header{"X-Ms-Throttle-Scope": {"Tenant_Application/" + cost.class + "/" + e.cfg.AppID + "/" + c.tenant.id},
			"X-Ms-Throttle-Information": {"ResourceUnitLimitExceeded"}}
		return g
	}
	if cost.class == classIdentity {
		w.Header().Set("x-ms-resource-unit", strconv.Itoa(units))
	}
	return nil
}

// GraphFaults are failures injected into Graph answers. The zero value
// injects nothing. Rates are fractions in [0, 1]; one draw per request
// picks at most one of 5xx and 429.
type GraphFaults struct {
	// Seed makes the draws deterministic per operation and path; zero
	// means unseeded draws.
	Seed int64 `json:"seed"`
	// LatencyMs delays every answer.
	LatencyMs int `json:"latencyMs"`
	// ErrorRate5xx is the fraction answered Status5xx (zero: 503
	// serviceNotAvailable; 500 and 504 are the other usual ones).
	ErrorRate5xx float64 `json:"errorRate5xx"`
	Status5xx    int     `json:"status5xx"` // see ErrorRate5xx
	// Rate429 is the fraction answered 429 TooManyRequests.
	Rate429 float64 `json:"rate429"`
	// RetryAfterSeconds is the Retry-After of drawn 429s and 5xx; zero
	// means 1 for 429s and none for 5xx.
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// Storm429Seconds answers every request 429 for that many seconds from
	// the moment the faults are set; GraphFaults() reports the seconds
	// left. StormRetryAfterSeconds is their Retry-After (zero: the seconds
	// left, at least 1).
	Storm429Seconds        float64 `json:"storm429Seconds"`
	StormRetryAfterSeconds int     `json:"stormRetryAfterSeconds"` // see Storm429Seconds
	// Operations limits the faults to these Graph operations ("users",
	// "usersDelta", "userInstall", "transitiveMembers"…, as the request log
	// names them); empty means every one. A $batch is not faulted itself;
	// its items are, each on its own.
	Operations []string `json:"operations,omitempty"`
}

type graphFaultState struct {
	mu         sync.Mutex
	f          GraphFaults
	stormUntil time.Time
	drawn      map[string]uint64
}

func newGraphFaultState() *graphFaultState { return &graphFaultState{drawn: map[string]uint64{}} }

// SetGraphFaults replaces the Graph faults. It refuses negative numbers,
// rates summing above 1 and a Status5xx outside 500–599.
func (e *Emulator) SetGraphFaults(f GraphFaults) error {
	switch {
	case f.ErrorRate5xx < 0 || f.Rate429 < 0 || f.ErrorRate5xx+f.Rate429 > 1:
		return invalid("errorRate5xx", "rates must be >= 0 and sum to at most 1")
	case f.Status5xx != 0 && (f.Status5xx < 500 || f.Status5xx > 599):
		return invalid("status5xx", "status5xx is a 5xx status")
	case f.LatencyMs < 0 || f.RetryAfterSeconds < 0 || f.Storm429Seconds < 0 || f.StormRetryAfterSeconds < 0:
		return invalid("latencyMs", "durations must be >= 0")
	}
	fs := e.graphFaults
	fs.mu.Lock()
	f.Operations = slices.Clone(f.Operations)
	fs.stormUntil = time.Time{}
	if f.Storm429Seconds > 0 {
		fs.stormUntil = e.now().Add(time.Duration(f.Storm429Seconds * float64(time.Second)))
	}
	if f.Seed != fs.f.Seed {
		fs.drawn = map[string]uint64{}
	}
	fs.f = f
	fs.mu.Unlock()
	e.notify()
	return nil
}

// GraphFaults returns the Graph faults in force.
func (e *Emulator) GraphFaults() GraphFaults {
	fs := e.graphFaults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	f.Operations = slices.Clone(f.Operations)
	f.Storm429Seconds = 0
	if left := fs.stormUntil.Sub(e.now()); left > 0 {
		f.Storm429Seconds = left.Seconds()
	}
	return f
}

// graphFault draws the faults of one request and returns the error to
// answer, if any, after the injected latency.
func (e *Emulator) graphFault(r *http.Request, op string) error {
	fs := e.graphFaults
	now := e.now()
	fs.mu.Lock()
	f := fs.f
	if len(f.Operations) > 0 && !slices.Contains(f.Operations, op) {
		fs.mu.Unlock()
		return nil
	}
	var g *graphError
	switch left := fs.stormUntil.Sub(now); {
	case left > 0:
		g = throttledGraph(cmpDur(time.Duration(f.StormRetryAfterSeconds)*time.Second, left))
		e.graphStats.throttled(causeStorm, "storm")
	case f.ErrorRate5xx > 0 || f.Rate429 > 0:
		u := fs.draw(op+" "+r.URL.Path, f.Seed)
		switch {
		case u < f.ErrorRate5xx:
			g = graphServerError(f.Status5xx)
			g.retryAfter = time.Duration(f.RetryAfterSeconds) * time.Second
		case u < f.ErrorRate5xx+f.Rate429:
			g = throttledGraph(cmpDur(time.Duration(f.RetryAfterSeconds)*time.Second, time.Second))
			e.graphStats.throttled(causeStorm, "rate429")
		}
	}
	fs.mu.Unlock()
	if f.LatencyMs > 0 && !e.wait(r, time.Duration(f.LatencyMs)*time.Millisecond) {
		return gErr(http.StatusServiceUnavailable, "serviceNotAvailable", "The request was cancelled.")
	}
	if g == nil {
		return nil
	}
	return g
}

func cmpDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return max(def, time.Second)
}

// graphServerError is an injected 5xx in Graph's shape.
func graphServerError(status int) *graphError {
	switch status {
	case 0, http.StatusServiceUnavailable:
		return gErr(http.StatusServiceUnavailable, "serviceNotAvailable", "Service unavailable (injected fault).")
	case http.StatusGatewayTimeout:
		return gErr(status, "gatewayTimeout", "The gateway timed out (injected fault).")
	}
	return gErr(status, "generalException", "An internal server error occurred (injected fault).")
}

// draw returns a number in [0, 1): from the seed and the number of earlier
// draws for key when seeded, else at random. Caller holds fs.mu.
func (fs *graphFaultState) draw(key string, seed int64) float64 {
	if seed == 0 {
		return rand.Float64()
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	n := fs.drawn[key]
	fs.drawn[key] = n + 1
	x := mix(uint64(seed) ^ mix(h.Sum64()) ^ mix(n+1))
	return float64(x>>11) / (1 << 53)
}
