package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herald/engine"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/sqlstore"
)

// engineBenchResult is what `herald bench engine --json` prints.
type engineBenchResult struct {
	SQLite   *throughputResult `json:"sqlite,omitempty"`
	Postgres *throughputResult `json:"postgres,omitempty"`
	Pacing   *pacingResult     `json:"pacing,omitempty"`
	Memory   *memoryResult     `json:"memory,omitempty"`
	Cores    int               `json:"cores"`
}

// throughputResult is part (a): deliveries per second against an
// unlimited emulator, beside a plain loop making the same calls.
type throughputResult struct {
	PerS         float64 `json:"per_s"`
	BaselinePerS float64 `json:"baseline_per_s"`
	Ratio        float64 `json:"ratio"`
	Seconds      float64 `json:"seconds"`
	BaselineS    float64 `json:"baseline_seconds"`
	Recipients   int     `json:"recipients"`
	Tenants      int     `json:"tenants"`
	Concurrency  int     `json:"concurrency"`
	Delivered    int     `json:"delivered"`
	// CPU seconds used during each run: by this process (emulator and
	// engine or loop), and by the rest of the machine (the database).
	CPU         cpuUse `json:"cpu"`
	BaselineCPU cpuUse `json:"baseline_cpu"`
	// FirstS and LastS are when the first and the last delivery were
	// recorded delivered, in seconds from the send.
	FirstS float64 `json:"first_delivered_s"`
	LastS  float64 `json:"last_delivered_s"`
}

// pacingResult is part (b): Teams' limits on, one tenant and one channel.
type pacingResult struct {
	TenantS          float64 `json:"tenant_s"`
	TenantMinS       float64 `json:"tenant_min_s"`
	TenantRecipients int     `json:"tenant_recipients"`
	ChannelS         float64 `json:"channel_s"`
	ChannelMinS      float64 `json:"channel_min_s"`
	ChannelPosts     int     `json:"channel_posts"`
	Throttled        int64   `json:"throttled"`
}

