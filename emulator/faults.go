package emulator

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Faults are failures injected into Connector answers, changeable at run
// time. The zero value injects nothing. Rates are fractions in [0, 1]; one
// draw per request picks at most one of 5xx, 412 and timeout.
type Faults struct {
	// Seed makes the draws deterministic: the n-th request of an operation
	// to a conversation gets the same outcome in every run, whatever the
	// interleaving of requests to other conversations. (Conversation ids
	// are the same in every run when user and team ids are, as with the
	// demo seed.) Zero means unseeded draws.
	Seed int64 `json:"seed"`
	// LatencyMs delays every answer.
	LatencyMs int `json:"latencyMs"`
	// ErrorRate5xx is the fraction answered Status5xx with code ServiceError.
	ErrorRate5xx float64 `json:"errorRate5xx"`
	// Status5xx is the status of injected server errors. Zero means 503.
	Status5xx int `json:"status5xx"`
	// Rate412 is the fraction answered 412 PreconditionFailed.
	Rate412 float64 `json:"rate412"`
	// TimeoutRate is the fraction that time out (see TimeoutMode).
	TimeoutRate float64 `json:"timeoutRate"`
	// TimeoutMode is "hold" (keep the request open until the client gives
	// up, or HoldMs passes and then answer 504) or "close" (close the
	// connection without an answer). Empty means "hold".
	TimeoutMode string `json:"timeoutMode"`
	// HoldMs bounds a held request; zero means until the client gives up or
	// the emulator is closed.
	HoldMs int `json:"holdMs"`
	// Storm429Seconds, when set, answers every request 429 Throttled for
	// that many seconds from the moment the faults are set. Faults()
	// reports the seconds left.
	Storm429Seconds float64 `json:"storm429Seconds"`
	// StormRetryAfterSeconds is the Retry-After of storm answers; zero
	// means the seconds left in the storm (at least 1).
	StormRetryAfterSeconds int `json:"stormRetryAfterSeconds"`
	// Blocked209 answers the 403s of a blocked or uninstalled bot with the
	// other body Teams documents, {"errorCode":209,"message":"{\"subCode\":
	// \"MessageWritesBlocked\",…}"}, instead of an ErrorResponse.
	Blocked209 bool `json:"blocked209,omitempty"`
	// BatchPaused holds batch operations: new ones stay Provisioning and
	// running ones stop between chunks until it is cleared.
	BatchPaused bool `json:"batchPaused,omitempty"`
	// AfterProcessing applies the drawn 5xx and timeout faults after the
	// request was processed (the message is recorded, then the answer is
	// the error, or no answer at all): what a sender meets when Teams acts
	// on a request and the answer is lost. 412 and 429 are always answered
	// before processing, as Teams refuses those requests.
	AfterProcessing bool `json:"afterProcessing,omitempty"`
	// Operations limits the faults to these operations (for example
	// "send", "create", "members", "token"); empty means every Connector
	// operation, but not the token endpoint.
	Operations []string `json:"operations,omitempty"`
}

// faultState is the faults in force and the per-key draw counters.
type faultState struct {
	mu         sync.Mutex
	f          Faults
	stormUntil time.Time
	drawn      map[string]uint64
}

func newFaultState() *faultState { return &faultState{drawn: map[string]uint64{}} }

// outcome is what a request's faults decide.
type outcome struct {
	latency    time.Duration
	status     int  // injected error status, or 0
	timeout    bool // hold or close instead of answering
	close      bool
	hold       time.Duration
	storm      bool
	retryAfter time.Duration
	after      bool // answer the fault after processing the request
}

func (fs *faultState) set(f Faults, now time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.Operations = slices.Clone(f.Operations)
	fs.stormUntil = time.Time{}
	if f.Storm429Seconds > 0 {
		fs.stormUntil = now.Add(time.Duration(f.Storm429Seconds * float64(time.Second)))
	}
	if f.Seed != fs.f.Seed {
		fs.drawn = map[string]uint64{}
	}
	fs.f = f
}

func (fs *faultState) get(now time.Time) Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	f.Operations = slices.Clone(f.Operations)
	f.Storm429Seconds = 0
	if left := fs.stormUntil.Sub(now); left > 0 {
		f.Storm429Seconds = left.Seconds()
	}
	return f
}

func (fs *faultState) blocked209() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.Blocked209
}

func (fs *faultState) batchesPaused() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.BatchPaused
}

