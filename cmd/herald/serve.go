package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"herald/bot"
	"herald/engine"

	"herald/botauth"
	"herald/botframework"
	"herald/server"
	"herald/sqlstore"
)

// runServe runs the delivery engine, the bot endpoint and the HTTP API on
// one address until ctx ends (SIGINT or SIGTERM), then stops gracefully.
func runServe(ctx context.Context, args []string, e *env) error {
	cfg, err := parseServeConfig(args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg.LogLevel)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	h, err := startHerald(ctx, cfg, ln, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "herald serving on http://%s (node %s, %s store)\n", ln.Addr(), h.node, h.store.Dialect())
	fmt.Fprintf(e.stdout, "  bot endpoint: http://%s/api/messages\n", ln.Addr())
	fmt.Fprintf(e.stdout, "  API:          http://%s/v1 (OpenAPI at /v1/openapi.json)\n", ln.Addr())
	h.keys.describe(e.stdout)
	if cfg.Emulator != "" {
		fmt.Fprintf(e.stdout, "  emulator:     %s (app id %s)\n", cfg.Emulator, cfg.AppID)
	}
	select {
	case <-ctx.Done():
		err = nil
	case err = <-h.served:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout)
	defer cancel()
	return errors.Join(err, h.stop(stopCtx))
}

// newLogger returns a text logger at level ("debug", "info", "warn" or
// "error"; anything else means info).
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// heraldNode is a running Herald: store, engine, bot and HTTP server on
// one listener. `herald serve` and `herald demo` both run one.
type heraldNode struct {
	node    string
	store   *sqlstore.Store
	eng     *engine.Engine
	bot     *bot.Bot
	api     *server.Server
	keys    apiKeys
	srv     *http.Server
	served  chan error
	running atomic.Bool
}

// startHerald opens the store, builds the engine, the bot endpoint and
// the API (sharing one metered HTTP client to Teams), starts them and
// serves them on ln: the bot at /api/messages, everything else (/v1,
// /healthz, /readyz, /metrics) by the API server. It closes ln if it
// fails.
func startHerald(ctx context.Context, cfg serveConfig, ln net.Listener, log *slog.Logger) (_ *heraldNode, err error) {
	h := &heraldNode{node: cfg.Node, served: make(chan error, 1)}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
			ln.Close()
		}
	}()
	if h.node == "" {
		if h.node, err = os.Hostname(); err != nil || h.node == "" {
			h.node = "herald"
		}
	}
	if h.store, err = sqlstore.Open(ctx, cfg.Store, sqlstore.Options{Logger: log}); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	closers = append(closers, func() { h.store.Close() })
	if h.keys, err = resolveAPIKeys(cfg); err != nil && !storeHasKeys(ctx, h.store) {
		return nil, err
	}
	metrics := server.NewMetrics()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: metrics.Transport(http.DefaultTransport)}
	tenant := ""
	if cfg.AppType == appSingleTenant {
		tenant = cfg.TenantID
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, TenantID: tenant, Authority: cfg.Authority, HTTPClient: hc,
	})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: cfg.Trusted})
	h.eng, err = engine.New(engine.Config{
		Store: h.store, Queue: h.store.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: botframework.BotID(cfg.AppID), Name: cfg.BotName},
		DefaultServiceURL: cfg.ServiceURL,
		Limits:            engine.Limits{TenantRPS: cfg.TenantRPS, Disabled: !cfg.Pacing},
		Concurrency:       cfg.Concurrency,
		NodeName:          h.node,
		NodeID:            cfg.NodeID,
		Topics:            cfg.Topics,
		Logger:            log,
	})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	h.node = h.eng.NodeID()
	if h.bot, err = newServeBot(cfg, conn, h.store, h.eng, log); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	h.api, err = server.New(server.Config{Engine: h.eng, Store: h.store, APIKeys: h.keys.keys,
		Started: h.running.Load, Metrics: metrics, Topics: cfg.Topics, Logger: log, AcceptWait: cfg.AcceptWait})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := h.eng.Start(ctx); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	h.running.Store(true)
	closers = append(closers, func() { h.running.Store(false); _ = h.eng.Stop(context.WithoutCancel(ctx)) })
	if err := h.bot.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/messages", h.bot)
	mux.Handle("/", h.api)
	h.srv = newHTTPServer(mux, defaultTimeouts())
	go func() { h.served <- h.srv.Serve(ln) }()
	return h, nil
}

// stop stops in order: no new requests (in-flight ones finish), then the
// bot's background work, then the engine (calls in flight are recorded),
// then the store.
func (h *heraldNode) stop(ctx context.Context) error {
	shutErr := h.srv.Shutdown(ctx)
	if errors.Is(shutErr, http.ErrServerClosed) {
		shutErr = nil
	}
	botErr := h.bot.Stop(ctx)
	h.running.Store(false)
	engErr := h.eng.Stop(ctx)
	return errors.Join(shutErr, botErr, engErr, h.store.Close())
}

