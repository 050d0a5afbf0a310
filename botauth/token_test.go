package botauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald/botauth"
)

const (
	testSecret = "s3cr3t~value.with-symbols"
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// tokenEndpoint is an httptest Microsoft identity platform token endpoint.
// Each successful request issues "token-N"; handle can replace the
// response.
type tokenEndpoint struct {
	srv      *httptest.Server
	calls    atomic.Int64
	expires  int // expires_in of issued tokens
	mu       sync.Mutex
	requests []tokenRequest
	handle   func(w http.ResponseWriter, n int64) bool // true: response written
}

type tokenRequest struct {
	Path string
	Form url.Values
}

func newTokenEndpoint(t testing.TB, expires int, handle func(w http.ResponseWriter, n int64) bool) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{expires: expires, handle: handle}
	te.srv = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := te.calls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		te.mu.Lock()
		te.requests = append(te.requests, tokenRequest{Path: r.URL.Path, Form: r.PostForm})
		te.mu.Unlock()
		if te.handle != nil && te.handle(w, n) {
			return
		}
		writeJSON(w, map[string]any{
			"token_type":     "Bearer",
			"expires_in":     te.expires,
			"ext_expires_in": te.expires,
			"access_token":   fmt.Sprintf("token-%d", n),
		})
	}))
	return te
}

func (te *tokenEndpoint) source(t testing.TB, cfg botauth.TokenConfig) *botauth.TokenSource {
	t.Helper()
	cfg.AppID = testAppID
	cfg.AppSecret = testSecret
	if cfg.Authority == "" {
		cfg.Authority = te.srv.URL
	}
	cfg.HTTPClient = te.srv.Client()
	s, err := botauth.NewTokenSource(cfg)
	if err != nil {
		t.Fatalf("NewTokenSource: %v", err)
	}
	return s
}

func mustToken(t testing.TB, s *botauth.TokenSource, want string) {
	t.Helper()
	got, err := s.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got != want {
		t.Fatalf("Token = %q, want %q", got, want)
	}
}

// TestTokenRequest checks the URL and form of the client-credentials
// request for multi- and single-tenant bots and scope handling.
func TestTokenRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tenant    string
		scope     string
		authority string // appended to the server URL
		wantPath  string
		wantScope string
	}{
		{name: "multi-tenant default", wantPath: "/botframework.com/oauth2/v2.0/token", wantScope: "https://api.botframework.com/.default"},
		{name: "multi-tenant explicit", tenant: "botframework.com", wantPath: "/botframework.com/oauth2/v2.0/token", wantScope: "https://api.botframework.com/.default"},
		{name: "single-tenant", tenant: testTenant, wantPath: "/" + testTenant + "/oauth2/v2.0/token", wantScope: "https://api.botframework.com/.default"},
		{name: "scope without .default", scope: "https://api.botframework.us", wantPath: "/botframework.com/oauth2/v2.0/token", wantScope: "https://api.botframework.us/.default"},
		{name: "scope with trailing slash", scope: "api://bot/", wantPath: "/botframework.com/oauth2/v2.0/token", wantScope: "api://bot/.default"},
		{name: "authority with path and slash", authority: "/login/", tenant: "MicrosoftServices.onmicrosoft.us", wantPath: "/login/MicrosoftServices.onmicrosoft.us/oauth2/v2.0/token", wantScope: "https://api.botframework.com/.default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			te := newTokenEndpoint(t, 3600, nil)
			cfg := botauth.TokenConfig{TenantID: tt.tenant, Scope: tt.scope}
			if tt.authority != "" {
				cfg.Authority = te.srv.URL + tt.authority
			}
			mustToken(t, te.source(t, cfg), "token-1")
			want := []tokenRequest{{
				Path: tt.wantPath,
				Form: url.Values{
					"grant_type":    {"client_credentials"},
					"client_id":     {testAppID},
					"client_secret": {testSecret},
					"scope":         {tt.wantScope},
				},
			}}
			te.mu.Lock()
			defer te.mu.Unlock()
			if diff := cmp.Diff(want, te.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenCaching: the token is reused until RefreshBefore its expiry,
// then replaced.
func TestTokenCaching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		expiresIn     int
		refreshBefore time.Duration
		reuseUntil    time.Duration // last moment the first token is reused
	}{
		{name: "default refresh 5 minutes early", expiresIn: 3600, reuseUntil: 55*time.Minute - time.Second},
		{name: "custom refresh", expiresIn: 3600, refreshBefore: 20 * time.Minute, reuseUntil: 40*time.Minute - time.Second},
		{name: "short lifetime refreshes at half", expiresIn: 120, reuseUntil: 59 * time.Second},
		{name: "negative refreshes at expiry", expiresIn: 3600, refreshBefore: -1, reuseUntil: time.Hour - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			te := newTokenEndpoint(t, tt.expiresIn, nil)
			clock := newTestClock(t0)
			s := te.source(t, botauth.TokenConfig{Now: clock.Now, RefreshBefore: tt.refreshBefore})
			mustToken(t, s, "token-1")
			mustToken(t, s, "token-1")
			clock.Advance(tt.reuseUntil)
			mustToken(t, s, "token-1")
			if got := te.calls.Load(); got != 1 {
				t.Fatalf("token endpoint called %d times before refresh, want 1", got)
			}
			clock.Advance(time.Second)
			mustToken(t, s, "token-2")
			mustToken(t, s, "token-2")
			if got := te.calls.Load(); got != 2 {
				t.Fatalf("token endpoint called %d times after refresh, want 2", got)
			}
		})
	}
}

