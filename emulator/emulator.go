package emulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"herald/botframework"
)

// Defaults of Config.
const (
	DefaultAppID           = "00000000-0000-0000-0000-000000000001"
	DefaultAppSecret       = "emulator-secret"
	DefaultBotName         = "Herald"
	DefaultMaxMessageBytes = 100 * 1024
	DefaultRequestLog      = 10000
)

// Config configures an Emulator. The zero value is usable: every field
// documents what its zero value means.
type Config struct {
	// AppID and AppSecret are the registered bot's credentials: the token
	// endpoint issues tokens only for them, and activities to the bot carry
	// AppID as audience. Empty means DefaultAppID and DefaultAppSecret.
	AppID, AppSecret string
	// BotName is the bot's display name in activities and rosters. Empty
	// means DefaultBotName.
	BotName string
	// BotURL is where activities are POSTed (the bot's messaging endpoint).
	// Empty means activities go to Deliver, or nowhere (they are still
	// recorded, with bot status 0).
	BotURL string
	// Deliver, when BotURL is empty, receives each signed activity request
	// in-process, as an HTTP server would pass it to the bot's handler.
	Deliver http.Handler
	// HTTPClient posts activities to BotURL. Nil means a client with a 15 s
	// timeout (Teams' documented wait for a bot's answer).
	HTTPClient *http.Client
	// Now is the clock for rate limits, faults, tokens, timestamps and
	// message ids. Nil means time.Now. The tokens on activities are dated
	// by it, so a bot that checks them against the real clock needs Now
	// within a few minutes of real time.
	Now func() time.Time
	// MaxMessageBytes is the largest activity body the Connector accepts;
	// larger ones get 413 MessageSizeTooBig. Zero means
	// DefaultMaxMessageBytes; negative means no limit.
	MaxMessageBytes int
	// Limits are the Connector rate limits. The zero value is Teams'
	// published table; Limits{Disabled: true} turns them off.
	Limits Limits
	// Logger receives one line per unexpected request and per delivery
	// failure. Nil means discard.
	Logger *slog.Logger
	// RequestLog is how many Connector requests Requests keeps (the newest),
	// and how many Graph requests GraphRequests keeps. Zero means
	// DefaultRequestLog; negative means none.
	RequestLog int
	// TeamsAppID is the bot's Teams app id (the manifest's id), the
	// externalId of its app in every tenant's catalog. Empty means the id
	// `herald manifest` derives from AppID.
	TeamsAppID string
}

// Emulator is the local Teams, Bot Framework channel and token endpoint. It
// is an http.Handler and safe for concurrent use. Create it with New.
type Emulator struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	client  *http.Client
	mux     *http.ServeMux
	keys    *keyring
	limiter *limiter
	faults  *faultState
	stats   *stats
	web     *webTemplates

	// The Graph side (graph.go).
	graphMux     *http.ServeMux
	graphStats   *stats
	graphFaults  *graphFaultState
	graphLimiter *graphLimiter
	graphEvents  chan struct{} // bounds the deliveries of Graph install events in flight

	baseMu sync.RWMutex
	base   string

	tokMu sync.Mutex
	tok   channelTok // the channel's current token, reused as Teams does

	// mu guards the world below and changed.
	mu      sync.Mutex
	changed chan struct{}
	world
	errs []error

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns an emulator configured by cfg. It generates the RSA signing
// keys; call Close to stop its background work when done.
func New(cfg Config) *Emulator {
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.BotName == "" {
		cfg.BotName = DefaultBotName
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.RequestLog == 0 {
		cfg.RequestLog = DefaultRequestLog
	}
	e := &Emulator{
		cfg:     cfg,
		now:     cfg.Now,
		log:     cfg.Logger,
		client:  cfg.HTTPClient,
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
		base:    "http://127.0.0.1:3979",
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 15 * time.Second}
	}
	e.world = newWorld()
	e.keys = newKeyring()
	e.limiter = newLimiter(cfg.Limits)
	e.faults = newFaultState()
	e.stats = newStats(cfg.RequestLog)
	e.graphStats = newStats(cfg.RequestLog)
	e.graphFaults = newGraphFaultState()
	e.graphLimiter = newGraphLimiter()
	e.graphEvents = make(chan struct{}, 8)
	e.web = parseTemplates()
	e.mux = e.routes()
	go e.batchWorker()
	return e
}

// Close stops the emulator's background work (the batch worker) and
// releases requests held by a timeout fault. It does not close listeners.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() { close(e.closed) })
}

// SetBaseURL sets the public base URL of the emulator, for example an
// httptest server's URL: the serviceUrl, token and metadata URLs derive from
// it. The default is "http://127.0.0.1:3979".
func (e *Emulator) SetBaseURL(u string) {
	e.baseMu.Lock()
	e.base = strings.TrimRight(u, "/")
	e.baseMu.Unlock()
}

// BaseURL returns the base URL set by SetBaseURL.
func (e *Emulator) BaseURL() string {
	e.baseMu.RLock()
	defer e.baseMu.RUnlock()
	return e.base
}

// ServiceURL returns the serviceUrl activities carry: BASE + "/teams/".
func (e *Emulator) ServiceURL() string { return e.BaseURL() + "/teams/" }

// TokenURL returns the client-credentials token endpoint for tenant
// ("botframework.com" for a multi-tenant bot, or a tenant id).
func (e *Emulator) TokenURL(tenant string) string {
	return e.BaseURL() + "/" + tenant + "/oauth2/v2.0/token"
}

// LoginURL returns the authority for tenant (the token URL without
// "/oauth2/v2.0/token"), as botbuilder's ToChannelFromBotLoginUrl expects.
func (e *Emulator) LoginURL(tenant string) string { return e.BaseURL() + "/" + tenant }

// MetadataURL returns the Bot Framework OpenID metadata URL bots use to
// find the keys that sign activities.
func (e *Emulator) MetadataURL() string {
	return e.BaseURL() + "/v1/.well-known/openidconfiguration"
}

// KeysURL returns the JWKS URL listed in the metadata.
func (e *Emulator) KeysURL() string { return e.BaseURL() + "/v1/.well-known/keys" }

// AppID returns the bot's app id.
func (e *Emulator) AppID() string { return e.cfg.AppID }

// AppSecret returns the bot's app secret.
func (e *Emulator) AppSecret() string { return e.cfg.AppSecret }

// BotID returns the bot's Teams id, "28:" + app id (botframework.BotID).
func (e *Emulator) BotID() string { return botframework.BotID(e.cfg.AppID) }

// ServeHTTP serves every endpoint of the emulator.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := e.mux.Handler(r); pattern == "" {
		e.unexpected(w, r)
		return
	}
	e.mux.ServeHTTP(w, r)
}

// unexpected answers a request no route matches and remembers it for Err.
func (e *Emulator) unexpected(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	e.fail(fmt.Errorf("unexpected request %s %s", r.Method, r.URL.RequestURI()))
	writeTeamsError(w, &apiError{status: http.StatusNotFound, code: "NotFound",
		message: "No route for " + r.Method + " " + r.URL.Path})
}

// fail records an unexpected or malformed request, reported by Err.
func (e *Emulator) fail(err error) {
	e.log.Warn("emulator", "err", err)
	e.mu.Lock()
	if len(e.errs) < 100 {
		e.errs = append(e.errs, err)
	}
	e.mu.Unlock()
}

// Err returns the unexpected routes and malformed requests seen so far,
// joined, or nil. Tests fail on it: a client that calls a route Teams does
// not have, or sends a body Teams would reject as malformed, has a bug.
func (e *Emulator) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...)
}
