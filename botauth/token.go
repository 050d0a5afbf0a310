package botauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"herald/botframework"
)

// TokenSource is the token source of a botframework.Connector.
var _ botframework.TokenSource = (*TokenSource)(nil)

// Defaults of [TokenConfig].
const (
	// DefaultAuthority is the public-cloud Microsoft identity platform.
	DefaultAuthority = "https://login.microsoftonline.com"
	// MultiTenant is the tenant multi-tenant bots request tokens from.
	MultiTenant = "botframework.com"
	// DefaultScope is the Bot Connector scope of the public cloud.
	DefaultScope = "https://api.botframework.com/.default"
	// DefaultRefreshBefore is how long before expiry a token is refreshed.
	DefaultRefreshBefore = 5 * time.Minute
)

// usableMargin is how long before its expiry a cached token is no longer
// handed out, even while a refresh is failing or in flight.
const usableMargin = 10 * time.Second

// TokenConfig configures a [TokenSource]. The zero value of every optional
// field selects its default.
type TokenConfig struct {
	// AppID is the bot's Microsoft app (client) id. Required.
	AppID string
	// AppSecret is the app's client secret. Required. It is sent only to
	// the token endpoint and never appears in errors.
	AppSecret string
	// TenantID selects the token endpoint's tenant: "" or "botframework.com"
	// for a multi-tenant bot, otherwise the single-tenant bot's tenant id.
	TenantID string
	// Authority is the base login URL; default DefaultAuthority. The token
	// URL is Authority + "/" + tenant + "/oauth2/v2.0/token". Emulators and
	// sovereign clouds override it.
	Authority string
	// Scope is the requested scope; default DefaultScope. "/.default" is
	// appended when missing.
	Scope string
	// HTTPClient sends the token requests; default http.DefaultClient.
	HTTPClient *http.Client
	// RefreshBefore is how long before expiry a token is refreshed; default
	// DefaultRefreshBefore, negative means only at expiry. It is capped at
	// half the token's lifetime, so a short-lived token is not refetched on
	// every call.
	RefreshBefore time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// TokenSource hands out Bot Connector access tokens obtained with the client
// credentials grant. It caches the current token, refreshes it RefreshBefore
// its expiry, and runs at most one request to the token endpoint at a time.
// While a refresh is in flight or failing, callers keep getting the previous
// token as long as it has not expired. It is safe for concurrent use.
type TokenSource struct {
	oauth         clientcredentials.Config
	client        *http.Client
	secret        string
	refreshBefore time.Duration
	now           func() time.Time

	fetching chan struct{} // holds one element while a fetch is in flight

	mu        sync.Mutex
	token     string
	refreshAt time.Time // the cached token is fresh before this
	expiry    time.Time // the cached token must not be used after this
}

// NewTokenSource validates cfg and returns a token source. It does not
// contact the token endpoint.
func NewTokenSource(cfg TokenConfig) (*TokenSource, error) {
	tokenURL, scope, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	s := &TokenSource{
		oauth: clientcredentials.Config{
			ClientID:     cfg.AppID,
			ClientSecret: cfg.AppSecret,
			TokenURL:     tokenURL,
			Scopes:       []string{scope},
			AuthStyle:    oauth2.AuthStyleInParams,
		},
		client:        cfg.HTTPClient,
		secret:        cfg.AppSecret,
		refreshBefore: cfg.RefreshBefore,
		now:           cfg.Now,
		fetching:      make(chan struct{}, 1),
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	switch {
	case s.refreshBefore == 0:
		s.refreshBefore = DefaultRefreshBefore
	case s.refreshBefore < 0:
		s.refreshBefore = 0
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// resolve validates the config and returns the token URL and the scope.
func (cfg TokenConfig) resolve() (tokenURL, scope string, err error) {
	if cfg.AppID == "" {
		return "", "", errors.New("token config: AppID is required")
	}
	if cfg.AppSecret == "" {
		return "", "", errors.New("token config: AppSecret is required")
	}
	tenant := cfg.TenantID
	if tenant == "" {
		tenant = MultiTenant
	}
	if strings.ContainsAny(tenant, "/?#%\\ \t\r\n") || tenant == "." || tenant == ".." {
		return "", "", fmt.Errorf("token config: TenantID %q is not a tenant id or domain", tenant)
	}
	authority := cfg.Authority
	if authority == "" {
		authority = DefaultAuthority
	}
	u, err := url.Parse(authority)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("token config: Authority %q is not an http(s) URL without query", authority)
	}
	scope = cfg.Scope
	if scope == "" {
		scope = DefaultScope
	}
	if !strings.HasSuffix(scope, "/.default") {
		scope = strings.TrimSuffix(scope, "/") + "/.default"
	}
	return strings.TrimSuffix(authority, "/") + "/" + tenant + "/oauth2/v2.0/token", scope, nil
}

// Token returns a valid access token, fetching a new one when the cached one
// is due for refresh. It satisfies botframework.TokenSource.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	tok, fresh, usable := s.cached()
	if fresh {
		return tok, nil
	}
	select {
	case s.fetching <- struct{}{}:
	default:
		if usable {
			// Someone else is refreshing; the old token is still good.
			return tok, nil
		}
		select {
		case s.fetching <- struct{}{}:
		case <-ctx.Done():
			return "", fmt.Errorf("get token: %w", ctx.Err())
		}
	}
	defer func() { <-s.fetching }()

	// The fetch we waited for may have refreshed the token.
	tok, fresh, usable = s.cached()
	if fresh {
		return tok, nil
	}
	newTok, err := s.fetch(ctx)
	if err != nil {
		if usable {
			return tok, nil
		}
		return "", fmt.Errorf("get token: %w", err)
	}
	return newTok, nil
}

// cached returns the cached token, whether it is fresh (not due for
// refresh) and whether it is still usable (not about to expire).
func (s *TokenSource) cached() (tok string, fresh, usable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return "", false, false
	}
	now := s.now()
	return s.token, now.Before(s.refreshAt), now.Before(s.expiry.Add(-usableMargin))
}

// fetch requests a new token and caches it.
func (s *TokenSource) fetch(ctx context.Context) (string, error) {
	start := s.now()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	t, err := s.oauth.Token(ctx)
	if err != nil {
		return "", s.translate(err)
	}
	lifetime := expiresIn(t)
	if lifetime <= 0 {
		// Without a lifetime there is nothing safe to cache: use it once.
		return t.AccessToken, nil
	}
	early := min(s.refreshBefore, lifetime/2)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = t.AccessToken
	s.expiry = start.Add(lifetime)
	s.refreshAt = s.expiry.Add(-early)
	return t.AccessToken, nil
}

// expiresIn returns the token's lifetime from the response's expires_in
// (a number, or a string as some endpoints send), or 0 when unknown.
func expiresIn(t *oauth2.Token) time.Duration {
	var secs float64
	switch v := t.Extra("expires_in").(type) {
	case float64:
		secs = v
	case int64:
		secs = float64(v)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0
		}
		secs = f
	}
	if secs <= 0 || secs > 366*24*3600 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// translate turns an oauth2 error into a *TokenError when the endpoint
// answered, and makes sure the secret never appears in the message.
func (s *TokenSource) translate(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if strings.Contains(err.Error(), s.secret) {
			return errors.New(s.redact(err.Error()))
		}
		return err // keeps context.DeadlineExceeded and the like visible
	}
	te := &TokenError{
		Code:        s.redact(re.ErrorCode),
		Description: s.redact(re.ErrorDescription),
	}
	if re.Response != nil {
		te.StatusCode = re.Response.StatusCode
	}
	if te.Code == "" {
		te.Body = botframework.Clip(s.redact(string(re.Body)), 512) // redact first: a cut could leave part of the secret
	}
	return te
}

func (s *TokenSource) redact(text string) string {
	return strings.ReplaceAll(text, s.secret, "[redacted]")
}

// TokenError is a refusal from the token endpoint, carrying its OAuth 2.0
// error code and description (for example "invalid_client" and an AADSTS
// message). The client secret never appears in it.
type TokenError struct {
	// StatusCode is the endpoint's HTTP status.
	StatusCode int
	// Code is the OAuth 2.0 "error" field, e.g. "invalid_client".
	Code string
	// Description is the "error_description" field.
	Description string
	// Body is the start of the response body when it carried no OAuth 2.0
	// error code.
	Body string
}

// Error implements error.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token endpoint: status %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}