// decide draws the faults of one request of operation op to conversation
// conv.
func (fs *faultState) decide(op, conv string, now time.Time) outcome {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	if len(f.Operations) > 0 && !slices.Contains(f.Operations, op) || len(f.Operations) == 0 && op == "token" {
		return outcome{}
	}
	o := outcome{latency: time.Duration(f.LatencyMs) * time.Millisecond}
	if left := fs.stormUntil.Sub(now); left > 0 {
		o.storm = true
		o.retryAfter = time.Duration(f.StormRetryAfterSeconds) * time.Second
		if o.retryAfter <= 0 {
			o.retryAfter = left
		}
		return o
	}
	if f.ErrorRate5xx <= 0 && f.Rate412 <= 0 && f.TimeoutRate <= 0 {
		return o
	}
	u := fs.draw(op+" "+conv, f.Seed)
	switch {
	case u < f.ErrorRate5xx:
		o.status = f.Status5xx
		if o.status < 500 || o.status > 599 {
			o.status = http.StatusServiceUnavailable
		}
	case u < f.ErrorRate5xx+f.Rate412:
		o.status = http.StatusPreconditionFailed
	case u < f.ErrorRate5xx+f.Rate412+f.TimeoutRate:
		o.timeout = true
		o.close = f.TimeoutMode == "close"
		o.hold = time.Duration(f.HoldMs) * time.Millisecond
	}
	o.after = f.AfterProcessing && (o.status >= 500 || o.timeout)
	return o
}

// draw returns a number in [0, 1): from the seed and the number of earlier
// draws for key when seeded, else at random.
func (fs *faultState) draw(key string, seed int64) float64 {
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

// SetFaults replaces the injected faults. It refuses negative rates, rates
// that sum above 1 and unknown timeout modes.
func (e *Emulator) SetFaults(f Faults) error {
	switch {
	case f.ErrorRate5xx < 0 || f.Rate412 < 0 || f.TimeoutRate < 0 || f.ErrorRate5xx+f.Rate412+f.TimeoutRate > 1:
		return invalid("errorRate5xx", "rates must be >= 0 and sum to at most 1")
	case f.TimeoutMode != "" && f.TimeoutMode != "hold" && f.TimeoutMode != "close":
		return invalid("timeoutMode", "timeoutMode is hold or close")
	case f.LatencyMs < 0 || f.HoldMs < 0 || f.Storm429Seconds < 0 || f.StormRetryAfterSeconds < 0:
		return invalid("latencyMs", "durations must be >= 0")
	}
	e.faults.set(f, e.now())
	e.notify()
	return nil
}

// Faults returns the faults in force.
func (e *Emulator) Faults() Faults { return e.faults.get(e.now()) }

// applyFaults acts on the faults drawn for a request. It reports whether it
// answered (or dropped) the request, in which case the handler must stop.
func (e *Emulator) applyFaults(w http.ResponseWriter, r *http.Request, op, conv string) bool {
	return e.answerFault(w, r, e.faults.decide(op, conv, e.now()))
}

// answerFault answers (or drops) a request as the drawn faults o say, and
// reports whether it did.
func (e *Emulator) answerFault(w http.ResponseWriter, r *http.Request, o outcome) bool {
	if o.latency > 0 && !e.wait(r, o.latency) {
		return true
	}
	switch {
	case o.storm:
		e.stats.throttled(causeStorm, "storm")
		writeTeamsError(w, throttled(o.retryAfter))
		return true
	case o.status == http.StatusPreconditionFailed:
		writeTeamsError(w, &apiError{status: o.status, code: "PreconditionFailed", message: "Precondition failed, please try again."})
		return true
	case o.status != 0:
		writeTeamsError(w, &apiError{status: o.status, code: "ServiceError", message: "The service is temporarily unavailable (injected fault)."})
		return true
	case o.timeout && o.close:
		closeConnection(w)
		return true
	case o.timeout:
		if o.hold <= 0 {
			o.hold = math.MaxInt64
		}
		if e.wait(r, o.hold) {
			writeTeamsError(w, &apiError{status: http.StatusGatewayTimeout, code: "GatewayTimeout", message: "The operation timed out (injected fault)."})
		}
		return true
	}
	return false
}

// wait blocks for d; it returns false when the client went away or the
// emulator closed first.
func (e *Emulator) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-e.closed:
		return false
	}
}

// closeConnection drops the connection without answering.
func closeConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
