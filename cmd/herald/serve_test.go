package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herald/api"
	"herald/emulator"
)

// serveWorld is an in-process emulator with the demo seed, and the
// configuration of a Herald pointed at it.
type serveWorld struct {
	t   *testing.T
	ctx context.Context
	em  *emulator.Emulator
	ln  net.Listener
	url string
	cfg serveConfig
}

func newServeWorld(t *testing.T, args ...string) *serveWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &serveWorld{t: t, ctx: ctx, ln: ln, url: "http://" + ln.Addr().String()}
	w.em = emulator.New(emulator.Config{BotURL: w.url + "/api/messages"})
	srv := httptest.NewServer(w.em)
	w.em.SetBaseURL(srv.URL)
	t.Cleanup(func() { srv.Close(); w.em.Close() })
	w.em.SeedDemo()
	base := []string{"--emulator", srv.URL, "--addr", ln.Addr().String(), "--log-level", "error",
		"--store", "sqlite:" + filepath.Join(t.TempDir(), "herald.db")}
	if w.cfg, err = parseServeConfig(append(base, args...), func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	return w
}

// start starts Herald on the world's listener (a new one on the same
// address after a stop).
func (w *serveWorld) start() *heraldNode {
	w.t.Helper()
	ln := w.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", w.cfg.Addr); err != nil {
			w.t.Fatal(err)
		}
	}
	w.ln = nil
	h, err := startHerald(w.ctx, w.cfg, ln, newLogger(io.Discard, "error"))
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

func (w *serveWorld) stop(h *heraldNode) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.stop(ctx); err != nil {
		w.t.Errorf("stop: %v", err)
	}
}

func (w *serveWorld) get(path, key string) (int, string) {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeRoutesOnOneAddress(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t, "--topics", "deploys")
	h := w.start()
	defer w.stop(h)
	key := h.keys.keys[0]
	for _, tc := range []struct {
		path, key string
		status    int
		body      string
	}{
		{"/healthz", "", 200, `"status":"ok"`},
		{"/readyz", "", 200, `"engine":"ok"`},
		{"/v1/openapi.json", "", 200, `"openapi"`},
		{"/v1/notifications", "", 401, "API key"},
		{"/v1/notifications", key, 200, `"notifications"`},
		{"/api/messages", "", 405, ""},
		{"/internal/notifications/n_1", "", 404, ""},
	} {
		status, body := w.get(tc.path, tc.key)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %q, want %d with %q", tc.path, status, body, tc.status, tc.body)
		}
	}

	// The bot endpoint takes the emulator's activities: a personal install
	// is welcomed, and then the API reaches the user (by the id the install
	// recorded).
	alice, err := w.em.User("alice@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.em.InstallPersonal(w.ctx, alice.ID)
	if err != nil || len(d.BotStatus) == 0 || d.BotStatus[0] != 200 {
		t.Fatalf("install: %+v %v", d, err)
	}
	if _, err := w.em.AwaitFromBot(w.ctx, d.ConversationID, 1); err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(w.url, api.ClientOptions{APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.SendText(w.ctx, alice.ID, "Hello from the API", api.TextOptions{Topic: "deploys"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err = c.WaitNotification(w.ctx, n.ID, 30*time.Second); err != nil || n.Counts.Delivered != 1 {
		t.Fatalf("notification %+v: %v", n, err)
	}
	got, err := w.em.AwaitFromBot(w.ctx, d.ConversationID, 2)
	if err != nil || got[1].Activity.Text != "Hello from the API" {
		t.Fatalf("alice's chat %+v: %v", got, err)
	}

	// The Connector's and the token source's calls went through the
	// metered transport.
	_, metrics := w.get("/metrics", "")
	for _, want := range []string{`herald_teams_request_duration_seconds_count{operation="send",status="201"}`, `operation="token"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestServeGeneratesAStableAPIKey(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t)
	h := w.start()
	var out bytes.Buffer
	h.keys.describe(&out)
	first := h.keys
	w.stop(h)
	file, _ := apiKeyPath(w.cfg.Store)
	if !first.fresh || first.file != file || !strings.Contains(out.String(), first.keys[0]) {
		t.Fatalf("first start: keys %+v, printed %q", first, out.String())
	}
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) != first.keys[0] {
		t.Fatalf("key file %q: %v", b, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}

	h = w.start()
	defer w.stop(h)
	out.Reset()
	h.keys.describe(&out)
	if h.keys.fresh || h.keys.keys[0] != first.keys[0] {
		t.Fatalf("second start: keys %+v, want the first key again", h.keys)
	}
	if strings.Contains(out.String(), first.keys[0]) || !strings.Contains(out.String(), file) {
		t.Errorf("second start printed %q: want the file named and the key not shown", out.String())
	}
	if status, _ := w.get("/v1/notifications", first.keys[0]); status != 200 {
		t.Errorf("the kept key is refused: %d", status)
	}
}

func TestResolveAPIKeys(t *testing.T) {
	t.Parallel()
	if _, err := resolveAPIKeys(serveConfig{Store: "postgres://db/herald"}); err == nil || !strings.Contains(err.Error(), "HERALD_API_KEYS") {
		t.Errorf("postgres without keys: %v", err)
	}
	k, err := resolveAPIKeys(serveConfig{Store: "postgres://db/herald", APIKeys: []string{"configured-key-0123456789"}})
	if err != nil || k.file != "" || k.fresh || k.keys[0] != "configured-key-0123456789" {
		t.Errorf("configured keys: %+v %v", k, err)
	}
	k, err = resolveAPIKeys(serveConfig{Store: "sqlite::memory:"})
	if err != nil || k.file != "" || !k.fresh || len(k.keys[0]) < minAPIKeyBytes {
		t.Errorf("in-memory store: %+v %v", k, err)
	}
	for store, want := range map[string]string{"sqlite:data/herald.db": "data/herald.api-key", "x.db": "x.api-key", "sqlite:h": "h.api-key"} {
		if got, ok := apiKeyPath(store); !ok || got != want {
			t.Errorf("apiKeyPath(%q) = %q, %v; want %q", store, got, ok, want)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.api-key")
	if err := os.WriteFile(bad, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateKey(bad); err == nil {
		t.Error("a key file with a short key was accepted")
	}
}