// memoryResult is part (c): peak resident memory of a process delivering
// one notification to many recipients.
type memoryResult struct {
	Recipients int     `json:"recipients"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	Seconds    float64 `json:"seconds"`
	Delivered  int     `json:"delivered"`
	// PeakHeapMB and PeakGoSysMB are the Go runtime's view: heap in use
	// and memory obtained from the system.
	PeakHeapMB  float64 `json:"peak_heap_mb"`
	PeakGoSysMB float64 `json:"peak_go_sys_mb"`
}

type engineBenchFlags struct {
	asJSON           bool
	postgres         string
	recipients       int
	tenants          int
	concurrency      int
	pacingRecipients int
	channelPosts     int
	memoryRecipients int
	parts            string
	stores           string
	throughputPacing bool
	cpuProfile       string
	// memory child mode (internal)
	child, childStore, childEmulator string
}

func runBenchEngine(ctx context.Context, args []string, e *env) error {
	var f engineBenchFlags
	fs := flag.NewFlagSet("bench engine", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fs.StringVar(&f.postgres, "postgres", e.getenv("HERALD_TEST_POSTGRES_URL"), "PostgreSQL database to measure (a fresh schema is used and dropped); empty skips PostgreSQL")
	fs.IntVar(&f.recipients, "recipients", 100_000, "recipients of the throughput run")
	fs.IntVar(&f.tenants, "tenants", 200, "tenants of the throughput run")
	fs.IntVar(&f.concurrency, "concurrency", 64, "calls in flight, for the engine and the baseline")
	fs.IntVar(&f.pacingRecipients, "pacing-recipients", 3000, "recipients in one tenant for the pacing run")
	fs.IntVar(&f.channelPosts, "channel-posts", 200, "posts into one channel for the pacing run")
	fs.IntVar(&f.memoryRecipients, "memory-recipients", 1_000_000, "recipients of the memory run")
	fs.BoolVar(&f.throughputPacing, "throughput-pacing", false, "apply Herald's pacing in the throughput part too (the emulator's limits are off there, and the baseline does not pace)")
	fs.StringVar(&f.parts, "parts", "throughput,pacing,memory", "parts to run")
	fs.StringVar(&f.stores, "stores", "sqlite,postgres", "stores of the throughput part (postgres needs --postgres)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the throughput part's engine run to this file")
	fs.StringVar(&f.child, "memory-child", "", "internal: run the memory part's engine with this many recipients")
	fs.StringVar(&f.childStore, "child-store", "", "internal")
	fs.StringVar(&f.childEmulator, "child-emulator", "", "internal")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `Usage: herald bench engine [flags]

Measures the delivery engine against an in-process emulator:
  throughput  deliveries/s with the emulator's limits off, on SQLite and on
              PostgreSQL (--postgres), beside a plain loop making the same
              calls with the same concurrency and no persistence;
  pacing      with Teams' limits on: one tenant's recipients against the
              50/s minimum, and posts into one channel against the
              per-conversation minimum, counting 429s;
  memory      peak resident memory of a separate process delivering one
              notification to --memory-recipients users.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.child != "" {
		return runMemoryChild(ctx, f, e)
	}
	if f.recipients < 1 || f.tenants < 1 || f.concurrency < 1 || f.pacingRecipients < 1 || f.channelPosts < 1 || f.memoryRecipients < 1 {
		return usageError{"bench engine: counts must be positive"}
	}
	want := map[string]bool{}
	for _, p := range strings.Split(f.parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "throughput", "pacing", "memory":
			want[p] = true
		default:
			return usageError{fmt.Sprintf("bench engine: unknown part %q", p)}
		}
	}
	res := engineBenchResult{Cores: runtime.NumCPU()}
	progress := e.stderr
	stores := map[string]bool{}
	for _, st := range strings.Split(f.stores, ",") {
		switch st = strings.TrimSpace(st); st {
		case "sqlite", "postgres":
			stores[st] = true
		default:
			return usageError{fmt.Sprintf("bench engine: unknown store %q", st)}
		}
	}
	if want["throughput"] {
		if stores["sqlite"] {
			r, err := benchThroughput(ctx, "sqlite:"+filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-%d.db", os.Getpid())), f, progress)
			if err != nil {
				return fmt.Errorf("throughput on sqlite: %w", err)
			}
			res.SQLite = r
		}
		if f.postgres != "" && stores["postgres"] {
			r, err := benchThroughput(ctx, f.postgres, f, progress)
			if err != nil {
				return fmt.Errorf("throughput on postgres: %w", err)
			}
			res.Postgres = r
		}
	}
	if want["pacing"] {
		r, err := benchPacing(ctx, f, progress)
		if err != nil {
			return fmt.Errorf("pacing: %w", err)
		}
		res.Pacing = r
	}
	if want["memory"] {
		r, err := benchMemory(ctx, f, progress)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		res.Memory = r
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	printEngineBench(e.stdout, res)
	return nil
}

func printEngineBench(w io.Writer, r engineBenchResult) {
	for name, t := range map[string]*throughputResult{"sqlite": r.SQLite, "postgres": r.Postgres} {
		if t != nil {
			fmt.Fprintf(w, "throughput %-8s %8.0f deliveries/s, baseline %8.0f/s, ratio %.2f (%d recipients, %d tenants, %d in flight)\n",
				name, t.PerS, t.BaselinePerS, t.Ratio, t.Recipients, t.Tenants, t.Concurrency)
		}
	}
	if p := r.Pacing; p != nil {
		fmt.Fprintf(w, "pacing     tenant  %.1f s for %d recipients (minimum %.1f s, ratio %.3f)\n", p.TenantS, p.TenantRecipients, p.TenantMinS, p.TenantS/p.TenantMinS)
		fmt.Fprintf(w, "pacing     channel %.1f s for %d posts (minimum %.1f s, ratio %.3f), %d throttled\n", p.ChannelS, p.ChannelPosts, p.ChannelMinS, p.ChannelS/p.ChannelMinS, p.Throttled)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "memory     %.0f MB peak RSS for %d recipients (%.0f s)\n", m.PeakRSSMB, m.Recipients, m.Seconds)
	}
	fmt.Fprintf(w, "on %d cores\n", r.Cores)
}

