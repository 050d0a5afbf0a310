package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"herald/emulator"
)

// installsResult is the installs part of `herald bench inbound`: a burst
// of personal installs from the emulator into a running Herald, each of
// which must end in exactly one welcome in the user's personal chat.
type installsResult struct {
	Installs int `json:"installs"`
	// Accepted counts installs whose every activity Herald answered 200.
	Accepted int `json:"accepted"`
	// Welcomes counts the activities the bot sent during the burst; each
	// is a message in one user's personal chat.
	Welcomes int `json:"welcomes"`
	// WelcomedOnce counts users with exactly one welcome in their chat.
	WelcomedOnce int `json:"users_welcomed_once"`
	// AcceptS is from the first install to the last one answered.
	AcceptS float64 `json:"accept_s"`
	// FirstWelcomeS and LastWelcomeS are when the emulator recorded the
	// first and the last welcome, from the first install.
	FirstWelcomeS float64 `json:"first_welcome_s"`
	LastWelcomeS  float64 `json:"last_welcome_s"`
	// WelcomesPerS is Installs / LastWelcomeS.
	WelcomesPerS float64 `json:"welcomes_per_s"`
	// CPU is what the process (emulator and Herald) used from the first
	// install until every welcome was seen; CPUPerWelcomeMs is its
	// Process share per welcome.
	CPU             cpuUse  `json:"cpu"`
	CPUPerWelcomeMs float64 `json:"cpu_per_welcome_ms"`
	// EmulatorInstallMs is the CPU per install of the emulator alone (no
	// bot: building, signing and recording the two activities), measured
	// on up to emulatorSample installs; NetCPUPerWelcomeMs is
	// CPUPerWelcomeMs less it: Herald, plus the HTTP both ways and the
	// emulator's Connector side.
	EmulatorInstallMs  float64 `json:"emulator_cpu_per_install_ms"`
	NetCPUPerWelcomeMs float64 `json:"net_cpu_per_welcome_ms"`
	Concurrency        int     `json:"concurrency"`
	Cores              int     `json:"cores"`
	Store              string  `json:"store"`
}

// installFlags configure the installs part.
type installFlags struct {
	n, concurrency  int
	timeout, settle time.Duration
	cpuProfile      string // a CPU profile of the burst is written here
}

// emulatorSample caps the installs of the emulator-alone measurement.
const emulatorSample = 1000

func (r *installsResult) print(w io.Writer) {
	fmt.Fprintf(w, "installs: %d personal installs accepted in %.2f s (%d in flight); all %d welcomes delivered %.2f s after the first install (first after %.2f s): %.1f welcomes/s\n",
		r.Accepted, r.AcceptS, r.Concurrency, r.Welcomes, r.LastWelcomeS, r.FirstWelcomeS, r.WelcomesPerS)
	fmt.Fprintf(w, "          CPU %.2f s, %.2f ms per welcome (the emulator alone %.2f ms per install, leaving %.2f ms) on %d cores, %s store\n",
		r.CPU.Process, r.CPUPerWelcomeMs, r.EmulatorInstallMs, r.NetCPUPerWelcomeMs, r.Cores, r.Store)
}

