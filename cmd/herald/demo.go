package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"herald"
	"herald/api"
	"herald/card"
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
	emuSrv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
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
		{"notify every member of " + d.team.Name + " personally (structured card, topic deploys)", d.notifyTeam},
		{"post in " + d.team.Name + " > General (key demo-release)", d.postChannel},
		{"update that post in place (same key)", d.updatePost},
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

// fromBot returns the activities the bot sent into a conversation.
func (d *demo) fromBot(conv string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range d.em.Activities(conv) {
		if a.Direction == emulator.FromBot {
			out = append(out, a)
		}
	}
	return out
}

// awaitFromBot waits until the bot has sent at least n activities into
// the conversation conv() names (empty while it does not exist).
func (d *demo) awaitFromBot(ctx context.Context, what string, conv func() string, n int) error {
	err := d.em.Await(ctx, func(*emulator.Emulator) bool {
		c := conv()
		return c != "" && len(d.fromBot(c)) >= n
	})
	if err != nil {
		return fmt.Errorf("no %s arrived: %w", what, err)
	}
	return nil
}

func botStatusOK(dl emulator.Delivery, err error) error {
	if err != nil {
		return err
	}
	for _, s := range dl.BotStatus {
		if s/100 != 2 {
			return fmt.Errorf("the bot answered the activity with HTTP %d", s)
		}
	}
	return nil
}

func (d *demo) installTeam(ctx context.Context) (string, error) {
	if err := botStatusOK(d.em.InstallTeam(ctx, emulator.InstallTeamSpec{TeamID: d.team.ID})); err != nil {
		return "", err
	}
	general := func() string { return d.team.ID }
	if err := d.awaitFromBot(ctx, "welcome card in General", general, 1); err != nil {
		return "", err
	}
	return "the welcome card is in General", nil
}

func (d *demo) installPersonal(ctx context.Context) (string, error) {
	for _, u := range d.personal {
		dl, err := d.em.InstallPersonal(ctx, u.ID)
		if err := botStatusOK(dl, err); err != nil {
			return "", fmt.Errorf("install for %s: %w", u.Email, err)
		}
		if u.ID == d.seed.Users[0].ID {
			d.aliceConv = dl.ConversationID
		}
		if err := d.awaitFromBot(ctx, "welcome message for "+u.Email, func() string { return dl.ConversationID }, 1); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d welcome messages, one in each chat", len(d.personal)), nil
}

func (d *demo) memberJoins(ctx context.Context) (string, error) {
	before := len(d.fromBot(d.team.ID))
	if err := botStatusOK(d.em.AddMember(ctx, d.team.ID, d.joiner.ID)); err != nil {
		return "", err
	}
	if err := d.awaitFromBot(ctx, "welcome for the new member in General", func() string { return d.team.ID }, before+1); err != nil {
		return "", err
	}
	personal := func() string {
		c, ok := d.em.PersonalConversation(d.joiner.ID)
		if !ok {
			return ""
		}
		return c
	}
	if err := d.awaitFromBot(ctx, "personal welcome for "+d.joiner.Email, personal, 1); err != nil {
		return "", err
	}
	t, err := d.em.Team(d.team.ID)
	if err != nil {
		return "", err
	}
	d.team = t
	return fmt.Sprintf("welcomed in General and in a personal chat; the team has %d members", t.MemberCount), nil
}

// deployCard is the structured notification of the scenario.
func deployCard(title, style string, optOut bool) *card.Structured {
	s := &card.Structured{
		Title:   title,
		Subject: card.Subject{Name: "checkout-service 2.4.0", URL: "https://example.com/releases/checkout-service/2.4.0"},
		Actor:   card.Actor{Name: "Release pipeline"},
		Details: "Release 2.4.0 of checkout-service rolls out to production in three waves.",
		Facts:   []card.Fact{{Title: "Environment", Value: "production"}, {Title: "Waves", Value: "3"}},
		Actions: []card.Action{{Title: "Open the release", URL: "https://example.com/releases/checkout-service/2.4.0"}},
		Topic:   "deploys",
		Style:   style,
	}
	if !optOut {
		s.OptOut = new(bool)
	}
	return s
}

func (d *demo) notifyTeam(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service started"
	n, err := d.api.Send(ctx, api.NotificationRequest{
		Title: "demo: deploy started", Topic: "deploys",
		Audience: herald.Audience{Teams: []string{d.team.Name}},
		Content:  api.Content{Structured: deployCard(title, card.StyleAccent, true)},
	})
	if err != nil {
		return "", apiError(d.heraldURL, err)
	}
	if n, err = d.follow(ctx, n.ID); err != nil {
		return "", err
	}
	if want := d.team.MemberCount; n.Counts.Delivered != want || n.Progress.Total != want {
		return "", fmt.Errorf("%s: %d of %d delivered, want all %d members", n.ID, n.Counts.Delivered, n.Progress.Total, want)
	}
	seen, err := d.checkDeliveries(ctx, n.ID, title, false)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d delivered; each card is in its member's chat", seen), nil
}

func (d *demo) postChannel(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service 2.4.0: wave 1 of 3"
	id, err := d.sendPost(ctx, title, card.StyleAccent)
	if err != nil {
		return "", err
	}
	if _, err := d.checkDeliveries(ctx, id, title, false); err != nil {
		return "", err
	}
	return "the post is in General", nil
}

func (d *demo) updatePost(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service 2.4.0: done"
	roots := len(d.fromBot(d.postConv))
	id, err := d.sendPost(ctx, title, card.StyleGood)
	if err != nil {
		return "", err
	}
	if _, err := d.checkDeliveries(ctx, id, title, true); err != nil {
		return "", err
	}
	a, ok := d.em.Activity(d.postConv, d.postID)
	switch {
	case !ok:
		return "", fmt.Errorf("the post %s is gone from the emulator's record", d.postID)
	case a.UpdatedAt.IsZero() || len(a.History) == 0:
		return "", fmt.Errorf("the post %s was not updated", d.postID)
	case len(d.fromBot(d.postConv)) != roots:
		return "", errors.New("a new post appeared instead of an update")
	}
	return fmt.Sprintf("the same post now says %q (%d earlier version)", title, len(a.History)), nil
}

// sendPost posts (or, the second time, updates) the channel post and
// waits for it to end.
func (d *demo) sendPost(ctx context.Context, title, style string) (string, error) {
	n, err := d.api.Send(ctx, api.NotificationRequest{
		Title: "demo: " + title, Key: "demo-release",
		Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: d.team.Name, Channel: "General"}}},
		Content:  api.Content{Structured: deployCard(title, style, false)},
	})
	if err != nil {
		return "", apiError(d.heraldURL, err)
	}
	if n, err = d.follow(ctx, n.ID); err != nil {
		return "", err
	}
	if n.Counts.Delivered != 1 || n.Progress.Total != 1 {
		return "", fmt.Errorf("%s: %d of %d delivered, want the one post", n.ID, n.Counts.Delivered, n.Progress.Total)
	}
	return n.ID, nil
}