// benchWorld is an emulator on a loopback listener and a connector to it.
type benchWorld struct {
	emu  *emulator.Emulator
	srv  *http.Server
	base string
	conn *botframework.Connector
	hc   *http.Client
}

func newBenchWorld(limits emulator.Limits, concurrency int) (*benchWorld, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	log := -1 // no request log: it costs time and memory at this scale
	if !limits.Disabled {
		log = 0 // the default: the pacing part reads the requests' times
	}
	w := &benchWorld{emu: emulator.New(emulator.Config{Limits: limits, RequestLog: log})}
	w.base = "http://" + ln.Addr().String()
	w.emu.SetBaseURL(w.base)
	w.srv = &http.Server{Handler: w.emu, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	w.hc = benchHTTPClient(concurrency)
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: w.emu.AppID(), AppSecret: w.emu.AppSecret(), Authority: w.base, HTTPClient: w.hc})
	if err != nil {
		w.close()
		return nil, err
	}
	w.conn = botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: w.hc, Tokens: tokens, TrustedHosts: []string{ln.Addr().String()}})
	return w, nil
}

// benchHTTPClient keeps enough idle connections for the concurrency.
func benchHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency * 2
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

func (w *benchWorld) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.srv.Shutdown(ctx)
	w.emu.Close()
}

// benchUser is a user set up in the emulator and the directory.
type benchUser struct {
	id, tenant, conv, name string
}

// addUsers creates tenants × perTenant users in the emulator with the bot
// installed, returning them with their personal conversations.
func (w *benchWorld) addUsers(ctx context.Context, prefix string, tenants, perTenant int) ([]string, []benchUser, error) {
	var tids []string
	var users []benchUser
	for t := range tenants {
		tn, err := w.emu.AddTenant(emulator.TenantSpec{Name: fmt.Sprintf("%sTenant%d", prefix, t)})
		if err != nil {
			return nil, nil, err
		}
		tids = append(tids, tn.ID)
		for i := range perTenant {
			u, err := w.emu.AddUser(emulator.UserSpec{TenantID: tn.ID, Name: fmt.Sprintf("User%d T%d", i, t)})
			if err != nil {
				return nil, nil, err
			}
			d, err := w.emu.InstallPersonal(ctx, u.ID)
			if err != nil {
				return nil, nil, err
			}
			users = append(users, benchUser{id: u.ID, tenant: tn.ID, conv: d.ConversationID, name: u.Name})
		}
	}
	return tids, users, nil
}

// openBenchStore opens a fresh store: a new SQLite file, or a new schema.
func openBenchStore(ctx context.Context, dsn string) (*sqlstore.Store, func(), error) {
	if strings.HasPrefix(dsn, "sqlite:") {
		path := strings.TrimPrefix(dsn, "sqlite:")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
		st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, func() {
			st.Close()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}, nil
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "herald_bench_" + hex.EncodeToString(b)
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Schema: schema, MaxConns: 16})
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		_, _ = st.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		st.Close()
	}, nil
}