// benchInstalls runs the installs part. A welcome missing, duplicated or
// sent elsewhere is an error, as is an install Herald did not accept.
func benchInstalls(ctx context.Context, f installFlags, progress io.Writer) (_ *installsResult, err error) {
	emuMs, err := emulatorInstallCPU(ctx, min(f.n, emulatorSample), f.concurrency)
	if err != nil {
		return nil, fmt.Errorf("emulator alone: %w", err)
	}
	dir, err := os.MkdirTemp("", "herald-bench-installs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	node, err := startInstallNode(ctx, dir, f.concurrency, progress)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, node.close(ctx)) }()
	em := node.em
	if err := warmUpInstall(ctx, em); err != nil {
		return nil, err
	}
	users, err := seedInstallUsers(em, f.n)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	base := em.Counters().ActivitiesFromBot
	stopProfile, err := startProfile(f.cpuProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	start, cpu := time.Now(), startCPU()
	convs, accepted, err := installBurst(tctx, em, users, f.concurrency)
	acceptS := time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	if err := awaitWelcomes(tctx, em, base, f.n, start, progress); err != nil {
		return nil, err
	}
	use := cpu.stop()
	stopProfile()
	if err := sleepCtx(ctx, f.settle); err != nil {
		return nil, err
	}
	tally := tallyWelcomes(em, convs)
	tally.sent = em.Counters().ActivitiesFromBot - base
	once, err := tally.check()
	if err != nil {
		return nil, err
	}
	if err := em.Err(); err != nil {
		return nil, fmt.Errorf("the emulator saw bad requests: %w", err)
	}
	last := tally.last.Sub(start).Seconds()
	perWelcome := use.Process * 1000 / float64(f.n)
	return &installsResult{
		Installs: f.n, Accepted: accepted, Welcomes: int(tally.sent), WelcomedOnce: once,
		AcceptS: acceptS, FirstWelcomeS: tally.first.Sub(start).Seconds(), LastWelcomeS: last,
		WelcomesPerS: float64(f.n) / last, CPU: use, CPUPerWelcomeMs: perWelcome,
		EmulatorInstallMs: emuMs, NetCPUPerWelcomeMs: perWelcome - emuMs,
		Concurrency: f.concurrency, Cores: runtime.GOMAXPROCS(0), Store: node.h.store.Dialect(),
	}, nil
}

// installNode is the emulator and a Herald wired to it, each on its own
// loopback listener.
type installNode struct {
	em     *emulator.Emulator
	emuSrv *loopback
	h      *heraldNode
	client *http.Client
}

// startInstallNode starts the emulator (Teams' limits off) and a Herald
// on a fresh SQLite store in dir (pacing off), as `herald demo` does.
func startInstallNode(ctx context.Context, dir string, concurrency int, logw io.Writer) (*installNode, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	n := &installNode{client: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	n.em = emulator.New(emulator.Config{BotURL: "http://" + ln.Addr().String() + "/api/messages",
		HTTPClient: n.client, Limits: emulator.Limits{Disabled: true}})
	if n.emuSrv, err = serveLoopback(n.em); err != nil {
		n.em.Close()
		ln.Close()
		return nil, err
	}
	n.em.SetBaseURL(n.emuSrv.url)
	cfg, err := parseServeConfig([]string{"--addr", ln.Addr().String(), "--emulator", n.em.BaseURL(),
		"--store", "sqlite:" + filepath.Join(dir, "herald.db"), "--node", "bench", "--log-level", "error",
		"--pacing", "off", "--roster-refresh", "off", "--stop-timeout", "10s"}, func(string) string { return "" }, io.Discard)
	if err == nil {
		n.h, err = startHerald(ctx, cfg, ln, newLogger(logw, "error"))
	} else {
		ln.Close()
	}
	if err != nil {
		n.emuSrv.close()
		n.em.Close()
		return nil, err
	}
	return n, nil
}

func (n *installNode) close(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := n.h.stop(sctx)
	n.emuSrv.close()
	n.em.Close()
	n.client.CloseIdleConnections()
	return err
}

// warmUpInstall installs the bot for one user outside the measurement and
// waits for the welcome, so that Herald has fetched the signing keys and
// its token before the burst.
func warmUpInstall(ctx context.Context, em *emulator.Emulator) error {
	t, err := em.AddTenant(emulator.TenantSpec{Name: "Warm Up"})
	if err != nil {
		return err
	}
	u, err := em.AddUser(emulator.UserSpec{TenantID: t.ID, Name: "Warm Up"})
	if err != nil {
		return err
	}
	d, err := em.InstallPersonal(ctx, u.ID)
	if err := installAccepted(d, err); err != nil {
		return fmt.Errorf("warm-up install: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := em.AwaitFromBot(wctx, d.ConversationID, 1); err != nil {
		return fmt.Errorf("warm-up welcome: %w", err)
	}
	return nil
}

// seedInstallUsers adds a tenant and n users to it, none with the bot
// installed, and returns their ids.
func seedInstallUsers(em *emulator.Emulator, n int) ([]string, error) {
	t, err := em.AddTenant(emulator.TenantSpec{Name: "Bench"})
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i := range ids {
		u, err := em.AddUser(emulator.UserSpec{TenantID: t.ID, Name: fmt.Sprintf("Bench User %d", i+1)})
		if err != nil {
			return nil, fmt.Errorf("seed user %d: %w", i+1, err)
		}
		ids[i] = u.ID
	}
	return ids, nil
}

// installBurst installs the bot for every user, concurrency at a time,
// and returns each user's personal chat and how many installs Herald
// accepted. Any install not accepted is an error.
func installBurst(ctx context.Context, em *emulator.Emulator, users []string, concurrency int) ([]string, int, error) {
	convs := make([]string, len(users))
	var next, accepted atomic.Int64
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	for range min(concurrency, len(users)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(users) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				d, err := em.InstallPersonal(ctx, users[i])
				convs[i] = d.ConversationID
				if err := installAccepted(d, err); err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("user %s: %w", users[i], err))
					mu.Unlock()
					continue
				}
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	n := int(accepted.Load())
	switch {
	case len(failed) > 0:
		return convs, n, fmt.Errorf("%d of %d installs not accepted; first: %w", len(failed), len(users), failed[0])
	case n < len(users):
		return convs, n, fmt.Errorf("%d of %d installs sent: %w", n, len(users), context.Cause(ctx))
	}
	return convs, n, nil
}

// installAccepted checks that an install posted its activities and that
// Herald answered each 200.
func installAccepted(d emulator.Delivery, err error) error {
	if err != nil {
		return err
	}
	if len(d.BotStatus) == 0 {
		return errors.New("no activity was posted to the bot")
	}
	for _, s := range d.BotStatus {
		if s != http.StatusOK {
			return fmt.Errorf("the bot endpoint answered %d", s)
		}
	}
	return nil
}

// awaitWelcomes polls the emulator's count of activities from the bot
// until n more than base have arrived, reporting progress every 5 s.
func awaitWelcomes(ctx context.Context, em *emulator.Emulator, base int64, n int, start time.Time, progress io.Writer) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		got := em.Counters().ActivitiesFromBot - base
		if got >= int64(n) {
			return nil
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(progress, "installs: %d of %d welcomes after %s\n", got, n, time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d welcomes after %s: %w", got, n, time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// welcomeTally is what the emulator's record shows after the burst.
type welcomeTally struct {
	perUser     []int // activities from the bot in each user's personal chat
	sent        int64 // activities the bot sent during the burst, anywhere
	nonMessage  int   // of those in personal chats, ones that are not messages
	first, last time.Time
}

// tallyWelcomes reads each personal chat once.
func tallyWelcomes(em *emulator.Emulator, convs []string) welcomeTally {
	t := welcomeTally{perUser: make([]int, len(convs))}
	for i, c := range convs {
		for _, a := range em.Activities(c) {
			if a.Direction != emulator.FromBot {
				continue
			}
			t.perUser[i]++
			if a.Activity.Type != "message" || a.Deleted {
				t.nonMessage++
			}
			if t.first.IsZero() || a.Time.Before(t.first) {
				t.first = a.Time
			}
			if a.Time.After(t.last) {
				t.last = a.Time
			}
		}
	}
	return t
}

// check returns how many users got exactly one welcome, or an error
// unless every user did and the bot sent nothing else.
func (t welcomeTally) check() (int, error) {
	var once, missing, dup, inChats int
	for _, n := range t.perUser {
		inChats += n
		switch {
		case n == 0:
			missing++
		case n == 1:
			once++
		default:
			dup++
		}
	}
	var errs []error
	if missing > 0 || dup > 0 {
		errs = append(errs, fmt.Errorf("%d of %d users have no welcome and %d more than one (%d welcomes in their chats)",
			missing, len(t.perUser), dup, inChats))
	}
	if t.nonMessage > 0 {
		errs = append(errs, fmt.Errorf("%d activities from the bot in personal chats are not (or no longer) messages", t.nonMessage))
	}
	if elsewhere := t.sent - int64(inChats); elsewhere != 0 {
		errs = append(errs, fmt.Errorf("the bot sent %d activities, %d of them outside the users' chats", t.sent, elsewhere))
	}
	if err := errors.Join(errs...); err != nil {
		return once, fmt.Errorf("welcomes: %w", err)
	}
	return once, nil
}

// emulatorInstallCPU is the CPU in milliseconds per personal install of an
// emulator with no bot, for n installs.
func emulatorInstallCPU(ctx context.Context, n, concurrency int) (float64, error) {
	em := emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	defer em.Close()
	users, err := seedInstallUsers(em, n)
	if err != nil {
		return 0, err
	}
	cpu := startCPU()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				_, _ = em.InstallPersonal(ctx, users[i])
			}
		})
	}
	wg.Wait()
	use := cpu.stop()
	return use.Process * 1000 / float64(n), ctx.Err()
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// startProfile starts a CPU profile written to path ("" profiles
// nothing) and returns the function that stops it; calling it again does
// nothing.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }, nil
}
