package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/sqlstore"
)

// buildHerald builds the herald binary into dir.
func buildHerald(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "herald")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// heraldProc is a running `herald serve`.
type heraldProc struct {
	cmd  *exec.Cmd
	base string
	done chan error
}

// startServe starts `herald serve` and waits for it to listen.
func startServe(t *testing.T, bin string, stderr io.Writer, args ...string) *heraldProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	// The key comes from the environment, where secrets belong.
	cmd.Env = append(os.Environ(), "HERALD_API_KEYS="+killTestKey)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &heraldProc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "herald serving on ") {
				lines <- sc.Text()
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		p.base = strings.Fields(strings.TrimPrefix(line, "herald serving on "))[0]
	case err := <-p.done:
		t.Fatalf("herald serve exited before listening: %v", err)
	case <-time.After(2 * time.Minute): // a guard only: a loaded machine starts slowly
		_ = cmd.Process.Kill()
		t.Fatal("herald serve did not start listening")
	}
	return p
}

func (p *heraldProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *heraldProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("herald serve exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("herald serve did not stop on SIGTERM")
	}
}

// killTestKey is the API key of the herald under test.
const killTestKey = "kill-test-api-key-0123456789"

func apiRequest(method, url string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+killTestKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return http.DefaultClient.Do(req)
}

func postJSON(base, path string, body, out any) error {
	resp, err := apiRequest(http.MethodPost, base+path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, msg)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func getNotification(base, id string) (herald.Notification, error) {
	var n herald.Notification
	resp, err := apiRequest(http.MethodGet, base+"/v1/notifications/"+id, nil)
	if err != nil {
		return n, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET notification: %s", resp.Status)
	}
	return n, json.NewDecoder(resp.Body).Decode(&n)
}

// killStore is the store of one kill test: the DSN herald serve opens, and
// how the test opens the same database while no herald runs. settle, when
// set, waits for the database to finish what a killed process had sent it
// (a PostgreSQL server completes a statement whose client died).
type killStore struct {
	// atOnce: a restarted process takes up the flights of the killed one
	// at once (SQLite, one process at a time), not after a heartbeat lapse.
	atOnce bool
	dsn    string
	open   func(ctx context.Context) (*sqlstore.Store, error)
	settle func(ctx context.Context, st *sqlstore.Store) error
}

// sqliteKillStore is a fresh SQLite file.
func sqliteKillStore(t *testing.T) killStore {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "herald.db")
	return killStore{atOnce: true, dsn: dsn, open: func(ctx context.Context) (*sqlstore.Store, error) {
		return sqlstore.Open(ctx, dsn, sqlstore.Options{})
	}}
}

