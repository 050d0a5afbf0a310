package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"herald/api"
	"herald/emulator"
)

// demoFlags are the flags of `herald demo`.
type demoFlags struct {
	addr, emulatorAddr, logLevel string
	once                         bool
	stepTimeout                  time.Duration
}

const demoUsage = `Usage: herald demo [flags]

Runs a local Microsoft Teams (the emulator, seeded with the Contoso
organisation) and Herald wired to it, in one process, with a fresh SQLite
store in a temporary directory. It then plays a scenario, checking each
step in the emulator's record: Herald is installed in a team and by a few
people (welcome messages), someone joins the team (welcomed), every member
gets a notification card personally, a channel gets a post, and the post is
updated in place. It prints where to look and runs until Ctrl-C; with
--once it exits when the scenario is done, non-zero if a step failed.

A taken default port is replaced by a free one (and said so).

Flags:`

func parseDemoFlags(args []string, e *env) (demoFlags, error) {
	var f demoFlags
	fs := flag.NewFlagSet("herald demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:3978", "Herald's address (bot endpoint, API); port 0 picks a free one")
	fs.StringVar(&f.emulatorAddr, "emulator-addr", "127.0.0.1:3979", "the emulator's address; port 0 picks a free one")
	fs.BoolVar(&f.once, "once", false, "exit when the scenario is done (non-zero if a step failed)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "Herald's and the emulator's log level: debug, info, warn or error")
	fs.DurationVar(&f.stepTimeout, "step-timeout", time.Minute, "how long one step of the scenario may take")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, demoUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, usageError{fmt.Sprintf("demo: unexpected argument %q", fs.Arg(0))}
	case f.stepTimeout <= 0:
		return f, usageError{"demo: --step-timeout must be positive"}
	}
	switch f.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return f, usageError{"demo: --log-level is debug, info, warn or error"}
	}
	return f, nil
}

// runDemo is `herald demo`.
func runDemo(ctx context.Context, args []string, e *env) error {
	f, err := parseDemoFlags(args, e)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "herald-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	log := newLogger(e.stderr, f.logLevel)

	emuLn, err := listenOrFree(e.stdout, "the emulator", f.emulatorAddr)
	if err != nil {
		return err
	}
	herLn, err := listenOrFree(e.stdout, "Herald", f.addr)
	if err != nil {
		emuLn.Close()
		return err
	}
	heraldURL := "http://" + herLn.Addr().String()
	em := emulator.New(emulator.Config{BotURL: heraldURL + "/api/messages", Logger: log})
	defer em.Close()
	em.SetBaseURL("http://" + emuLn.Addr().String())
	seed := em.SeedDemo()
	emuSrv := newHTTPServer(em, defaultTimeouts())
	go func() { _ = emuSrv.Serve(emuLn) }()
	defer emuSrv.Close()

	cfg, err := parseServeConfig([]string{"--addr", herLn.Addr().String(), "--emulator", em.BaseURL(),
		"--store", "sqlite:" + filepath.Join(dir, "herald.db"), "--node", "demo", "--log-level", f.logLevel,
		"--topics", "deploys:Deploy results", "--stop-timeout", "10s"}, func(string) string { return "" }, e.stderr)
	if err != nil {
		herLn.Close()
		return err
	}
	h, err := startHerald(ctx, cfg, herLn, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout)
		defer cancel()
		_ = h.stop(sctx)
	}()
	fmt.Fprintln(e.stdout, "Herald demo: a local Microsoft Teams (the emulator) and Herald, wired together.")
	fmt.Fprintf(e.stdout, "  emulator  %s  (Contoso: %d users; teams %s)\n", em.BaseURL(), len(seed.Users), teamNames(seed.Teams))
	fmt.Fprintf(e.stdout, "  herald    %s  (SQLite store in %s)\n\n", heraldURL, dir)

	d := &demo{e: e, em: em, h: h, seed: seed, stepTimeout: f.stepTimeout, heraldURL: heraldURL}
	if d.api, err = api.NewClient(heraldURL, api.ClientOptions{APIKey: h.keys.keys[0], UserAgent: "herald-demo/" + version}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	scenarioErr := d.play(ctx)
	d.printWhereToLook()
	if f.once || scenarioErr != nil && ctx.Err() != nil {
		return scenarioErr
	}
	if scenarioErr != nil {
		fmt.Fprintf(e.stdout, "\n%v; Herald and the emulator keep running for a look.\n", scenarioErr)
	}
	fmt.Fprintln(e.stdout, "\nPress Ctrl-C to stop.")
	select {
	case <-ctx.Done():
	case err := <-h.served:
		return fmt.Errorf("demo: herald stopped serving: %w", err)
	}
	return nil
}