// follow waits for a notification to end, drawing its progress line.
func (d *demo) follow(ctx context.Context, id string) (api.Notification, error) {
	p := &progress{w: d.e.stdout, tty: isTerminal(d.e.stdout)}
	defer p.end()
	for {
		n, err := d.api.WaitNotification(ctx, id, time.Second)
		if err != nil {
			return n, apiError(d.heraldURL, err)
		}
		p.draw("      " + progressLine(n))
		if n.State.Final() {
			if n.State != herald.NotificationCompleted {
				return n, fmt.Errorf("%s ended %s", id, n.State)
			}
			return n, nil
		}
	}
}

// checkDeliveries checks every delivery of a notification in the
// emulator's record: the message it names is there, from the bot, showing
// title, and (when updated is set) updated in place. It returns how many
// it checked.
func (d *demo) checkDeliveries(ctx context.Context, id, title string, updated bool) (int, error) {
	checked := 0
	q := api.DeliveryQuery{Page: api.Page{Limit: 100}}
	for {
		l, err := d.api.Deliveries(ctx, id, q)
		if err != nil {
			return checked, apiError(d.heraldURL, err)
		}
		for _, dl := range l.Deliveries {
			if err := d.checkDelivery(dl, title, updated); err != nil {
				return checked, err
			}
			checked++
		}
		if l.Next == "" {
			return checked, nil
		}
		q.Cursor = l.Next
	}
}

func (d *demo) checkDelivery(dl herald.Delivery, title string, updated bool) error {
	who := dl.Recipient
	if dl.Email != "" {
		who = dl.Email
	}
	if dl.State != herald.DeliveryDelivered {
		return fmt.Errorf("delivery to %s is %s %s %s", who, dl.State, dl.Reason, dl.Error)
	}
	if dl.Updated != updated {
		return fmt.Errorf("delivery to %s: updated in place is %v, want %v", who, dl.Updated, updated)
	}
	a, ok := d.em.Activity(dl.ConversationID, dl.ActivityID)
	switch {
	case !ok:
		return fmt.Errorf("delivery to %s: message %s is not in conversation %s", who, dl.ActivityID, dl.ConversationID)
	case a.Direction != emulator.FromBot:
		return fmt.Errorf("delivery to %s: message %s is not from the bot", who, dl.ActivityID)
	case !bytes.Contains(a.Raw, []byte(title)):
		return fmt.Errorf("delivery to %s: message %s does not say %q", who, dl.ActivityID, title)
	}
	if dl.Kind == herald.KindChannel {
		d.postConv, d.postID = dl.ConversationID, dl.ActivityID
	}
	return nil
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
