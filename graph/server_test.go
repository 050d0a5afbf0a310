package graph

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// staticTokens is a TokenSource handing out one token.
type staticTokens struct {
	token string
	err   error
}

func (s staticTokens) Token(context.Context) (string, error) { return s.token, s.err }

// seen is one request a fake Graph received.
type seen struct {
	Method string
	Path   string // unescaped
	Query  string // raw
	Header http.Header
	Body   []byte
}

// fakeGraph is an httptest server answering with a test's handler and
// recording every request.
type fakeGraph struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []seen
}

// newFakeGraph starts a server whose version root is /v1.0 and a client
// for it (token "tok", a fixed clock).
func newFakeGraph(t *testing.T, h http.HandlerFunc) (*Client, *fakeGraph) {
	t.Helper()
	f := &fakeGraph{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	c, err := New(Options{
		BaseURL:    f.srv.URL + "/v1.0",
		Tokens:     staticTokens{token: "tok"},
		HTTPClient: f.srv.Client(),
		Now:        func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// requests returns what the server received so far.
func (f *fakeGraph) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// base is the server's version root.
func (f *fakeGraph) base() string { return f.srv.URL + "/v1.0" }

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRaw answers status with a JSON text.
func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// recordSleeps is a RetryPolicy.Sleep that records the waits and returns
// at once.
type recordSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *recordSleeps) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.d = append(r.d, d)
	return nil
}

func (r *recordSleeps) waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.d...)
}