// newServeBot builds the bot endpoint: verified inbound activities keep
// the directory current and get welcomes and commands answered.
func newServeBot(cfg serveConfig, conn *botframework.Connector, st *sqlstore.Store, eng *engine.Engine, log *slog.Logger) (*bot.Bot, error) {
	// Welcomes go through the engine (paced, retried, recorded, sent once
	// per welcome); replies in conversations go directly.
	sender := bot.NewEngineSender(eng, bot.NewConnectorSender(conn, st, botframework.ChannelAccount{ID: botframework.BotID(cfg.AppID), Name: cfg.BotName}))
	v, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: cfg.AppID, MetadataURL: cfg.MetadataURL,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, Logger: log})
	if err != nil {
		return nil, err
	}
	welcome := bot.WelcomeConfig{GuideURL: cfg.GuideURL}
	if cfg.WelcomeTemplates != "" {
		if err := welcome.LoadTemplates(os.DirFS(cfg.WelcomeTemplates)); err != nil {
			return nil, err
		}
	}
	b, err := bot.New(bot.Config{AppID: cfg.AppID, BotName: cfg.BotName, Verifier: v, Connector: conn, Jobs: eng, Channels: cfg.Channels,
		Store: st, Sender: sender, Logger: log, Welcome: welcome, Topics: cfg.Topics, RosterRefresh: cfg.RosterRefresh})
	if err != nil {
		return nil, err
	}
	eng.HandleJobs(b.RunJob) // the bot's jobs run in the engine's job runner
	return b, nil
}

// apiKeys are the keys the API accepts and where they came from.
type apiKeys struct {
	keys []string
	// file is where the generated key is kept; empty when the keys were
	// configured, or the store (in memory) has no directory to keep it in.
	file string
	// fresh reports a key generated by this start, to be shown once.
	fresh bool
}

// describe prints where the API key is. The key itself is printed only
// when it was just generated (or lives only as long as the process).
func (k apiKeys) describe(w io.Writer) {
	switch {
	case len(k.keys) == 0:
		fmt.Fprintln(w, "  API keys:     in the store (herald keys ls)")
	case k.file == "" && k.fresh:
		fmt.Fprintf(w, "  API key:      %s (generated for this run; set --api-key to choose one)\n", k.keys[0])
	case k.fresh:
		fmt.Fprintf(w, "  API key:      %s (generated and kept in %s; shown only now)\n", k.keys[0], k.file)
	case k.file != "":
		fmt.Fprintf(w, "  API key:      in %s\n", k.file)
	default:
		fmt.Fprintf(w, "  API keys:     %d configured\n", len(k.keys))
	}
}

// resolveAPIKeys returns the configured keys, else the key kept next to
// the SQLite database, generating it on first start. A PostgreSQL store
// needs configured keys: the nodes sharing it would each make their own.
func resolveAPIKeys(cfg serveConfig) (apiKeys, error) {
	if len(cfg.APIKeys) > 0 {
		return apiKeys{keys: cfg.APIKeys}, nil
	}
	path, ok := apiKeyPath(cfg.Store)
	if !ok {
		return apiKeys{}, errors.New("serve: an API key is required with a PostgreSQL store: set --api-key or HERALD_API_KEYS, or make one with herald keys create")
	}
	if path == "" {
		key, err := newAPIKey()
		return apiKeys{keys: []string{key}, fresh: true}, err
	}
	key, fresh, err := loadOrCreateKey(path)
	if err != nil {
		return apiKeys{}, fmt.Errorf("serve: API key file: %w", err)
	}
	return apiKeys{keys: []string{key}, file: path, fresh: fresh}, nil
}

// apiKeyPath is the key file of a SQLite store: the database's path with
// the extension .api-key ("" for an in-memory database). ok is false for
// other stores.
func apiKeyPath(store string) (path string, ok bool) {
	switch {
	case strings.HasPrefix(store, "sqlite:"):
		path = strings.TrimPrefix(store, "sqlite:")
	case strings.HasSuffix(store, ".db") && !strings.Contains(store, "://"):
		path = store
	default:
		return "", false
	}
	if path == ":memory:" {
		return "", true
	}
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".api-key", true
}

// loadOrCreateKey reads the key in path, or writes a new one there (mode
// 0600) when there is none.
func loadOrCreateKey(path string) (key string, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key = strings.TrimSpace(string(b))
		if len(key) < minAPIKeyBytes {
			return "", false, fmt.Errorf("%s holds no usable key (delete it to have a new one made)", path)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if key, err = newAPIKey(); err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateKey(path) // another process made it first
	}
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	return key, true, f.Close()
}

// newAPIKey returns a random key: 24 bytes, base64url, with a prefix that
// makes it recognisable in a leaked file.
func newAPIKey() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return "hk_" + base64.RawURLEncoding.EncodeToString(b), nil
}
