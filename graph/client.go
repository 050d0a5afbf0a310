package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// TokenSource supplies the app-only bearer token sent with every call.
// botauth.TokenSource, configured with [DefaultTokenScope], is one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Defaults and well-known values.
const (
	// DefaultBaseURL is the public cloud's Graph v1.0 root.
	DefaultBaseURL = "https://graph.microsoft.com/v1.0"
	// DefaultTokenScope is the client-credentials scope of the public
	// cloud's Graph: every application permission an admin consented to.
	// Sovereign clouds use their own Graph host with "/.default".
	DefaultTokenScope = "https://graph.microsoft.com/.default"

	defaultAgent = "herald-graph"
	// maxResponseBody bounds a 2xx body: a page of 999 users with their
	// assigned plans stays well below it.
	maxResponseBody = 32 << 20
)

// Options configures a [Client]. The zero value of every optional field
// selects its default.
type Options struct {
	// BaseURL is Graph's version root, without a trailing slash; default
	// DefaultBaseURL. Sovereign clouds and the emulator override it. It must
	// be https, or plain http to a loopback host (an emulator). The token is
	// sent to this URL's scheme, host and port only.
	BaseURL string
	// Tokens supplies the bearer token. Required.
	Tokens TokenSource
	// HTTPClient sends the requests; default a client with a 60 s overall
	// timeout and a 30 s response-header timeout. Redirects are never
	// followed, whatever the client: a 3xx answer is an *Error.
	HTTPClient *http.Client
	// Now is the clock, used to read a Retry-After given as an HTTP date
	// when the answer has no Date header; default time.Now.
	Now func() time.Time
	// UserAgent is sent as User-Agent; default "herald-graph".
	UserAgent string
}

// Client calls Microsoft Graph. It is safe for concurrent use and never
// retries on its own (see [Retry]).
type Client struct {
	http      *http.Client
	tokens    TokenSource
	base      *url.URL // scheme://host[:port]/path, path without trailing slash
	baseURL   string
	userAgent string
	now       func() time.Time
}

// New validates opts and returns a client. It sends nothing.
func New(opts Options) (*Client, error) {
	if opts.Tokens == nil {
		return nil, errors.New("graph: Options.Tokens is required")
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := parseBaseURL(raw)
	if err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		http:      &cp,
		tokens:    opts.Tokens,
		base:      base,
		baseURL:   base.String(),
		userAgent: opts.UserAgent,
		now:       opts.Now,
	}
	if c.userAgent == "" {
		c.userAgent = defaultAgent
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// BaseURL returns the version root calls go to, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// parseBaseURL checks a base URL: http(s), a host, no user, query or
// fragment, plain http only to a loopback host.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("graph: BaseURL %q: %w", raw, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return nil, fmt.Errorf("graph: BaseURL %q is not an http(s) URL", raw)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("graph: BaseURL %q has user info, a query or a fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("graph: BaseURL %q: plain http only to a loopback host", raw)
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// isLoopback reports whether host names the local machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func defaultHTTPClient() *http.Client {
	t := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	}
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// call describes one request.
type call struct {
	op     string // names the call in errors, e.g. "list users"
	method string
	path   string // escaped, below the base URL, starting with "/"
	query  string // encoded, without "?"
	link   string // an absolute link from Graph; replaces path and query
	header http.Header
	body   any // JSON-encoded when non-nil
	// required is the permission the call needs, for an *Error's advice;
	// nil means permissionsFor's guess from the path.
	required []string
}

// target returns the URL of c, refusing a link to another origin.
func (c *Client) target(cl call) (string, error) {
	if cl.link == "" {
		t := c.baseURL + cl.path
		if cl.query != "" {
			t += "?" + cl.query
		}
		return t, nil
	}
	return c.checkLink(cl.link)
}

// checkLink accepts an @odata.nextLink or deltaLink only when it stays on
// the base URL's scheme, host and port, below its path.
func (c *Client) checkLink(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUntrustedLink, err)
	}
	path := u.EscapedPath()
	switch {
	case u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host):
		return "", fmt.Errorf("%w: %s://%s is not %s://%s", ErrUntrustedLink, u.Scheme, u.Host, c.base.Scheme, c.base.Host)
	case u.User != nil || u.Fragment != "":
		return "", fmt.Errorf("%w: user info or fragment", ErrUntrustedLink)
	case path != c.base.EscapedPath() && !strings.HasPrefix(path, c.base.EscapedPath()+"/"),
		strings.Contains(path+"/", "/../"), strings.Contains(path+"/", "/./"):
		return "", fmt.Errorf("%w: path %q is outside %q", ErrUntrustedLink, path, c.base.EscapedPath())
	}
	return link, nil
}

// response is a 2xx answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request and returns its 2xx answer, or an *Error.
func (c *Client) send(ctx context.Context, cl call) (*response, error) {
	target, err := c.target(cl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	var payload io.Reader
	if cl.body != nil {
		b, err := marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode body: %w", cl.op, err)
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	token, err := c.tokens.Token(ctx)
	if err == nil && token == "" {
		err = errors.New("token source returned an empty token")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, &tokenError{err: err})
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		required := cl.required
		if required == nil {
			required = permissionsFor(req.URL.EscapedPath(), c.base.EscapedPath())
		}
		return nil, newError(cl.op, resp.StatusCode, resp.Header, body, c.now(), required)
	}
	if readErr == nil && len(body) > maxResponseBody {
		readErr = fmt.Errorf("body exceeds %d bytes", maxResponseBody)
	}
	if readErr != nil {
		return nil, fmt.Errorf("%s: %w", cl.op, &responseError{err: readErr})
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// get sends cl and decodes a JSON 2xx body into out.
func (c *Client) get(ctx context.Context, cl call, out any) error {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return fmt.Errorf("%s: %w", cl.op, &responseError{err: errors.New("empty body")})
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%s: %w", cl.op, &responseError{err: err})
	}
	return nil
}

// marshal encodes v as JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
