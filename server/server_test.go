package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"herald/engine"

	"herald"
	"herald/api"
	"herald/botframework"
	"herald/sqlstore"
)

// stubTokens is a botframework.TokenSource for engines that never call
// Teams.
type stubTokens struct{}

func (stubTokens) Token(context.Context) (string, error) { return "t", nil }

// idleServer is a server over a store and an engine that is never
// started, for tests that call no engine method.
func idleServer(t *testing.T, cfg Config) (*Server, *sqlstore.Store) {
	t.Helper()
	store, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "h.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	eng, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(),
		Connector: botframework.NewConnector(botframework.ConnectorOptions{Tokens: stubTokens{}}),
		Bot:       botframework.ChannelAccount{ID: "28:bot"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine, cfg.Store = eng, store
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{testKey}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, store
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	_, store := idleServer(t, Config{})
	eng, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(),
		Connector: botframework.NewConnector(botframework.ConnectorOptions{Tokens: stubTokens{}}), Bot: botframework.ChannelAccount{ID: "28:b"}})
	if err != nil {
		t.Fatal(err)
	}
	shared := NewMetrics()
	if _, err := New(Config{Engine: eng, Store: store, APIKeys: []string{testKey}, Metrics: shared}); err != nil {
		t.Fatal(err)
	}
	// Without configured keys, only the store's keys are accepted.
	if _, err := New(Config{Engine: eng, Store: store}); err != nil {
		t.Fatalf("no configured keys: %v", err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no engine", Config{Store: store, APIKeys: []string{testKey}}, "Engine is required"},
		{"no store", Config{Engine: eng, APIKeys: []string{testKey}}, "Store is required"},
		{"short key", Config{Engine: eng, Store: store, APIKeys: []string{testKey, "short"}}, "APIKeys[1]"},
		{"negative body", Config{Engine: eng, Store: store, APIKeys: []string{testKey}, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"shared metrics", Config{Engine: eng, Store: store, APIKeys: []string{testKey}, Metrics: shared}, "already serve a store"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// call sends one request to h and returns the recorded answer.
func call(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s, _ := idleServer(t, Config{APIKeys: []string{testKey, "another-key-0123456789"}})
	tests := []struct {
		name, auth string
		want       int
	}{
		{"none", "", 401},
		{"wrong", "Bearer wrong-key-0123456789abc", 401},
		{"prefix of the key", "Bearer " + testKey[:20], 401},
		{"key plus more", "Bearer " + testKey + "x", 401},
		{"basic scheme", "Basic " + testKey, 401},
		{"no scheme", testKey, 401},
		{"first key", "Bearer " + testKey, 200},
		{"second key, lower-case scheme", "bearer another-key-0123456789", 200},
	}
	for _, tt := range tests {
		w := call(s, http.MethodGet, "/v1/teams", tt.auth)
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
			continue
		}
		if tt.want == 401 {
			if !strings.Contains(w.Body.String(), `"code":"unauthorized"`) || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 answer %q, headers %v", tt.name, w.Body, w.Header())
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"} {
		if w := call(s, http.MethodGet, path, ""); w.Code == http.StatusUnauthorized {
			t.Errorf("%s needs a key", path)
		}
	}
	// Unknown /v1 routes need the key too, so they reveal nothing.
	if w := call(s, http.MethodGet, "/v1/secret", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("unknown route without key: %d", w.Code)
	}
}

func TestUnrouted(t *testing.T) {
	t.Parallel()
	s, _ := idleServer(t, Config{})
	auth := "Bearer " + testKey
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/v1/nothing", 404, ""},
		{http.MethodGet, "/nothing", 404, ""},
		{http.MethodDelete, "/v1/notifications/n_1", 405, "GET"},
		{http.MethodPut, "/v1/users", 405, "GET"},
		{http.MethodDelete, "/v1/users/bob/preferences", 405, "GET, PATCH"},
		{http.MethodGet, "/v1/send/bob", 405, "POST"},
		{http.MethodPost, "/healthz", 405, "GET"},
	}
	for _, tt := range tests {
		w := call(s, tt.method, tt.path, auth)
		if w.Code != tt.status || w.Header().Get("Allow") != tt.allow || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d Allow=%q %s", tt.method, tt.path, w.Code, w.Header().Get("Allow"), w.Body)
		}
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	started := false
	s, store := idleServer(t, Config{Started: func() bool { return started }})
	if w := call(s, http.MethodGet, "/healthz", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
	w := call(s, http.MethodGet, "/readyz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"engine":"not started"`) || !strings.Contains(w.Body.String(), `"store":"ok"`) {
		t.Fatalf("readyz before start: %d %s", w.Code, w.Body)
	}
	started = true
	if w := call(s, http.MethodGet, "/readyz", ""); w.Code != 200 {
		t.Fatalf("readyz started: %d %s", w.Code, w.Body)
	}
	store.Close()
	w = call(s, http.MethodGet, "/readyz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"store":"unreachable"`) {
		t.Fatalf("readyz with the store closed: %d %s", w.Code, w.Body)
	}
	if w := call(s, http.MethodGet, "/healthz", ""); w.Code != 200 {
		t.Fatalf("healthz with the store closed: %d", w.Code)
	}
	// Failures the server cannot attribute are 500s without their cause.
	w = call(s, http.MethodGet, "/v1/teams", "Bearer "+testKey)
	if w.Code != 500 || strings.Contains(w.Body.String(), "sql") || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Fatalf("store failure: %d %s", w.Code, w.Body)
	}
	m := call(s, http.MethodGet, "/metrics", "")
	if m.Code != 200 || !strings.Contains(m.Body.String(), "herald_store_up 0") {
		t.Fatalf("metrics with the store closed: %d", m.Code)
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	s, _ := idleServer(t, Config{})
	w := call(s, http.MethodGet, "/v1/openapi.json", "")
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"openapi": "3.1.0"`) {
		t.Fatalf("openapi: %d %s", w.Code, w.Header())
	}
}

func TestInvalidFrom(t *testing.T) {
	t.Parallel()
	parse := func(targets ...string) error {
		_, err := api.ParseTargets(targets...)
		return err
	}
	tests := []struct {
		name       string
		err        error
		field, msg string
	}{
		{"two problems", herald.NotificationRequest{}.Validate(), "content", "content: text or attachments required; audience: names no one"},
		{"one problem", herald.NotificationRequest{Content: herald.Content{Text: "x"}, Audience: herald.Audience{Users: []string{"a", " "}}}.Validate(),
			"audience.users[1]", "empty"},
		{"field error alone", &herald.FieldError{Field: "priority", Message: "no"}, "priority", "no"},
		{"target", parse(" "), "target", "empty target"},
		{"text form", parse("team:"), "audience", `entry "team:": want kind:value`},
		{"no field", fmt.Errorf("%w: unknown delivery state %q", herald.ErrInvalid, "x"), "", `unknown delivery state "x"`},
		{"field error with context", fmt.Errorf("%w: row 3: %w", herald.ErrInvalid, &herald.FieldError{Field: "users", Message: "empty"}),
			"users", "row 3: users: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := invalidFrom(tt.err)
			if e.Field != tt.field || e.Message != tt.msg || e.Status != http.StatusBadRequest || e.Code != api.CodeInvalid {
				t.Errorf("invalidFrom(%v) = %+v, want field %q message %q", tt.err, e, tt.field, tt.msg)
			}
		})
	}
}