// fillDirectory records the tenants and users in the store, in parallel
// (PostgreSQL gains from it; SQLite serialises anyway).
func fillDirectory(ctx context.Context, st *sqlstore.Store, serviceURL string, tenants []string, users []benchUser) error {
	for _, t := range tenants {
		if err := st.TenantUpsert(ctx, herald.Tenant{ID: t, ServiceURL: serviceURL}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				u := users[i]
				given, _, _ := strings.Cut(u.name, " ")
				_, err := st.UserUpsert(ctx, herald.UserUpsertParams{ID: u.id, TenantID: u.tenant, Name: u.name, GivenName: given, ConversationID: u.conv})
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// benchContent is the message every run sends.
var benchContent = herald.Content{Text: "Scheduled maintenance tonight at 22:00 UTC. Save your work."}

func newBenchEngine(st *sqlstore.Store, w *benchWorld, limits engine.Limits, concurrency int, log *slog.Logger) (*engine.Engine, error) {
	return engine.New(engine.Config{
		Store: st, Queue: st.RiverDriver(), Connector: w.conn,
		Bot:               botframework.ChannelAccount{ID: w.emu.BotID(), Name: "Herald"},
		DefaultServiceURL: w.emu.ServiceURL(), Limits: limits, Concurrency: concurrency,
		NodeID: "bench", Logger: log,
	})
}

// sendAndWait sends req and waits for the notification to finish.
func sendAndWait(ctx context.Context, eng *engine.Engine, req herald.NotificationRequest) (herald.Notification, time.Duration, error) {
	start := time.Now()
	n, err := eng.Send(ctx, req)
	if err != nil {
		return n, 0, err
	}
	n, err = eng.Wait(ctx, n.ID)
	return n, time.Since(start), err
}

// benchThroughput measures part (a) on one store.
func benchThroughput(ctx context.Context, dsn string, f engineBenchFlags, progress io.Writer) (*throughputResult, error) {
	w, err := newBenchWorld(emulator.Limits{Disabled: true}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	per := max(1, f.recipients/f.tenants)
	tenants, users, err := w.addUsers(ctx, "", f.tenants, per)
	if err != nil {
		return nil, err
	}
	st, cleanup, err := openBenchStore(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), tenants, users); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "throughput %s: %d recipients in %d tenants ready\n", st.Dialect(), len(users), len(tenants))

	meter := startCPU()
	baseline, err := runBaseline(ctx, w, users, f.concurrency)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	baselineCPU := meter.stop()
	fmt.Fprintf(progress, "throughput %s: baseline %.0f/s\n", st.Dialect(), float64(len(users))/baseline.Seconds())

	eng, err := newBenchEngine(st, w, engine.Limits{Disabled: !f.throughputPacing}, f.concurrency, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile + "." + st.Dialect())
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
	}
	meter = startCPU()
	sent := time.Now()
	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: tenants}, Content: benchContent})
	engineCPU := meter.stop()
	if f.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	if n.Counts.Delivered != len(users) {
		return nil, fmt.Errorf("delivered %d of %d (%+v)", n.Counts.Delivered, len(users), n.Counts)
	}
	r := &throughputResult{
		PerS: float64(len(users)) / took.Seconds(), BaselinePerS: float64(len(users)) / baseline.Seconds(),
		Seconds: took.Seconds(), BaselineS: baseline.Seconds(), Recipients: len(users), Tenants: len(tenants),
		Concurrency: f.concurrency, Delivered: n.Counts.Delivered, CPU: engineCPU, BaselineCPU: baselineCPU,
	}
	r.Ratio = r.PerS / r.BaselinePerS
	var first, last int64
	if err := st.DB().QueryRowContext(ctx, `SELECT min(delivered_at), max(delivered_at) FROM deliveries WHERE notification_id = $1`, n.ID).Scan(&first, &last); err != nil {
		return nil, err
	}
	r.FirstS, r.LastS = time.UnixMicro(first).Sub(sent).Seconds(), time.UnixMicro(last).Sub(sent).Seconds()
	fmt.Fprintf(progress, "throughput %s: engine %.0f/s (ratio %.2f; first delivery at %.2f s, last at %.2f s of %.2f s); CPU s: baseline %.1f here + %.1f elsewhere, engine %.1f here + %.1f elsewhere\n",
		st.Dialect(), r.PerS, r.Ratio, r.FirstS, r.LastS, r.Seconds, baselineCPU.Process, baselineCPU.Other, engineCPU.Process, engineCPU.Other)
	return r, nil
}