// TestTokenWithoutLifetime: a token without expires_in is not cached.
func TestTokenWithoutLifetime(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 0, func(w http.ResponseWriter, n int64) bool {
		writeJSON(w, map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("token-%d", n)})
		return true
	})
	s := te.source(t, botauth.TokenConfig{})
	mustToken(t, s, "token-1")
	mustToken(t, s, "token-2")
}

// TestTokenExpiresInString: some endpoints send expires_in as a string.
func TestTokenExpiresInString(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 0, func(w http.ResponseWriter, n int64) bool {
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": "3600", "access_token": fmt.Sprintf("token-%d", n)})
		return true
	})
	clock := newTestClock(t0)
	s := te.source(t, botauth.TokenConfig{Now: clock.Now})
	mustToken(t, s, "token-1")
	clock.Advance(54 * time.Minute)
	mustToken(t, s, "token-1")
	clock.Advance(time.Minute)
	mustToken(t, s, "token-2")
}

// TestTokenConcurrent: concurrent callers on an empty cache share one
// request.
func TestTokenConcurrent(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 3600, nil)
	s := te.source(t, botauth.TokenConfig{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if tok, err := s.Token(context.Background()); err != nil || tok != "token-1" {
				t.Errorf("Token = %q, %v; want token-1", tok, err)
			}
		})
	}
	wg.Wait()
	if got := te.calls.Load(); got != 1 {
		t.Errorf("token endpoint called %d times, want 1", got)
	}
}

// TestTokenRefreshInFlight: while one caller refreshes a token due for
// refresh, others get the still-valid old token without waiting; a failed
// refresh also falls back to it.
func TestTokenRefreshInFlight(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	te := newTokenEndpoint(t, 3600, func(w http.ResponseWriter, n int64) bool {
		switch n {
		case 2:
			close(arrived)
			<-release
		case 3:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
			return true
		}
		return false
	})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // a failing test must not leave the handler blocked
	clock := newTestClock(t0)
	s := te.source(t, botauth.TokenConfig{Now: clock.Now})
	mustToken(t, s, "token-1")
	clock.Advance(56 * time.Minute) // due for refresh, still valid

	done := make(chan string, 1)
	go func() {
		tok, err := s.Token(context.Background())
		if err != nil {
			t.Errorf("refreshing Token: %v", err)
		}
		done <- tok
	}()
	select {
	case <-arrived:
	case tok := <-done:
		t.Fatalf("Token due for refresh returned %q without asking the endpoint", tok)
	}
	// Does not wait for the refresh: were it to wait, the deadline ends the
	// wait (the blocked refresh cannot finish before unblock) and fails.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if tok, err := s.Token(ctx); err != nil || tok != "token-1" {
		t.Fatalf("Token during refresh = %q, %v; want token-1 at once", tok, err)
	}
	unblock()
	if tok := <-done; tok != "token-2" {
		t.Fatalf("refreshing caller got %q, want token-2", tok)
	}

	clock.Advance(56 * time.Minute)
	mustToken(t, s, "token-2") // refresh (call 3) fails, old token still valid
	clock.Advance(4 * time.Minute)
	mustToken(t, s, "token-4") // too close to expiry: must refresh
	if got := te.calls.Load(); got != 4 {
		t.Errorf("token endpoint called %d times, want 4", got)
	}
}