// postgresKillStore is a fresh schema of the database named by
// HERALD_TEST_POSTGRES_URL, dropped at the end; herald serve finds it
// through the search_path parameter of its URL. It skips the test when
// the variable is unset.
func postgresKillStore(t *testing.T) killStore {
	base := os.Getenv("HERALD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("HERALD_TEST_POSTGRES_URL not set")
	}
	schema := fmt.Sprintf("kill_%016x", rand.Uint64())
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	open := func(ctx context.Context) (*sqlstore.Store, error) {
		return sqlstore.Open(ctx, base, sqlstore.Options{Schema: schema, MaxConns: 2})
	}
	t.Cleanup(func() {
		st, err := open(context.Background())
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer st.Close()
		if _, err := st.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	// The killed process's connections end once their statements have.
	settle := func(ctx context.Context, st *sqlstore.Store) error {
		for {
			var n int
			if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, schema).Scan(&n); err != nil || n == 0 {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the killed herald's connections are still open: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return killStore{dsn: u.String(), open: open, settle: settle}
}

// callLog counts the Connector calls the emulator is answering, and those
// whose answer came after a kill of the process that made them: a call
// in flight at the kill, its answer never read.
type callLog struct {
	next     http.Handler
	mu       sync.Mutex
	kills    int // kills so far
	inFlight int
	lost     int
}

func (l *callLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/teams/") {
		l.next.ServeHTTP(w, r)
		return
	}
	l.mu.Lock()
	l.inFlight++
	gen := l.kills
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.inFlight--
		if l.kills != gen {
			l.lost++
		}
		l.mu.Unlock()
	}()
	l.next.ServeHTTP(w, r)
}

// killed notes a kill, once the process is dead.
func (l *callLog) killed() {
	l.mu.Lock()
	l.kills++
	l.mu.Unlock()
}

func (l *callLog) counts() (inFlight, lost int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight, l.lost
}

// killWorld is the emulator with its users, the store of the herald
// processes the test starts and kills, and what they log.
type killWorld struct {
	t     *testing.T
	ctx   context.Context
	bin   string
	store killStore
	emu   *emulator.Emulator
	calls *callLog
	args  []string
	logs  *lockedBuffer
	users []string
	live  *heraldProc
}

// killConcurrency is herald's calls in flight in the kill test.
const killConcurrency = 16

func newKillWorld(t *testing.T, bin string, store killStore, recipients int) *killWorld {
	t.Helper()
	w := &killWorld{t: t, ctx: context.Background(), bin: bin, store: store, logs: &lockedBuffer{}}
	w.emu = emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	w.calls = &callLog{next: w.emu}
	srv := httptest.NewServer(w.calls)
	t.Cleanup(func() { srv.Close(); w.emu.Close() })
	t.Cleanup(func() {
		if w.live != nil {
			w.live.kill(t)
		}
		if t.Failed() {
			t.Logf("herald logs:\n%s", tail(w.logs.String(), 4000))
		}
	})
	w.emu.SetBaseURL(srv.URL)
	// Latency keeps calls in flight, so that kills land among them.
	if err := w.emu.SetFaults(emulator.Faults{LatencyMs: 15}); err != nil {
		t.Fatal(err)
	}
	seed, err := w.emu.SeedUsers(recipients)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.open(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.TenantUpsert(w.ctx, herald.Tenant{ID: seed.TenantID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	for i := range recipients {
		u, err := w.emu.User(fmt.Sprintf("user%d@fabrikam.com", i+1))
		if err != nil {
			t.Fatal(err)
		}
		w.users = append(w.users, u.ID)
		if _, err := st.UserUpsert(w.ctx, herald.UserUpsertParams{ID: u.ID, TenantID: seed.TenantID, Name: u.Name, Email: u.Email}); err != nil {
			t.Fatal(err)
		}
	}
	w.args = []string{"--store", store.dsn, "--emulator", srv.URL, "--pacing", "off",
		"--concurrency", fmt.Sprint(killConcurrency), "--log-level", "warn"}
	return w
}

// start runs herald serve as node.
func (w *killWorld) start(node string) *heraldProc {
	w.t.Helper()
	w.live = startServe(w.t, w.bin, w.logs, append(w.args, "--node", node)...)
	return w.live
}

func (w *killWorld) kill(p *heraldProc) {
	w.t.Helper()
	p.kill(w.t)
	w.live = nil
	w.calls.killed()
}

func (w *killWorld) stop(p *heraldProc) {
	w.t.Helper()
	p.stop(w.t)
	w.live = nil
}

// waitInFlight waits up to limit for a call to Teams to be in flight.
func (w *killWorld) waitInFlight(limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if n, _ := w.calls.counts(); n > 0 {
			return true
		}
	}
	return false
}

// flight is a delivery marked sending: by which node, since when (the
// store's microseconds), to whom.
type flight struct {
	node    string
	started int64
	user    string
}

// inspect reads, while no herald runs, the deliveries in flight and every
// delivery of notification id.
func (w *killWorld) inspect(id string) (map[int64]flight, map[int64]herald.Delivery) {
	w.t.Helper()
	st, err := w.store.open(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	if w.store.settle != nil {
		ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute) // a guard only
		defer cancel()
		if err := w.store.settle(ctx, st); err != nil {
			w.t.Fatal(err)
		}
	}
	rows, err := st.DB().QueryContext(w.ctx, `SELECT f.id, f.node, f.started_at, d.user_id FROM inflight f JOIN deliveries d ON d.id = f.id`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	flights := map[int64]flight{}
	for rows.Next() {
		var id int64
		var f flight
		if err := rows.Scan(&id, &f.node, &f.started, &f.user); err != nil {
			w.t.Fatal(err)
		}
		flights[id] = f
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	ds := map[int64]herald.Delivery{}
	for after := int64(0); ; {
		page, err := st.DeliveryList(w.ctx, herald.DeliveryListParams{NotificationID: id, Page: herald.Page{After: after, Limit: 1000}})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, d := range page {
			ds[d.ID] = d
		}
		if len(page) < 1000 {
			return flights, ds
		}
		after = page[len(page)-1].ID
	}
}

// age moves the start of every flight back past the engine's ten-minute
// horizon, as if the next process started that much later.
func (w *killWorld) age() {
	w.t.Helper()
	st, err := w.store.open(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().ExecContext(w.ctx, `UPDATE inflight SET started_at = started_at - $1`, (11 * time.Minute).Microseconds()); err != nil {
		w.t.Fatal(err)
	}
}

// killRun is one process of the kill test: its node name, and whether it
// starts after the flights left behind went stale.
type killRun struct {
	node string
	aged bool
}

// checkLeftovers compares the flights left by the kill before run k with
// those after it. A killed process's flights become uncertain (at most
// once: the call may have reached Teams) when a node knows the process is
// gone: on SQLite at once (the next process holds the store's lock, so the
// last one is dead); on PostgreSQL once the dead node's heartbeat lapsed,
// so until then they may still be there, untouched. Nothing else may
// happen to them.
func checkLeftovers(t *testing.T, k int, run killRun, atOnce bool, before, after map[int64]flight, ds map[int64]herald.Delivery) {
	t.Helper()
	for id, f := range before {
		now, still := after[id]
		switch {
		case still && now.node == f.node && !atOnce:
			// Not taken up yet: the dead node's heartbeat has not lapsed (the
			// test may have aged its start).
		case still || ds[id].State != herald.DeliveryUncertain:
			t.Errorf("run %d (node %s): delivery %d left sending by %s is %s (still sending: %v, now %+v), want uncertain",
				k, run.node, id, f.node, ds[id].State, still, now)
		}
	}
}

// TestServeSurvivesKill9 runs the herald binary against the emulator, on
// SQLite and on PostgreSQL, and kills it with SIGKILL at random moments
// while calls to Teams are in flight during a 5,000-recipient
// notification, restarting it under the same node name, another name, the
// first name again, and another name after the flights went stale. In the
// end every delivery is final, nobody got a message twice, a delivery is
// reported delivered only with exactly one message, and only deliveries
// marked uncertain may have been lost (at most the in-flight window per
// kill). At least one kill must have found calls in flight.
func TestServeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the herald binary")
	}
	t.Parallel()
	bin := buildHerald(t, t.TempDir())
	for _, tc := range []struct {
		name  string
		store func(*testing.T) killStore
	}{{"sqlite", sqliteKillStore}, {"postgres", postgresKillStore}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runKill9(t, newKillWorld(t, bin, tc.store(t), 5000))
		})
	}
}

// killRuns are the processes of the kill test, each killed in turn.
func killRuns() []killRun {
	return []killRun{{"kill-a", false}, {"kill-a", false}, {"kill-b", false}, {"kill-a", false}, {"kill-b", true}, {"kill-a", false}}
}

func runKill9(t *testing.T, w *killWorld) {
	req := herald.NotificationRequest{
		IdempotencyKey: "kill-test", Audience: herald.Audience{Tenants: []string{emulator.LoadTenantID}},
		Content: herald.Content{Text: "Hello {{givenName}}"},
	}
	var id string
	var left map[int64]flight
	kills, landed := 0, 0
	for k, run := range killRuns() {
		if run.aged {
			w.age()
		}
		p := w.start(run.node)
		if id == "" {
			var n herald.Notification
			if err := postJSON(p.base, "/v1/notifications", req, &n); err != nil {
				t.Fatal(err)
			}
			id = n.ID
		}
		time.Sleep(time.Duration(100+rand.IntN(500)) * time.Millisecond) // a random moment of the run
		busy := w.waitInFlight(5 * time.Second)
		n, err := getNotification(p.base, id)
		if err != nil {
			t.Fatal(err)
		}
		if n.State.Final() {
			w.stop(p)
			break
		}
		w.kill(p)
		kills++
		flights, ds := w.inspect(id)
		checkLeftovers(t, k, run, w.store.atOnce, left, flights, ds)
		left = flights
		if len(flights) > 0 {
			landed++
		}
		t.Logf("kill %d (node %s): %d of %d final, %d sending, calls in flight before the kill: %v",
			kills, run.node, n.Counts.Total()-n.Counts.Open(), len(w.users), len(flights), busy)
	}
	if _, lost := w.calls.counts(); landed == 0 || lost == 0 {
		t.Fatalf("%d kills, %d found deliveries sending, %d calls answered after their caller was killed: no kill landed among calls in flight", kills, landed, lost)
	}
	if kills < len(killRuns()) {
		t.Fatalf("the notification finished after %d of %d kills: the test proves less than it should", kills, len(killRuns()))
	}
	// Each name takes up what its last process left; the last one runs to
	// the end.
	w.stop(w.start("kill-b"))
	n := w.finish(w.start("kill-a"), id)
	w.checkFinal(n, kills)
}

// finish waits for notification id to end, then stops p.
func (w *killWorld) finish(p *heraldProc, id string) herald.Notification {
	w.t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a guard only
	for {
		n, err := getNotification(p.base, id)
		if err != nil {
			w.t.Fatal(err)
		}
		if n.State.Final() {
			w.stop(p)
			return n
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("not finished after the last restart: %+v", n.Counts)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process
	}
}

// checkFinal compares the notification's deliveries with the messages the
// emulator recorded.
func (w *killWorld) checkFinal(n herald.Notification, kills int) {
	t := w.t
	c := n.Counts
	t.Logf("after %d kills: %+v", kills, c)
	if c.Open() != 0 || c.Delivered+c.Uncertain != len(w.users) || c.Total() != len(w.users) {
		t.Fatalf("counts = %+v, want every one of %d delivered or uncertain", c, len(w.users))
	}
	if max := kills * 4 * killConcurrency; c.Uncertain > max {
		t.Fatalf("%d uncertain deliveries after %d kills, more than the in-flight bound %d", c.Uncertain, kills, max)
	}
	flights, ds := w.inspect(n.ID)
	if len(flights) != 0 {
		t.Errorf("%d deliveries still in flight after the notification ended", len(flights))
	}
	state := map[string]herald.DeliveryState{}
	for _, d := range ds {
		state[d.UserID] = d.State
	}
	for _, uid := range w.users {
		got := 0
		if conv, ok := w.emu.PersonalConversation(uid); ok {
			for _, a := range w.emu.Activities(conv) {
				if a.Direction == emulator.FromBot {
					got++
				}
			}
		}
		switch s := state[uid]; {
		case got > 1:
			t.Errorf("user %s got %d messages (delivery %s): an at-most-once notification repeated a call", uid, got, s)
		case s == herald.DeliveryDelivered && got != 1:
			t.Errorf("user %s: delivered, but got %d messages", uid, got)
		case s != herald.DeliveryDelivered && s != herald.DeliveryUncertain:
			t.Errorf("user %s: delivery %q", uid, s)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestMigrateCommand runs `herald migrate` twice on a fresh store.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		out, err := runCmd(t, "migrate", "--store", dsn)
		if err != nil || !strings.Contains(out, "migrated sqlite store") {
			t.Fatalf("migrate: %v %q", err, out)
		}
	}
}
