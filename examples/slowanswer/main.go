// Command slowanswer is an example Teams bot built on Herald's library.
// Asked how many primes there are below some number, it acknowledges the
// question at once ("Working on it…") and posts the answer into the same
// conversation when the computation ends. The answer is a durable
// follow-up (Bot.HandleLater and Turn.Later): if the process dies in
// between, the next start computes it again and posts it.
//
// Usage:
//
//	slowanswer --emulator http://127.0.0.1:3979 [--addr 127.0.0.1:3978]
//	    [--store slowanswer.db] [--work 3s] [--app-id ID --app-secret SECRET]
//
// See README.md for running it against `herald emulator`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"herald/bot"
	"herald/engine"

	"herald/botauth"
	"herald/botframework"
	"herald/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "slowanswer:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	addr, store, emulator, appID, appSecret string
	work                                    time.Duration
}

// The emulator's default bot credentials (`herald emulator --app-id`,
// `--app-secret`).
const (
	emulatorAppID     = "00000000-0000-0000-0000-000000000001"
	emulatorAppSecret = "emulator-secret"
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("slowanswer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3978", "address to serve the messaging endpoint /api/messages on")
	fs.StringVar(&c.store, "store", "slowanswer.db", "SQLite file holding the directory and the pending follow-ups")
	fs.StringVar(&c.emulator, "emulator", "", "base URL of a herald emulator to use instead of Microsoft Teams")
	fs.StringVar(&c.appID, "app-id", emulatorAppID, "the bot's Microsoft app id")
	fs.StringVar(&c.appSecret, "app-secret", emulatorAppSecret, "the bot's client secret")
	fs.DurationVar(&c.work, "work", 3*time.Second, "the least time an answer takes (a slow backend, standing in)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.work < 0:
		return config{}, errors.New("--work must not be negative")
	case c.appID == "" || c.appSecret == "":
		return config{}, errors.New("--app-id and --app-secret are required")
	}
	c.emulator = strings.TrimRight(c.emulator, "/")
	if c.emulator != "" {
		if u, err := url.Parse(c.emulator); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("--emulator %q is not an http(s) URL", c.emulator)
		}
	}
	return c, nil
}

// run serves the bot until ctx ends, then stops it gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := sqlstore.Open(ctx, "sqlite:"+cfg.store, sqlstore.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	bot, eng, err := newBot(cfg, st, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	// The job runner takes up at once what a crash of this process left
	// running (the same node id each time), then runs the follow-ups.
	if err := eng.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/messages", bot)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "slowanswer listening on http://%s/api/messages\n", ln.Addr())

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	shutErr := srv.Shutdown(stopCtx)
	botErr := eng.Stop(stopCtx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, shutErr, botErr)
}

// newBot wires Herald's bot endpoint: tokens out, verification in, the
// Connector, the store, a job runner (Herald's engine) for the follow-ups,
// and this bot's handler and follow-up.
func newBot(cfg config, st *sqlstore.Store, log *slog.Logger) (*bot.Bot, *engine.Engine, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	tc := botauth.TokenConfig{AppID: cfg.appID, AppSecret: cfg.appSecret, HTTPClient: hc}
	vc := botauth.VerifierConfig{AppID: cfg.appID, HTTPClient: hc, Logger: log}
	var trusted []string
	if cfg.emulator != "" {
		u, _ := url.Parse(cfg.emulator) // checked by parseFlags
		tc.Authority = cfg.emulator
		vc.MetadataURL = cfg.emulator + "/v1/.well-known/openidconfiguration"
		trusted = []string{u.Host}
	}
	tokens, err := botauth.NewTokenSource(tc)
	if err != nil {
		return nil, nil, err
	}
	verifier, err := botauth.NewVerifier(vc)
	if err != nil {
		return nil, nil, err
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: trusted})
	eng, err := engine.New(engine.Config{Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: botframework.BotID(cfg.appID), Name: "Slow Answer"}, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	b, err := bot.New(bot.Config{
		AppID:     cfg.appID,
		BotName:   "Slow Answer",
		Verifier:  verifier,
		Connector: conn,
		Store:     st,
		Jobs:      eng,
		Logger:    log,
		// Every message goes to ask; "help" gets its usage line.
		DisableCommands: true,
	})
	if err != nil {
		return nil, nil, err
	}
	a := answerer{work: cfg.work}
	b.HandleLater(primesFollowUp, a.answer)
	b.OnMessage(a.ask)
	eng.HandleJobs(b.RunJob)
	return b, eng, nil
}