// runBaseline sends the same message to every user with a plain loop of
// concurrency goroutines: no persistence, no pacing, no retries.
func runBaseline(ctx context.Context, w *benchWorld, users []benchUser, concurrency int) (time.Duration, error) {
	cl := w.conn.Client(w.emu.ServiceURL())
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				a := &botframework.Activity{Type: botframework.TypeMessage, Text: benchContent.Text, TextFormat: botframework.TextFormatMarkdown}
				if _, err := cl.SendToConversation(ctx, users[i].conv, a); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		return took, fmt.Errorf("%d sends failed", n)
	}
	return took, nil
}

// benchPacing measures part (b) with Teams' limits on.
func benchPacing(ctx context.Context, f engineBenchFlags, progress io.Writer) (*pacingResult, error) {
	w, err := newBenchWorld(emulator.Limits{}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	tenants, users, err := w.addUsers(ctx, "", 1, f.pacingRecipients)
	if err != nil {
		return nil, err
	}
	// The channel lives in a tenant of its own, so the tenant run's last
	// second of calls does not delay the first posts.
	chTenants, chUsers, err := w.addUsers(ctx, "Channel", 1, 1)
	if err != nil {
		return nil, err
	}
	team, err := w.emu.AddTeam(emulator.TeamSpec{TenantID: chTenants[0], Name: "Announcements", Members: []string{chUsers[0].id}})
	if err != nil {
		return nil, err
	}
	if _, err := w.emu.InstallTeam(ctx, emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		return nil, err
	}
	st, cleanup, err := openBenchStore(ctx, "sqlite:"+filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-pacing-%d.db", os.Getpid())))
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), tenants, users); err != nil {
		return nil, err
	}
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), chTenants, chUsers); err != nil {
		return nil, err
	}
	if _, err := st.TeamUpsert(ctx, herald.TeamUpsertParams{ID: team.ID, TenantID: chTenants[0], Name: team.Name, GeneralChannelID: team.ID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		return nil, err
	}
	eng, err := newBenchEngine(st, w, engine.Limits{}, f.concurrency, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	before := w.emu.Counters().Throttled

	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: tenants}, Content: benchContent})
	if err != nil {
		return nil, err
	}
	if n.Counts.Delivered != len(users) {
		return nil, fmt.Errorf("tenant run delivered %d of %d (%+v)", n.Counts.Delivered, len(users), n.Counts)
	}
	r := &pacingResult{TenantS: took.Seconds(), TenantMinS: float64(len(users)) / engine.DefaultTenantRPS, TenantRecipients: len(users), ChannelPosts: f.channelPosts}
	fmt.Fprintf(progress, "pacing: tenant %.1f s (minimum %.1f s)\n", r.TenantS, r.TenantMinS)

	// Channel: many notifications posting to one channel at once.
	start := time.Now()
	ids := make([]string, f.channelPosts)
	for i := range ids {
		n, err := eng.Send(ctx, herald.NotificationRequest{
			Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: team.ID}}},
			Content:  herald.Content{Text: fmt.Sprintf("Update %d", i+1)},
		})
		if err != nil {
			return nil, err
		}
		ids[i] = n.ID
	}
	for _, id := range ids {
		n, err := eng.Wait(ctx, id)
		if err != nil {
			return nil, err
		}
		if n.Counts.Delivered != 1 {
			return nil, fmt.Errorf("channel post %s: %+v", id, n.Counts)
		}
	}
	r.ChannelS = time.Since(start).Seconds()
	r.ChannelMinS = engine.MinDuration(f.channelPosts, engine.TeamsConversationWindows()).Seconds()
	after := w.emu.Counters().Throttled
	r.Throttled = (after.Conversation + after.Tenant + after.Storm) - (before.Conversation + before.Tenant + before.Storm)
	fmt.Fprintf(progress, "pacing: channel %.1f s (minimum %.1f s), %d throttled\n", r.ChannelS, r.ChannelMinS, r.Throttled)
	return r, nil
}

