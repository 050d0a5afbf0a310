package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/sqlstore"
)

// faultWorld is a Herald running in this process (as `herald serve` wires
// it) on a given store, against an in-process emulator holding its
// recipients, for tests that break the store under it.
type faultWorld struct {
	t     *testing.T
	ctx   context.Context
	emu   *emulator.Emulator
	calls *callLog
	dsn   string
	cfg   serveConfig
	logs  *lockedBuffer
	users []string
	node  *heraldNode
	base  string
}

// newFaultWorld seeds the emulator and the store at dsn with recipients
// users of one tenant (emulator.LoadTenantID); calls to Teams take
// latency. args are more `herald serve` flags.
func newFaultWorld(t *testing.T, dsn string, recipients int, latency time.Duration, args ...string) *faultWorld {
	t.Helper()
	// A guard against hanging only (a loaded machine running -race).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	w := &faultWorld{t: t, ctx: ctx, dsn: dsn, logs: &lockedBuffer{}}
	w.emu = emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	w.calls = &callLog{next: w.emu}
	srv := httptest.NewServer(w.calls)
	w.emu.SetBaseURL(srv.URL)
	t.Cleanup(func() { srv.Close(); w.emu.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("herald logs:\n%s", tail(w.logs.String(), 6000))
		}
	})
	if err := w.emu.SetFaults(emulator.Faults{LatencyMs: int(latency.Milliseconds())}); err != nil {
		t.Fatal(err)
	}
	seed, err := w.emu.SeedUsers(recipients)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.TenantUpsert(ctx, herald.Tenant{ID: seed.TenantID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	for i := range recipients {
		u, err := w.emu.User(fmt.Sprintf("user%d@fabrikam.com", i+1))
		if err != nil {
			t.Fatal(err)
		}
		w.users = append(w.users, u.ID)
		if _, err := st.UserUpsert(ctx, herald.UserUpsertParams{ID: u.ID, TenantID: seed.TenantID, Name: u.Name, Email: u.Email}); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--store", dsn, "--emulator", srv.URL, "--pacing", "off", "--log-level", "warn", "--node", "faults"}
	env := map[string]string{"HERALD_API_KEYS": killTestKey}
	if w.cfg, err = parseServeConfig(append(base, args...), func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Fatal(err)
	}
	return w
}

// start runs Herald; it stops at the end of the test.
func (w *faultWorld) start() {
	w.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	h, err := startHerald(w.ctx, w.cfg, ln, newLogger(w.logs, w.cfg.LogLevel))
	if err != nil {
		w.t.Fatal(err)
	}
	w.node, w.base = h, "http://"+ln.Addr().String()
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.stop(ctx); err != nil {
			w.t.Errorf("stop: %v", err)
		}
	})
}

