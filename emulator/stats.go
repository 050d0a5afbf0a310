package emulator

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Counters summarise what the emulator has served.
type Counters struct {
	// Requests counts Connector API requests (not token or scenario calls).
	Requests int64 `json:"requests"`
	// Operations counts requests by operation ("send", "create", "token"…).
	Operations map[string]int64 `json:"operations"`
	// Throttled counts 429 answers.
	Throttled ThrottleCounters `json:"throttled"`
	// ErrorsByCode counts error answers by error code ("Throttled",
	// "ConversationBlockedByUser", "Unauthorized", "invalid_client"…).
	ErrorsByCode map[string]int64 `json:"errorsByCode"`
	// Statuses counts Connector answers by HTTP status.
	Statuses map[string]int64 `json:"statuses"`
	// ActivitiesToBot counts activities posted to the bot.
	ActivitiesToBot int64 `json:"activitiesToBot"`
	// ActivitiesFromBot counts activities the bot sent (sends, replies,
	// thread creations and batch fan-out entries).
	ActivitiesFromBot int64 `json:"activitiesFromBot"`
}

// ThrottleCounters count 429 answers by cause.
type ThrottleCounters struct {
	// Conversation counts refusals by a per-conversation window.
	Conversation int64 `json:"conversation"`
	// Tenant counts refusals by the per-app-per-tenant limit.
	Tenant int64 `json:"tenant"`
	// Storm counts 429s forced by Faults.Storm429Seconds.
	Storm int64 `json:"storm"`
	// ByLimit counts refusals per limit: "send/1s", "read/30s", "tenant/1s"…
	ByLimit map[string]int64 `json:"byLimit"`
}

// RequestRecord is one Connector request the emulator answered.
type RequestRecord struct {
	// Time is when the answer was written.
	Time time.Time `json:"time"`
	// Method is the request's method.
	Method string `json:"method"`
	// Path is the request's path, unescaped.
	Path string `json:"path"`
	// Operation names the Connector operation ("send", "create", …).
	Operation string `json:"operation"`
	// ConversationID is the conversation or team the request concerned.
	ConversationID string `json:"conversationId,omitempty"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Code is the error code answered, if any.
	Code string `json:"code,omitempty"`
}

type stats struct {
	mu       sync.Mutex
	c        Counters
	log      []RequestRecord // ring of the newest records
	next     int
	capacity int
}

func newStats(capacity int) *stats {
	return &stats{
		capacity: max(capacity, 0),
		c: Counters{
			Operations: map[string]int64{}, ErrorsByCode: map[string]int64{}, Statuses: map[string]int64{},
			Throttled: ThrottleCounters{ByLimit: map[string]int64{}},
		},
	}
}

// count counts one request of operation op; connector is "" for the token
// endpoint.
func (s *stats) count(op, connector string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Operations[op]++
	if connector != "" {
		s.c.Requests++
	}
}

func (s *stats) errorCode(code string) {
	s.mu.Lock()
	s.c.ErrorsByCode[code]++
	s.mu.Unlock()
}

// throttled counts a 429 of the given cause and limit name.
func (s *stats) throttled(cause, limit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cause {
	case causeTenant:
		s.c.Throttled.Tenant++
	case causeStorm:
		s.c.Throttled.Storm++
	default:
		s.c.Throttled.Conversation++
	}
	s.c.Throttled.ByLimit[limit]++
}

func (s *stats) activities(toBot, fromBot int64) {
	s.mu.Lock()
	s.c.ActivitiesToBot += toBot
	s.c.ActivitiesFromBot += fromBot
	s.mu.Unlock()
}

// answered records the answer to a Connector request.
func (s *stats) answered(rec RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Statuses[strconv.Itoa(rec.Status)]++
	if rec.Code != "" {
		s.c.ErrorsByCode[rec.Code]++
	}
	if s.capacity == 0 {
		return
	}
	if len(s.log) < s.capacity {
		s.log = append(s.log, rec)
		return
	}
	s.log[s.next] = rec
	s.next = (s.next + 1) % s.capacity
}

func (s *stats) snapshot() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	c.Operations = maps.Clone(s.c.Operations)
	c.ErrorsByCode = maps.Clone(s.c.ErrorsByCode)
	c.Statuses = maps.Clone(s.c.Statuses)
	c.Throttled.ByLimit = maps.Clone(s.c.Throttled.ByLimit)
	return c
}

func (s *stats) requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestRecord, 0, len(s.log))
	out = append(out, s.log[s.next:]...)
	return append(out, s.log[:s.next]...)
}

// Counters returns the counters so far.
func (e *Emulator) Counters() Counters { return e.stats.snapshot() }

// Requests returns the Connector requests answered, oldest first (at most
// Config.RequestLog of the newest).
func (e *Emulator) Requests() []RequestRecord { return e.stats.requests() }

// statusWriter remembers the status and error code a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

// WriteHeader remembers the first status.
func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write remembers an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for the
// close-connection fault).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
