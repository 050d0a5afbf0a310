package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"herald"
)

// Metrics are Herald's Prometheus metrics, in a registry of their own (no
// global state): calls to Teams (through Transport), API requests, and,
// read from the store at each scrape, deliveries per state and the queue
// depth. Create them with NewMetrics.
type Metrics struct {
	reg       *prometheus.Registry
	latency   *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	requests  *prometheus.CounterVec
	handler   http.Handler
}

// NewMetrics returns metrics with the Go runtime and process collectors
// registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_teams_request_duration_seconds",
			Help:    "Time to the response headers of calls to Teams (Bot Framework Connector and token endpoint), by operation and HTTP status (\"error\" when no response came).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"operation", "status"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_teams_throttled_total",
			Help: "Calls to Teams answered 429 Too Many Requests, by operation.",
		}, []string{"operation"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_api_requests_total",
			Help: "Requests to Herald's HTTP API, probes and metrics, by route and HTTP status.",
		}, []string{"route", "status"}),
	}
	m.reg.MustRegister(m.latency, m.throttled, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

// Registry returns the registry, for registering further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Transport wraps rt (nil means http.DefaultTransport) so every call
// through it is timed (herald_teams_request_duration_seconds) and every
// 429 counted (herald_teams_throttled_total). Give it to the HTTP client
// of the botframework Connector and token source.
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &transport{m: m, next: rt}
}

type transport struct {
	m    *Metrics
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := operation(req)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			t.m.throttled.WithLabelValues(op).Inc()
		}
	}
	t.m.latency.WithLabelValues(op, status).Observe(time.Since(start).Seconds())
	return resp, err
}

// operation names a Connector call from its method and path (after the
// serviceUrl's own path, at "/v3/").
func operation(req *http.Request) string {
	p := req.URL.EscapedPath()
	if strings.HasSuffix(p, "/oauth2/v2.0/token") {
		return "token"
	}
	i := strings.LastIndex(p, "/v3/")
	if i < 0 {
		return "other"
	}
	parts := strings.Split(strings.Trim(p[i+len("/v3/"):], "/"), "/")
	m := req.Method
	switch {
	case parts[0] == "conversations" && len(parts) == 1 && m == http.MethodPost:
		return "create_conversation"
	case parts[0] == "conversations" && len(parts) == 3 && parts[2] == "activities" && m == http.MethodPost:
		return "send"
	case parts[0] == "conversations" && len(parts) == 4 && parts[2] == "activities":
		switch m {
		case http.MethodPost:
			return "reply"
		case http.MethodPut:
			return "update"
		case http.MethodDelete:
			return "delete"
		}
	case parts[0] == "conversations" && len(parts) >= 3 && (parts[2] == "members" || parts[2] == "pagedmembers"):
		return "members"
	case parts[0] == "teams" && len(parts) == 2:
		return "team_details"
	case parts[0] == "teams" && len(parts) == 3 && parts[2] == "conversations":
		return "team_channels"
	case parts[0] == "batch" && m == http.MethodPost:
		return "batch_send"
	case parts[0] == "batch" && m == http.MethodGet:
		return "batch_state"
	case parts[0] == "batch" && m == http.MethodDelete:
		return "batch_cancel"
	}
	return "other"
}

// countRequest counts one answered request.
func (m *Metrics) countRequest(route string, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// watchStore registers the collector reading the store at scrape time.
func (m *Metrics) watchStore(s herald.Store) error {
	if err := m.reg.Register(newStoreCollector(s)); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return errors.New("Metrics already serve a store: give each Server its own")
		}
		return err
	}
	return nil
}

// storeCollector reads delivery counts from the store at each scrape.
type storeCollector struct {
	store                 herald.Store
	deliveries, queue, up *prometheus.Desc
}

func newStoreCollector(s herald.Store) *storeCollector {
	return &storeCollector{
		store:      s,
		deliveries: prometheus.NewDesc("herald_deliveries", "Deliveries of every notification, by state.", []string{"state"}, nil),
		queue:      prometheus.NewDesc("herald_queue_depth", "Deliveries waiting to be sent (pending).", nil, nil),
		up:         prometheus.NewDesc("herald_store_up", "1 when the store answered this scrape's query, else 0.", nil, nil),
	}
}

// scrapeTimeout bounds the store query of one scrape.
const scrapeTimeout = 10 * time.Second

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.queue
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.store.DeliveryStateCounts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range herald.DeliveryStates {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(counts[herald.DeliveryPending]))
}

// serveMetrics is the /metrics route.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
