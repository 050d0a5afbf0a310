package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/sqlstore"
)

// runServe runs the delivery engine, the bot endpoint and the HTTP server
// until ctx ends (SIGINT or SIGTERM), then stops gracefully.
func runServe(ctx context.Context, args []string, e *env) error {
	cfg, err := parseServeConfig(args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	st, err := sqlstore.Open(ctx, cfg.Store, sqlstore.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer st.Close()

	hc := &http.Client{Timeout: 60 * time.Second}
	tenant := ""
	if cfg.AppType == appSingleTenant {
		tenant = cfg.TenantID
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, TenantID: tenant, Authority: cfg.Authority, HTTPClient: hc,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: cfg.Trusted})
	node := cfg.Node
	if node == "" {
		if node, err = os.Hostname(); err != nil || node == "" {
			node = "herald"
		}
	}
	eng, err := herald.NewEngine(herald.EngineConfig{
		Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: "28:" + cfg.AppID},
		DefaultServiceURL: cfg.ServiceURL,
		Limits:            herald.Limits{TenantRPS: cfg.TenantRPS, Disabled: !cfg.Pacing},
		Concurrency:       cfg.Concurrency,
		NodeID:            node,
		Logger:            log,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	bot, err := newServeBot(cfg, conn, st, hc, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := eng.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	if err := bot.Start(ctx); err != nil {
		ln.Close()
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout)
		defer cancel()
		_ = eng.Stop(stopCtx)
		return fmt.Errorf("serve: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": node, "store": st.Dialect()})
	})
	mux.Handle("POST /api/messages", bot)
	if cfg.InternalAPI {
		mountInternal(mux, eng)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "herald serving on http://%s (node %s, %s store)\n", ln.Addr(), node, st.Dialect())

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout)
	defer cancel()
	shutErr := srv.Shutdown(stopCtx)
	botErr := bot.Stop(stopCtx)
	engErr := eng.Stop(stopCtx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, shutErr, botErr, engErr)
}

// newServeBot builds the bot endpoint: verified inbound activities keep
// the directory current and get welcomes and commands answered.
func newServeBot(cfg serveConfig, conn *botframework.Connector, st *sqlstore.Store, hc *http.Client, log *slog.Logger) (*herald.Bot, error) {
	vc := botauth.VerifierConfig{AppID: cfg.AppID, HTTPClient: hc, Logger: log}
	if cfg.Emulator != "" {
		vc.MetadataURL = cfg.Emulator + "/v1/.well-known/openidconfiguration"
	}
	v, err := botauth.NewVerifier(vc)
	if err != nil {
		return nil, err
	}
	return herald.NewBot(herald.BotConfig{AppID: cfg.AppID, Verifier: v, Connector: conn, Store: st, Logger: log})
}

// mountInternal serves a minimal JSON interface to the engine for tests
// and local trials, until the /v1 API exists: POST /internal/notifications
// (a NotificationRequest) and GET /internal/notifications/{id}. It has no
// authentication: it is off unless --internal-api on.
func mountInternal(mux *http.ServeMux, eng *herald.Engine) {
	mux.HandleFunc("POST /internal/notifications", func(w http.ResponseWriter, r *http.Request) {
		var req herald.NotificationRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		n, err := eng.Send(r.Context(), req)
		switch {
		case errors.Is(err, herald.ErrInvalid):
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusAccepted, n)
		}
	})
	mux.HandleFunc("GET /internal/notifications/{id}", func(w http.ResponseWriter, r *http.Request) {
		n, err := eng.Get(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, herald.ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusOK, n)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
