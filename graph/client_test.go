package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"herald/botauth"
)

// Herald's own token source serves the Graph client.
var _ TokenSource = (*botauth.TokenSource)(nil)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		want    string
	}{
		{"default", Options{Tokens: staticTokens{token: "t"}}, "", DefaultBaseURL},
		{"trailing slash", Options{Tokens: staticTokens{token: "t"}, BaseURL: "https://graph.microsoft.us/v1.0/"}, "", "https://graph.microsoft.us/v1.0"},
		{"loopback http", Options{Tokens: staticTokens{token: "t"}, BaseURL: "http://127.0.0.1:3979/graph/v1.0"}, "", "http://127.0.0.1:3979/graph/v1.0"},
		{"no tokens", Options{}, "Tokens is required", ""},
		{"plain http elsewhere", Options{Tokens: staticTokens{token: "t"}, BaseURL: "http://graph.example.com/v1.0"}, "loopback", ""},
		{"query", Options{Tokens: staticTokens{token: "t"}, BaseURL: "https://graph.microsoft.com/v1.0?x=1"}, "query", ""},
		{"user info", Options{Tokens: staticTokens{token: "t"}, BaseURL: "https://u:p@graph.microsoft.com/v1.0"}, "user info", ""},
		{"not a url", Options{Tokens: staticTokens{token: "t"}, BaseURL: "graph.microsoft.com"}, "not an http(s) URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tt.want {
				t.Errorf("BaseURL = %q, want %q", c.BaseURL(), tt.want)
			}
		})
	}
}

// usersPages serves /users in three pages whose nextLinks point back at
// the server (as Graph's do), and records nothing else.
func usersPages(base func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/users" {
			http.NotFound(w, r)
			return
		}
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u1","displayName":"Ann","accountEnabled":true,"userType":"Member"},{"id":"u2"}],"@odata.nextLink":"%s/users?$select=id&$skiptoken=p2"}`, base()))
		case "p2":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u3","mail":"c@contoso.com"}],"@odata.nextLink":"%s/users?$select=id&$skiptoken=p3"}`, base()))
		case "p3":
			writeRaw(w, 200, `{"value":[{"id":"u4","accountEnabled":false}]}`)
		}
	}
}

func TestUsersPagesThroughNextLinks(t *testing.T) {
	t.Parallel()
	var base string
	c, f := newFakeGraph(t, usersPages(func() string { return base }))
	base = f.base()

	p := c.Users(UserQuery{Filter: "userType eq 'Member'"})
	var ids []string
	pages := 0
	for p.More() {
		users, err := p.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range users {
			ids = append(ids, u.ID)
		}
	}
	if got := strings.Join(ids, ","); got != "u1,u2,u3,u4" || pages != 3 {
		t.Fatalf("users = %s over %d pages, want u1,u2,u3,u4 over 3", got, pages)
	}
	reqs := f.requests()
	first := reqs[0]
	wantQuery := "$select=" + DefaultUserSelect + "&$filter=userType%20eq%20'Member'&$top=999"
	if first.Query != wantQuery {
		t.Errorf("first query = %q, want %q", first.Query, wantQuery)
	}
	if got := first.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
	if reqs[1].Query != "$select=id&$skiptoken=p2" || reqs[2].Query != "$select=id&$skiptoken=p3" {
		t.Errorf("later pages did not follow nextLink verbatim: %q, %q", reqs[1].Query, reqs[2].Query)
	}
	if users, err := p.Next(context.Background()); users != nil || err != nil {
		t.Errorf("Next after the end = %v, %v", users, err)
	}
}

func TestPagerAllAndAdvancedQuery(t *testing.T) {
	t.Parallel()
	var base string
	c, f := newFakeGraph(t, usersPages(func() string { return base }))
	base = f.base()
	users, err := c.Users(UserQuery{Select: []string{"id", "mail"}, Top: 5, Filter: "not(accountEnabled eq false)", Advanced: true}).
		All(context.Background(), RetryPolicy{})
	if err != nil || len(users) != 4 {
		t.Fatalf("All = %d users, %v", len(users), err)
	}
	first := f.requests()[0]
	if want := "$select=id,mail&$filter=not(accountEnabled%20eq%20false)&$top=5&$count=true"; first.Query != want {
		t.Errorf("query = %q, want %q", first.Query, want)
	}
	if first.Header.Get("ConsistencyLevel") != "eventual" {
		t.Errorf("ConsistencyLevel = %q", first.Header.Get("ConsistencyLevel"))
	}
	if _, err := c.Users(UserQuery{Top: 1000}).Next(context.Background()); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Top 1000: err = %v, want ErrInvalidArgument", err)
	}
}

