package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenSource supplies the bearer token the Connector sends with every
// call. Implementations cache and refresh tokens; package botauth has the
// client-credentials one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// ConnectorOptions configures a Connector.
type ConnectorOptions struct {
	// HTTPClient sends the requests. Nil means a client with a 60 s overall
	// timeout and a 30 s response-header timeout. Whatever the client, the
	// Connector never follows redirects, so the token cannot leave the
	// trusted host: a 3xx answer is an *APIError.
	HTTPClient *http.Client
	// Tokens supplies the bearer token. Required: NewConnector panics
	// without it.
	Tokens TokenSource
	// TrustedHosts are hosts trusted besides the Teams service hosts, for
	// an emulator or a proxy: "127.0.0.1:3979" trusts that host and port,
	// "127.0.0.1" any port on it. They are trusted over https, and over
	// plain http only when the host is a loopback address or "localhost".
	TrustedHosts []string
	// UserAgent is sent as User-Agent. Empty means "herald-botframework".
	UserAgent string
	// Now is the clock used to turn an HTTP-date Retry-After into a delay
	// when the response has no Date header. Nil means time.Now.
	Now func() time.Time
}

// Connector holds what every call to the Bot Framework Connector shares:
// the HTTP client, the token source and the trusted hosts. It is safe for
// concurrent use; Client binds it to one serviceUrl.
type Connector struct {
	http      *http.Client
	tokens    TokenSource
	trusted   []hostRule
	userAgent string
	now       func() time.Time
}

// Limits on response bodies.
const (
	maxResponseBody = 8 << 20
	defaultAgent    = "herald-botframework"
)

// NewConnector returns a Connector. It panics if opts.Tokens is nil.
func NewConnector(opts ConnectorOptions) *Connector {
	if opts.Tokens == nil {
		panic("botframework: NewConnector: ConnectorOptions.Tokens is nil")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Connector{
		http:      &cp,
		tokens:    opts.Tokens,
		trusted:   parseHostRules(opts.TrustedHosts),
		userAgent: opts.UserAgent,
		now:       opts.Now,
	}
	if c.userAgent == "" {
		c.userAgent = defaultAgent
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func defaultHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second}
	}
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// Client is the Connector bound to one serviceUrl. It is cheap to create
// and safe for concurrent use. When the serviceUrl is not trusted every
// call fails with ErrUntrustedServiceURL without sending anything.
//
// The client never retries: Classify tells the caller whether to.
type Client struct {
	c    *Connector
	base string // scheme://host/path, no trailing slash
	err  error  // why the serviceUrl is refused
}

// Client returns a client for serviceURL, with or without a trailing "/".
func (c *Connector) Client(serviceURL string) *Client {
	u, err := c.checkServiceURL(serviceURL)
	if err != nil {
		return &Client{c: c, err: err}
	}
	return &Client{c: c, base: u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/")}
}

// ServiceURL returns the base URL calls go to (without a trailing slash),
// or "" when the serviceUrl was refused.
func (cl *Client) ServiceURL() string { return cl.base }

// request describes one Connector call.
type request struct {
	op     string
	method string
	path   string     // escaped, starting with "/v3/"
	query  url.Values // optional
	body   any        // JSON-encoded when non-nil
}

// do sends req and returns the response body of a 2xx answer.
func (cl *Client) do(ctx context.Context, req request) ([]byte, error) {
	if cl.err != nil {
		return nil, fmt.Errorf("%s: %w", req.op, cl.err)
	}
	target := cl.base + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var payload io.Reader
	if req.body != nil {
		b, err := marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode body: %w", req.op, err)
		}
		payload = bytes.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.op, err)
	}
	token, err := cl.c.tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: get token: %w", req.op, &notSentError{err: err})
	}
	if token == "" {
		return nil, fmt.Errorf("%s: get token: %w", req.op, &notSentError{err: errors.New("token source returned an empty token")})
	}
	hreq.Header.Set("Authorization", "Bearer "+token)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", cl.c.userAgent)
	if payload != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq, wrote := traceWrite(hreq)
	resp, err := cl.c.http.Do(hreq)
	if err != nil {
		if !wrote.Load() {
			err = &notSentError{err: err}
		}
		return nil, fmt.Errorf("%s: %w", req.op, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(req.op, resp.StatusCode, resp.Header, body, cl.c.now())
	}
	if readErr != nil {
		return nil, fmt.Errorf("%s: %w", req.op, &responseError{err: readErr})
	}
	if len(body) > maxResponseBody {
		return nil, fmt.Errorf("%s: %w", req.op,
			&responseError{err: fmt.Errorf("body exceeds %d bytes", maxResponseBody)})
	}
	return body, nil
}

// call sends req and decodes a JSON 2xx body into out (when out is non-nil
// and the body is not empty).
func (cl *Client) call(ctx context.Context, req request, out any) error {
	body, err := cl.do(ctx, req)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %w", req.op, &responseError{err: err})
	}
	return nil
}

// seg escapes one path segment, refusing empty and dot segments.
func seg(name, v string) (string, error) {
	if v == "" || v == "." || v == ".." {
		return "", fmt.Errorf("%w: %s %q", ErrInvalidArgument, name, v)
	}
	return url.PathEscape(v), nil
}

// segs escapes pairs of (name, value) path segments.
func segs(op string, nameValues ...string) ([]string, error) {
	out := make([]string, 0, len(nameValues)/2)
	for i := 0; i+1 < len(nameValues); i += 2 {
		s, err := seg(nameValues[i], nameValues[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", op, ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// errEmptyResponse is returned when a call that must answer with an id
// answers with none.
var errEmptyResponse = errors.New("response has no id")