// listenOrFree listens on addr, or, when its port is taken, on a free
// port of the same host, saying so.
func listenOrFree(w io.Writer, what, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		if err != nil {
			return nil, fmt.Errorf("demo: listen for %s: %w", what, err)
		}
		return ln, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, fmt.Errorf("demo: listen for %s: %w", what, err)
	}
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, fmt.Errorf("demo: listen for %s: %w", what, errors.Join(err, err2))
	}
	fmt.Fprintf(w, "note: %s is taken; %s uses %s instead\n", addr, what, ln.Addr())
	return ln, nil
}

func teamNames(ts []emulator.Team) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// demo is the scenario's state: what it drives and what it found.
type demo struct {
	e           *env
	em          *emulator.Emulator
	h           *heraldNode
	api         *api.Client
	seed        emulator.DemoSeed
	stepTimeout time.Duration
	heraldURL   string

	team      emulator.Team // Engineering
	joiner    emulator.User // who joins it
	personal  []emulator.User
	postConv  string // the channel post's conversation and activity
	postID    string
	aliceConv string
	chatID    string // the group chat
}

// demoStep is one step of the scenario: it returns what it found, or why
// it failed.
type demoStep struct {
	title string
	run   func(ctx context.Context) (string, error)
}

// play runs the steps in order, stopping at the first failure (the later
// steps build on it).
func (d *demo) play(ctx context.Context) error {
	d.team = d.seed.Teams[0]
	d.personal = d.seed.Users[:3]
	d.joiner = d.seed.Users[len(d.seed.Users)-1]
	steps := []demoStep{
		{"install Herald in team " + d.team.Name, d.installTeam},
		{"install Herald personally for " + userNames(d.personal), d.installPersonal},
		{d.joiner.Name + " joins team " + d.team.Name, d.memberJoins},
		{userNames(d.personal) + " add Herald to their group chat " + groupChatTopic, d.installGroupChat},
		{"notify every member of " + d.team.Name + " personally (structured card, topic deploys)", d.notifyTeam},
		{"post in " + d.team.Name + " > General (key demo-release)", d.postChannel},
		{"update that post in place (same key)", d.updatePost},
		{"notify the group chat " + groupChatTopic + " by its conversation id", d.notifyGroupChat},
	}
	for i, s := range steps {
		fmt.Fprintf(d.e.stdout, "[%d/%d] %s\n", i+1, len(steps), s.title)
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, d.stepTimeout)
		found, err := s.run(sctx)
		cancel()
		if err != nil {
			fmt.Fprintf(d.e.stdout, "      FAILED: %v\n", err)
			fmt.Fprintf(d.e.stdout, "\nScenario failed at step %d of %d.\n", i+1, len(steps))
			return fmt.Errorf("demo: step %d (%s) failed: %w", i+1, s.title, err)
		}
		fmt.Fprintf(d.e.stdout, "      ok: %s (%s)\n", found, time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(d.e.stdout, "\nScenario passed: %d of %d steps, each checked in the emulator's record.\n", len(steps), len(steps))
	return nil
}

func userNames(us []emulator.User) string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.GivenName
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// printWhereToLook prints the pages and the API to try.
func (d *demo) printWhereToLook() {
	w := d.e.stdout
	key := d.h.keys.keys[0]
	alice := d.seed.Users[0]
	fmt.Fprintln(w, "\nWhere to look:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  Teams, as the emulator shows it\t%s/\n", d.em.BaseURL())
	fmt.Fprintf(tw, "  %s > General\t%s\n", d.team.Name, d.conversationURL(d.team.ID))
	if d.aliceConv != "" {
		fmt.Fprintf(tw, "  %s's chat with Herald\t%s\n", alice.GivenName, d.conversationURL(d.aliceConv))
	}
	if d.chatID != "" {
		fmt.Fprintf(tw, "  group chat %s\t%s\n", groupChatTopic, d.conversationURL(d.chatID))
	}
	fmt.Fprintf(tw, "  Herald's API\t%s/v1 (OpenAPI: %s/v1/openapi.json)\n", d.heraldURL, d.heraldURL)
	fmt.Fprintf(tw, "  API key\t%s\n", key)
	_ = tw.Flush()
	fmt.Fprintln(w, "\nTry:")
	fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' -d 'Hello from curl' %s/v1/send/%s\n", key, d.heraldURL, alice.Email)
	fmt.Fprintf(w, "  HERALD_URL=%s HERALD_API_KEY=%s go run ./cmd/herald notifications ls\n", d.heraldURL, key)
}

func (d *demo) conversationURL(id string) string {
	return d.em.BaseURL() + "/conversations/" + url.PathEscape(id)
}