func TestTokenGoesOnlyToTheGraphHost(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		writeRaw(w, 200, `{"value":[]}`)
	}))
	t.Cleanup(other.Close)
	var base string
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "host":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u1"}],"@odata.nextLink":"%s/v1.0/users?$skiptoken=x"}`, other.URL))
		case "path":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u1"}],"@odata.nextLink":"%s/../beta/users?$skiptoken=x"}`, strings.TrimSuffix(base, "/v1.0")+"/other"))
		case "redirect":
			http.Redirect(w, r, other.URL+"/v1.0/users", http.StatusFound)
		}
	})
	base = f.base()
	ctx := context.Background()
	for _, tc := range []string{"host", "path"} {
		p := c.Users(UserQuery{Filter: "case"})
		p.first.query = "case=" + tc
		if _, err := p.Next(ctx); err != nil {
			t.Fatalf("%s: first page: %v", tc, err)
		}
		_, err := p.Next(ctx)
		if !errors.Is(err, ErrUntrustedLink) || Classify(err).Kind != KindUntrusted {
			t.Errorf("%s: nextLink elsewhere: err = %v, want ErrUntrustedLink", tc, err)
		}
	}
	p := c.Users(UserQuery{})
	p.first.query = "case=redirect"
	_, err := p.Next(ctx)
	if Classify(err).Kind != KindRedirect {
		t.Errorf("redirect: err = %v, want kind redirect", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

func TestTokenFailureSendsNothing(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, 200, `{}`) })
	for _, tokens := range []TokenSource{staticTokens{err: errors.New("AADSTS700016: app not found")}, staticTokens{}} {
		c.tokens = tokens
		_, err := c.Organization(context.Background())
		if Classify(err).Kind != KindToken {
			t.Errorf("token failure: err = %v, kind %q", err, Classify(err).Kind)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("sent %d requests without a token", n)
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"mail eq 'a@b.c'", "mail%20eq%20'a@b.c'"},
		{"a&b=c+d;e#f%g?h", "a%26b%3Dc%2Bd%3Be%23f%25g%3Fh"},
		{"id,displayName", "id,displayName"},
		{"é", "%C3%A9"},
	}
	for _, tt := range tests {
		if got := escapeQuery(tt.in); got != tt.want {
			t.Errorf("escapeQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := quote("o'brien@contoso.com"); got != "'o''brien@contoso.com'" {
		t.Errorf("quote = %s", got)
	}
	for _, bad := range []string{"", ".", "..", "a\nb"} {
		if _, err := seg("op", "user", bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("seg(%q) = %v", bad, err)
		}
	}
}

// Herald's client-credentials source, pointed at the organisation's tenant
// with the Graph scope, feeds the client.
func TestWithBotauthTokens(t *testing.T) {
	t.Parallel()
	var tokenCalls atomic.Int32
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		if r.URL.Path != "/contoso.onmicrosoft.com/oauth2/v2.0/token" || r.FormValue("scope") != DefaultTokenScope ||
			r.FormValue("grant_type") != "client_credentials" {
			writeRaw(w, 400, `{"error":"invalid_request","error_description":"unexpected token request"}`)
			return
		}
		writeRaw(w, 200, `{"token_type":"Bearer","expires_in":3599,"access_token":"graph-token"}`)
	}))
	t.Cleanup(login.Close)
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{
		AppID: "app", AppSecret: "secret", TenantID: "contoso.onmicrosoft.com",
		Authority: login.URL, Scope: DefaultTokenScope, HTTPClient: login.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, `{"value":[{"id":"t1","verifiedDomains":[{"name":"contoso.com"}]}]}`)
	})
	c.tokens = tokens
	for range 2 {
		if _, err := c.Organization(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.requests()[1].Header.Get("Authorization"); got != "Bearer graph-token" {
		t.Errorf("Authorization = %q", got)
	}
	if n := tokenCalls.Load(); n != 1 {
		t.Errorf("%d token requests, want 1 (cached)", n)
	}
}
