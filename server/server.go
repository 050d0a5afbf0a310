package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"herald/engine"

	"herald"
	"herald/api"
)

// Config configures a Server. Every field documents its zero value.
type Config struct {
	// Engine sends notifications. Required.
	Engine *engine.Engine
	// Store is the engine's store, read for listings, the directory and
	// the metrics. Required.
	Store herald.Store
	// APIKeys are the bearer tokens the /v1 API accepts. At least one is
	// required; each must be at least 16 bytes.
	APIKeys []string
	// Started reports whether the engine runs (started and not stopped);
	// /readyz answers 503 while it reports false. Nil means /readyz checks
	// the store only.
	Started func() bool
	// Metrics receives the API's and the store's metrics and serves
	// /metrics. Nil means a new NewMetrics(). A Metrics serves one Server.
	Metrics *Metrics
	// Topics are the configured topics: GET /v1/topics lists them, and
	// when there are any, a notification naming another topic is refused.
	Topics []herald.Topic
	// MaxBodyBytes caps request bodies; larger ones get 413. Zero means
	// 1 MiB.
	MaxBodyBytes int64
	// AcceptWait bounds how long the answer to a new notification (POST
	// /v1/notifications, POST /v1/send/{target}) waits for its audience
	// to be expanded, so that the 202 says whom it reaches and whom not
	// (api.Expansion). Zero means 2 seconds; negative means answer at once.
	AcceptWait time.Duration
	// Logger receives failures (5xx) with their causes. Nil means discard.
	Logger *slog.Logger
}

// minKeyBytes is the shortest API key accepted.
const minKeyBytes = 16

// Server is Herald's HTTP API, probes and metrics. Create it with New.
type Server struct {
	cfg     Config
	engine  *engine.Engine
	store   herald.Store
	keys    [][sha256.Size]byte
	metrics *Metrics
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []route
}

// New validates cfg and returns the handler.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.Engine == nil {
		//lint:ignore ST1005 the message starts with the name of the Config field
		errs = append(errs, errors.New("Engine is required"))
	}
	if cfg.Store == nil {
		//lint:ignore ST1005 the message starts with the name of the Config field
		errs = append(errs, errors.New("Store is required"))
	}
	if len(cfg.APIKeys) == 0 {
		errs = append(errs, errors.New("APIKeys: at least one key is required"))
	}
	for i, k := range cfg.APIKeys {
		if len(k) < minKeyBytes {
			errs = append(errs, fmt.Errorf("APIKeys[%d]: shorter than %d bytes", i, minKeyBytes))
		}
	}
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("MaxBodyBytes must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.AcceptWait == 0 {
		cfg.AcceptWait = defaultAcceptWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if err := cfg.Metrics.watchStore(cfg.Store); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	s := &Server{cfg: cfg, engine: cfg.Engine, store: cfg.Store, metrics: cfg.Metrics, log: cfg.Logger, mux: http.NewServeMux()}
	for _, k := range cfg.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.Handle("/v1/", s.wrap(route{path: "/v1/", h: s.unrouted}))
	s.mux.Handle("/", s.wrap(route{path: "/", public: true, h: s.unrouted}))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Metrics returns the server's metrics, whose Transport wraps the
// Connector's HTTP client.
func (s *Server) Metrics() *Metrics { return s.metrics }

// handler is an HTTP handler that returns its failure; wrap renders it.
type handler func(w http.ResponseWriter, r *http.Request) error

// route is one entry of the route table.
type route struct {
	method string
	path   string
	// public routes need no API key.
	public bool
	h      handler
}

// routeTable is every route the server answers. The OpenAPI document
// describes each /v1 route (a test checks both ways).
func (s *Server) routeTable() []route {
	return []route{
		{http.MethodGet, "/healthz", true, s.healthz},
		{http.MethodGet, "/readyz", true, s.readyz},
		{http.MethodGet, "/metrics", true, s.serveMetrics},
		{http.MethodGet, "/v1/openapi.json", true, s.openAPI},

		{http.MethodPost, "/v1/notifications", false, s.createNotification},
		{http.MethodGet, "/v1/notifications", false, s.listNotifications},
		{http.MethodGet, "/v1/notifications/{id}", false, s.getNotification},
		{http.MethodGet, "/v1/notifications/{id}/deliveries", false, s.listDeliveries},
		{http.MethodPost, "/v1/notifications/{id}/cancel", false, s.cancelNotification},
		{http.MethodPost, "/v1/notifications/{id}/retry", false, s.retryNotification},
		{http.MethodPost, "/v1/send/{target...}", false, s.sendText},

		{http.MethodGet, "/v1/users", false, s.listUsers},
		{http.MethodGet, "/v1/users/{user}", false, s.getUser},
		{http.MethodGet, "/v1/users/{user}/preferences", false, s.getPreferences},
		{http.MethodPatch, "/v1/users/{user}/preferences", false, s.setPreferences},
		{http.MethodGet, "/v1/teams", false, s.listTeams},
		{http.MethodGet, "/v1/teams/{team}", false, s.getTeam},
		{http.MethodGet, "/v1/teams/{team}/channels", false, s.listChannels},
		{http.MethodGet, "/v1/conversations", false, s.listConversations},
		{http.MethodGet, "/v1/directory/health", false, s.directoryHealth},
		{http.MethodGet, "/v1/topics", false, s.listTopics},
	}
}

// wrap adds to a route what every request gets: panic recovery, the
// request counter, the API key check, the body cap and error rendering.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.path
	if rt.method != "" {
		label = rt.method + " " + rt.path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		rec.Header().Set("X-Content-Type-Options", "nosniff")
		defer func() { s.metrics.countRequest(label, rec.status) }()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", "route", label, "panic", p)
				if !rec.wrote {
					s.writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
		}()
		if !rt.public && !s.authorized(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			s.writeError(rec, r, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
				Message: "a valid API key is required as a bearer token (Authorization: Bearer <key>)"})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxBodyBytes)
		}
		if err := rt.h(rec, r); err != nil {
			if rec.wrote {
				// The answer is under way (a CSV stream): end the
				// connection so the client sees it incomplete.
				s.log.Error("answer failed midway", "route", label, "err", err)
				panic(http.ErrAbortHandler)
			}
			s.writeError(rec, r, err)
		}
	})
}

// authorized reports whether r carries one of the API keys, comparing in
// constant time (over fixed-size digests, so lengths do not leak either).
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for _, k := range s.keys {
		match |= subtle.ConstantTimeCompare(got[:], k[:])
	}
	return match == 1
}

// unrouted answers requests no route matched: 405 with Allow when the
// path exists for other methods, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) error {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" && pattern != "/v1/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return &api.Error{Status: http.StatusMethodNotAllowed, Code: api.CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed here; use %s", r.Method, strings.Join(allowed, " or "))}
	}
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)}
}

// recorder remembers the status written, for the metrics and for
// handlers failing after they started answering.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// WriteHeader records the first status.
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes flushes on, for streamed answers.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if !r.wrote {
			r.status, r.wrote = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