// benchMemory measures part (c): it prepares the directory, then runs the
// engine in a child process and reads the child's peak resident memory.
func benchMemory(ctx context.Context, f engineBenchFlags, progress io.Writer) (*memoryResult, error) {
	w, err := newBenchWorld(emulator.Limits{Disabled: true}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	seed, err := w.emu.SeedUsers(f.memoryRecipients)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-memory-%d.db", os.Getpid()))
	st, cleanup, err := openBenchStore(ctx, "sqlite:"+path)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := st.TenantUpsert(ctx, herald.Tenant{ID: seed.TenantID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		return nil, err
	}
	users := make([]benchUser, 0, 1024)
	flush := func() error {
		err := fillDirectory(ctx, st, w.emu.ServiceURL(), nil, users)
		users = users[:0]
		return err
	}
	for i := 1; i <= f.memoryRecipients; i++ {
		u, err := w.emu.User(fmt.Sprintf("user%d@fabrikam.com", i))
		if err != nil {
			return nil, err
		}
		users = append(users, benchUser{id: u.ID, tenant: seed.TenantID, name: u.Name})
		if len(users) == cap(users) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if i%100_000 == 0 {
			fmt.Fprintf(progress, "memory: %d users in the directory\n", i)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "engine", "--memory-child", fmt.Sprint(f.memoryRecipients),
		"--child-store", "sqlite:"+path, "--child-emulator", w.base, "--concurrency", fmt.Sprint(f.concurrency))
	cmd.Stderr = progress
	st.Close()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("memory child: %w", err)
	}
	var r memoryResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("memory child output %q: %w", out, err)
	}
	// The child reads its own high-water mark. The wait status's maxrss
	// is no use here: Linux starts a child's count at its parent's peak
	// (the parent's memory is the child's until exec), and this parent
	// holds the emulator with every user.
	if r.PeakRSSMB == 0 {
		return nil, errors.New("memory child: peak resident memory unknown (no /proc/self/status)")
	}
	fmt.Fprintf(progress, "memory: %.0f MB peak RSS (Go heap %.0f MB, Go total %.0f MB) for %d recipients in %.0f s\n", r.PeakRSSMB, r.PeakHeapMB, r.PeakGoSysMB, r.Recipients, r.Seconds)
	return &r, nil
}

// runMemoryChild is the child of the memory part: it delivers one
// notification to every user of the store's one tenant and prints a
// memoryResult (without the memory, which the parent measures).
func runMemoryChild(ctx context.Context, f engineBenchFlags, e *env) error {
	st, err := sqlstore.Open(ctx, f.childStore, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	hc := benchHTTPClient(f.concurrency)
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultAppSecret, Authority: f.childEmulator, HTTPClient: hc})
	if err != nil {
		return err
	}
	host := strings.TrimPrefix(f.childEmulator, "http://")
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: []string{host}})
	eng, err := engine.New(engine.Config{
		Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: botframework.BotID(emulator.DefaultAppID)},
		DefaultServiceURL: f.childEmulator + "/teams/",
		// One tenant: no tenant limit, so the run takes minutes, not
		// hours; the per-conversation pacing (and its memory) stays on.
		Limits:      engine.Limits{TenantRPS: -1},
		Concurrency: f.concurrency, NodeID: "bench-memory",
	})
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	// Sample the Go heap while the notification runs, to tell it apart
	// from the rest of the resident memory.
	var peakHeap, peakSys uint64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap, peakSys = max(peakHeap, ms.HeapInuse), max(peakSys, ms.Sys)
			if path := os.Getenv("HERALD_BENCH_HEAPPROFILE"); path != "" && ms.HeapInuse >= peakHeap {
				if hf, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(hf)
					hf.Close()
				}
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{emulator.LoadTenantID}}, Content: benchContent})
	close(stopSampling)
	<-sampled
	if err != nil {
		return err
	}
	return json.NewEncoder(e.stdout).Encode(memoryResult{Recipients: n.Counts.Total(), Seconds: took.Seconds(), Delivered: n.Counts.Delivered,
		PeakHeapMB: float64(peakHeap) / (1 << 20), PeakGoSysMB: float64(peakSys) / (1 << 20), PeakRSSMB: peakRSSMB()})
}

// peakRSSMB is this process's peak resident memory in MB, from VmHWM in
// /proc/self/status (0 where it cannot be read).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