// post sends a notification of text to every recipient; it returns the
// answer's status and the notification (when accepted).
func (w *faultWorld) post(key, text string) (int, herald.Notification, string) {
	w.t.Helper()
	req := herald.NotificationRequest{IdempotencyKey: key, Audience: herald.Audience{Tenants: []string{emulator.LoadTenantID}},
		Content: herald.Content{Text: text}}
	resp, err := apiRequest(http.MethodPost, w.base+"/v1/notifications", req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var n herald.Notification
	if resp.StatusCode/100 == 2 {
		if err := jsonUnmarshal(string(body), &n); err != nil {
			w.t.Fatal(err)
		}
	}
	return resp.StatusCode, n, string(body)
}

// wait polls notification id until it ends; answers that fail meanwhile
// (the store being down) are polled again.
func (w *faultWorld) wait(id string) herald.Notification {
	w.t.Helper()
	for {
		n, err := getNotification(w.base, id)
		if err == nil && n.State.Final() {
			return n
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("notification %s did not end: %+v (last error %v)", id, n.Counts, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// messages counts, per user, the messages from the bot whose text starts
// with prefix.
func (w *faultWorld) messages(prefix string) map[string]int {
	got := map[string]int{}
	for _, uid := range w.users {
		conv, ok := w.emu.PersonalConversation(uid)
		if !ok {
			continue
		}
		for _, a := range w.emu.Activities(conv) {
			if a.Direction == emulator.FromBot && strings.HasPrefix(a.Activity.Text, prefix) {
				got[uid]++
			}
		}
	}
	return got
}

// checkDelivered checks every delivery of n against the messages starting
// with prefix: each delivered with exactly one, or uncertain (allowed only
// when uncertain is) with at most one; none lost, none repeated.
func (w *faultWorld) checkDelivered(n herald.Notification, prefix string, uncertain bool) {
	w.t.Helper()
	st, err := sqlstore.Open(w.ctx, w.dsn, sqlstore.Options{SkipMigrate: true})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	got := w.messages(prefix)
	seen := 0
	for after := int64(0); ; {
		ds, err := st.DeliveryList(w.ctx, herald.DeliveryListParams{NotificationID: n.ID, Page: herald.Page{After: after, Limit: 1000}})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, d := range ds {
			seen++
			switch m := got[d.UserID]; {
			case d.State == herald.DeliveryDelivered && m != 1:
				w.t.Errorf("%s: %s delivered with %d messages", n.ID, d.UserID, m)
			case d.State == herald.DeliveryUncertain && (!uncertain || m > 1):
				w.t.Errorf("%s: %s uncertain with %d messages (%s)", n.ID, d.UserID, m, d.Error)
			case d.State != herald.DeliveryDelivered && d.State != herald.DeliveryUncertain:
				w.t.Errorf("%s: %s %s %s %s", n.ID, d.UserID, d.State, d.Reason, d.Error)
			}
		}
		if len(ds) < 1000 {
			break
		}
		after = ds[len(ds)-1].ID
	}
	if seen != len(w.users) {
		w.t.Errorf("%s has %d deliveries, want %d: %+v", n.ID, seen, len(w.users), n.Counts)
	}
}

// waitSending waits until at least n messages were sent and a call is in
// flight.
func (w *faultWorld) waitSending(n int64) {
	w.t.Helper()
	for {
		busy, _ := w.calls.counts()
		if w.emu.Counters().ActivitiesFromBot >= n && busy > 0 {
			return
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("fewer than %d messages sent: %+v", n, w.emu.Counters())
		case <-time.After(time.Millisecond):
		}
	}
}

// freshPostgresDatabase creates a database of its own on the server named
// by HERALD_TEST_POSTGRES_URL (dropped at the end) and returns its URL,
// and a connection to the server's own database for administering it. It
// skips the test when the variable is unset or the role may not create
// databases.
func freshPostgresDatabase(t *testing.T) (string, string, *sqlstore.Store) {
	t.Helper()
	base := os.Getenv("HERALD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("HERALD_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	admin, err := sqlstore.Open(ctx, base, sqlstore.Options{SkipMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("herald_faults_%016x", rand.Uint64())
	if _, err := admin.DB().ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Skipf("cannot create a database of its own: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.DB().ExecContext(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), name, admin
}

// restartPostgres does to the database what a PostgreSQL restart does,
// without touching other databases of the server (other tests run there):
// every connection is cut, and new ones are refused for down.
func restartPostgres(ctx context.Context, admin *sqlstore.Store, name string, down time.Duration) (int, error) {
	if _, err := admin.DB().ExecContext(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`); err != nil {
		return 0, err
	}
	var cut int
	err := admin.DB().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&cut)
	time.Sleep(down)
	if _, aerr := admin.DB().ExecContext(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS true`); err == nil {
		err = aerr
	}
	return cut, err
}

// TestServePostgresRestartMidSend cuts every connection of Herald's
// PostgreSQL database twice while a notification is being sent (as a
// restart of the server does) and keeps new connections out for a while.
// Nothing is lost: every delivery ends delivered or uncertain, none is
// repeated, and the engine goes on sending: a notification sent after the
// restarts reaches everyone.
func TestServePostgresRestartMidSend(t *testing.T) {
	if testing.Short() {
		t.Skip("sends thousands of messages")
	}
	t.Parallel()
	dsn, name, admin := freshPostgresDatabase(t)
	const recipients = 1500
	w := newFaultWorld(t, dsn, recipients, 10*time.Millisecond, "--concurrency", "8")
	w.start()
	status, first, body := w.post("restart-first", "first {{givenName}}")
	if status/100 != 2 {
		t.Fatalf("POST: %d %s", status, body)
	}
	for i, at := range []int64{recipients / 4, recipients / 2} {
		w.waitSending(at)
		cut, err := restartPostgres(w.ctx, admin, name, 2*time.Second)
		if err != nil {
			t.Skipf("may not restart the database: %v", err)
		}
		t.Logf("restart %d: %d messages sent, %d connections cut", i+1, w.emu.Counters().ActivitiesFromBot, cut)
		if cut == 0 {
			t.Fatalf("restart %d cut no connection", i+1)
		}
	}
	n := w.wait(first.ID)
	t.Logf("first: %+v", n.Counts)
	w.checkDelivered(n, "first", true)
	status, second, body := w.post("restart-second", "second {{givenName}}")
	if status/100 != 2 {
		t.Fatalf("POST after the restarts: %d %s", status, body)
	}
	n = w.wait(second.ID)
	w.checkDelivered(n, "second", false)
	if n.Counts.Delivered != recipients {
		t.Fatalf("after the restarts: %+v, want all %d delivered", n.Counts, recipients)
	}
}