// TestTokenError: the endpoint's error and description come back in a
// *TokenError, and the secret never appears.
func TestTokenError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   botauth.TokenError
	}{
		{
			name:   "oauth error",
			status: http.StatusUnauthorized,
			body:   `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`,
			want:   botauth.TokenError{StatusCode: 401, Code: "invalid_client", Description: "AADSTS7000215: Invalid client secret provided."},
		},
		{
			name:   "wrong tenant",
			status: http.StatusBadRequest,
			body:   `{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier '` + testAppID + `' was not found in the directory 'botframework.com'."}`,
			want:   botauth.TokenError{StatusCode: 400, Code: "unauthorized_client", Description: "AADSTS700016: Application with identifier '" + testAppID + "' was not found in the directory 'botframework.com'."},
		},
		{
			name:   "description echoing the secret",
			status: http.StatusUnauthorized,
			body:   `{"error":"invalid_client","error_description":"bad secret ` + testSecret + `"}`,
			want:   botauth.TokenError{StatusCode: 401, Code: "invalid_client", Description: "bad secret [redacted]"},
		},
		{
			name:   "non-oauth body echoing the secret",
			status: http.StatusBadGateway,
			body:   `upstream said client_secret=` + testSecret,
			want:   botauth.TokenError{StatusCode: 502, Body: "upstream said client_secret=[redacted]"},
		},
		{
			name:   "long body cut between characters",
			status: http.StatusBadGateway,
			body:   strings.Repeat("é", 300),
			want:   botauth.TokenError{StatusCode: 502, Body: strings.Repeat("é", 254) + "…"},
		},
		{
			name:   "secret across the cut",
			status: http.StatusBadGateway,
			body:   strings.Repeat("é", 250) + " secret=" + testSecret,
			want:   botauth.TokenError{StatusCode: 502, Body: strings.Repeat("é", 250) + " secret=[…"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			te := newTokenEndpoint(t, 3600, func(w http.ResponseWriter, n int64) bool {
				if strings.HasPrefix(tt.body, "{") {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
				} else {
					w.Header().Set("Content-Type", "text/plain")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
				return true
			})
			_, err := te.source(t, botauth.TokenConfig{}).Token(context.Background())
			var got *botauth.TokenError
			if !errors.As(err, &got) {
				t.Fatalf("Token error = %v, want a *TokenError", err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("TokenError (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q contains the secret", err)
			}
			if tt.want.Code != "" && !strings.Contains(err.Error(), tt.want.Description) {
				t.Errorf("error %q lacks the description", err)
			}
		})
	}
}

// TestTokenUnreachable: a transport failure is an error, not a token.
func TestTokenUnreachable(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 3600, nil)
	addr := te.srv.URL
	te.srv.Close()
	s, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: testAppID, AppSecret: testSecret, Authority: addr})
	if err != nil {
		t.Fatalf("NewTokenSource: %v", err)
	}
	tok, err := s.Token(context.Background())
	if err == nil || tok != "" {
		t.Fatalf("Token = %q, %v; want an error", tok, err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("error %q contains the secret", err)
	}
	var refusal *botauth.TokenError
	if errors.As(err, &refusal) {
		t.Errorf("transport failure reported as endpoint refusal %v", refusal)
	}
}

// TestTokenDeadline: a context deadline stays visible through the error.
func TestTokenDeadline(t *testing.T) {
	t.Parallel()
	te := newTokenEndpoint(t, 3600, nil)
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err := te.source(t, botauth.TokenConfig{}).Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token error = %v, want context.DeadlineExceeded", err)
	}
}

// TestTokenContextCanceled: a caller waiting for another's fetch gives up
// with its context.
func TestTokenContextCanceled(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	te := newTokenEndpoint(t, 3600, func(w http.ResponseWriter, n int64) bool {
		if n == 1 {
			close(arrived)
			<-release
		}
		return false
	})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	s := te.source(t, botauth.TokenConfig{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.Token(context.Background()); err != nil {
			t.Errorf("first Token: %v", err)
		}
	}()
	select {
	case <-arrived:
	case <-done:
		t.Fatal("first Token returned without asking the endpoint")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Token with canceled context = %v, want context.Canceled", err)
	}
	unblock()
	<-done
}

func TestNewTokenSourceValidates(t *testing.T) {
	t.Parallel()
	ok := botauth.TokenConfig{AppID: "a", AppSecret: "s"}
	tests := []struct {
		name   string
		change func(*botauth.TokenConfig)
		field  string
	}{
		{"no app id", func(c *botauth.TokenConfig) { c.AppID = "" }, "AppID"},
		{"no secret", func(c *botauth.TokenConfig) { c.AppSecret = "" }, "AppSecret"},
		{"tenant with slash", func(c *botauth.TokenConfig) { c.TenantID = "a/b" }, "TenantID"},
		{"tenant dot-dot", func(c *botauth.TokenConfig) { c.TenantID = ".." }, "TenantID"},
		{"relative authority", func(c *botauth.TokenConfig) { c.Authority = "login.microsoftonline.com" }, "Authority"},
		{"authority with query", func(c *botauth.TokenConfig) { c.Authority = "https://login.example/?x=1" }, "Authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.change(&cfg)
			_, err := botauth.NewTokenSource(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("NewTokenSource error = %v, want one naming %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q contains a secret", err)
			}
		})
	}
	if _, err := botauth.NewTokenSource(ok); err != nil {
		t.Fatalf("NewTokenSource with defaults: %v", err)
	}
}
