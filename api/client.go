package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"herald"
)

// Client calls Herald's HTTP API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	http      *http.Client
	userAgent string
}

// ClientOptions configure a Client. The zero value works against a server
// that needs no key (there is none: set APIKey).
type ClientOptions struct {
	// APIKey is sent as a bearer token.
	APIKey string
	// HTTPClient sends the requests. Nil means a client with a two-minute
	// timeout (long enough for the longest wait the server grants).
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Empty means "herald-api".
	UserAgent string
}

// NewClient returns a client of the server at baseURL
// ("http://127.0.0.1:3978"; a path prefix is kept).
func NewClient(baseURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("api client: base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api client: base url %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, key: opts.APIKey, http: opts.HTTPClient, userAgent: opts.UserAgent}
	if c.http == nil {
		c.http = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.userAgent == "" {
		c.userAgent = "herald-api"
	}
	return c, nil
}

// call is one API request.
type call struct {
	method string
	path   string // already escaped
	query  url.Values
	header http.Header
	body   io.Reader
	ctype  string
}

// jsonBody encodes v as a request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return bytes.NewReader(b), nil
}

// do sends c and returns the response of a 2xx answer; any other answer
// becomes an *Error.
func (cl *Client) do(ctx context.Context, c call) (*http.Response, error) {
	u := *cl.base
	u.RawPath = cl.base.EscapedPath() + c.path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	u.Path = p
	if len(c.query) > 0 {
		u.RawQuery = c.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u.String(), c.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", cl.userAgent)
	if cl.key != "" {
		req.Header.Set("Authorization", "Bearer "+cl.key)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// decodeError turns a failed answer into an *Error, also when its body is
// not Herald's (a proxy's page, say).
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body ErrorBody
	if json.Unmarshal(raw, &body) == nil && body.Error != nil && body.Error.Code != "" {
		body.Error.Status = resp.StatusCode
		return body.Error
	}
	msg := strings.TrimSpace(string(raw))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Code: codeForStatus(resp.StatusCode), Message: msg}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return CodeLint
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeInvalid
}

// doJSON sends c and decodes a 2xx answer's JSON into out.
func (cl *Client) doJSON(ctx context.Context, c call, out any) error {
	resp, err := cl.do(ctx, c)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", c.method, c.path, err)
	}
	return nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// Send sends a notification (POST /v1/notifications). The answer carries
// the lint warnings of a structured notification.
func (cl *Client) Send(ctx context.Context, req NotificationRequest) (Notification, error) {
	body, err := jsonBody(req)
	if err != nil {
		return Notification{}, err
	}
	var n Notification
	err = cl.doJSON(ctx, call{method: http.MethodPost, path: "/v1/notifications", body: body, ctype: "application/json"}, &n)
	return n, err
}

// TextOptions are the optional parts of SendText.
type TextOptions struct {
	// Title is shown in bold above the text, and names the notification.
	Title string
	// Topic, Key and Priority are as in NotificationRequest.
	Topic    string
	Key      string
	Priority herald.Priority
	// Alert raises an activity-feed notification.
	Alert bool
	// Format is "markdown" (the default) or "plain".
	Format string
	// IdempotencyKey is sent as the Idempotency-Key header.
	IdempotencyKey string
}

// SendText sends text to one target (POST /v1/send/{target}); see
// ParseTargets for the forms a target takes.
func (cl *Client) SendText(ctx context.Context, target, text string, o TextOptions) (Notification, error) {
	h := http.Header{}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("X-Title", o.Title)
	set("X-Topic", o.Topic)
	set("X-Key", o.Key)
	set("X-Priority", string(o.Priority))
	set("X-Format", o.Format)
	set("Idempotency-Key", o.IdempotencyKey)
	if o.Alert {
		h.Set("X-Alert", "true")
	}
	var n Notification
	err := cl.doJSON(ctx, call{method: http.MethodPost, path: "/v1/send/" + seg(target), header: h,
		body: strings.NewReader(text), ctype: "text/plain; charset=utf-8"}, &n)
	return n, err
}

// Notification returns a notification with its counts and progress (GET
// /v1/notifications/{id}).
func (cl *Client) Notification(ctx context.Context, id string) (Notification, error) {
	return cl.WaitNotification(ctx, id, 0)
}

// WaitNotification is Notification, but the server first waits up to d
// (at most a minute) for the notification to end; it answers at once when
// it has ended, and with the current state when d runs out.
func (cl *Client) WaitNotification(ctx context.Context, id string, d time.Duration) (Notification, error) {
	var q url.Values
	if d > 0 {
		q = url.Values{"wait": {d.String()}}
	}
	var n Notification
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/notifications/" + seg(id), query: q}, &n)
	return n, err
}

// Page selects one page of a listing.
type Page struct {
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
	// Limit caps the page; 0 means the server's default.
	Limit int
}

func (p Page) values() url.Values {
	q := url.Values{}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return q
}

// setAll adds one value per element, skipping empty ones.
func setAll[T ~string](q url.Values, key string, vs ...T) {
	for _, v := range vs {
		if v != "" {
			q.Add(key, string(v))
		}
	}
}

// Notifications lists notifications oldest first (GET /v1/notifications),
// keeping those in states when given.
func (cl *Client) Notifications(ctx context.Context, states []herald.NotificationState, p Page) (NotificationList, error) {
	return cl.ListNotifications(ctx, NotificationQuery{States: states, Page: p})
}

// NotificationQuery selects notifications.
type NotificationQuery struct {
	// States keeps notifications in these states; empty means all.
	States []herald.NotificationState
	// Newest lists newest first (order=newest).
	Newest bool
	// NoWelcomes leaves out the bot's welcome messages (welcomes=false).
	NoWelcomes bool
	Page
}

// ListNotifications lists notifications (GET /v1/notifications) as q
// selects.
func (cl *Client) ListNotifications(ctx context.Context, nq NotificationQuery) (NotificationList, error) {
	q := nq.Page.values()
	setAll(q, "state", nq.States...)
	if nq.Newest {
		q.Set("order", "newest")
	}
	if nq.NoWelcomes {
		q.Set("welcomes", "false")
	}
	var l NotificationList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/notifications", query: q}, &l)
	return l, err
}

// DeliveryQuery selects deliveries of a notification.
type DeliveryQuery struct {
	// States keeps deliveries in these states; empty means all.
	States []herald.DeliveryState
	// Reason keeps deliveries with this reason.
	Reason herald.Reason
	Page
}

func (d DeliveryQuery) values() url.Values {
	q := d.Page.values()
	setAll(q, "state", d.States...)
	setAll(q, "reason", d.Reason)
	return q
}

// Deliveries lists one page of a notification's deliveries (GET
// /v1/notifications/{id}/deliveries).
func (cl *Client) Deliveries(ctx context.Context, id string, dq DeliveryQuery) (DeliveryList, error) {
	var l DeliveryList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/notifications/" + seg(id) + "/deliveries", query: dq.values()}, &l)
	return l, err
}

// ExportDeliveries writes every delivery of a notification selected by dq
// (its Page ignored) to w as CSV: a header row (DeliveryCSVHeader), then
// one row per delivery.
func (cl *Client) ExportDeliveries(ctx context.Context, id string, dq DeliveryQuery, w io.Writer) error {
	dq.Page = Page{}
	resp, err := cl.do(ctx, call{method: http.MethodGet, path: "/v1/notifications/" + seg(id) + "/deliveries",
		query: dq.values(), header: http.Header{"Accept": {"text/csv"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export deliveries: %w", err)
	}
	return nil
}

// Cancel cancels a notification (POST /v1/notifications/{id}/cancel).
func (cl *Client) Cancel(ctx context.Context, id string) (Notification, error) {
	var n Notification
	err := cl.doJSON(ctx, call{method: http.MethodPost, path: "/v1/notifications/" + seg(id) + "/cancel"}, &n)
	return n, err
}

// Retry resends a notification's failed deliveries (POST
// /v1/notifications/{id}/retry).
func (cl *Client) Retry(ctx context.Context, id string, r RetryRequest) (RetryResult, error) {
	body, err := jsonBody(r)
	if err != nil {
		return RetryResult{}, err
	}
	var out RetryResult
	err = cl.doJSON(ctx, call{method: http.MethodPost, path: "/v1/notifications/" + seg(id) + "/retry", body: body, ctype: "application/json"}, &out)
	return out, err
}

// UserQuery selects users.
type UserQuery struct {
	// Q keeps users whose name, email, UPN or ids contain it.
	Q string
	// Tenant and Team keep users of that tenant, members of that team
	// (by id, Entra group id or name).
	Tenant, Team string
	Page
}

// Users lists users ordered by id (GET /v1/users).
func (cl *Client) Users(ctx context.Context, uq UserQuery) (UserList, error) {
	q := uq.Page.values()
	setAll(q, "q", uq.Q)
	setAll(q, "tenant", uq.Tenant)
	setAll(q, "team", uq.Team)
	var l UserList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/users", query: q}, &l)
	return l, err
}

// User finds one user by any identifier (GET /v1/users/{user}); tenant,
// when set, narrows the search.
func (cl *Client) User(ctx context.Context, identifier, tenant string) (User, error) {
	q := url.Values{}
	setAll(q, "tenant", tenant)
	var u User
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/users/" + seg(identifier), query: q}, &u)
	return u, err
}

// Teams lists teams ordered by id (GET /v1/teams).
func (cl *Client) Teams(ctx context.Context, tenant string, p Page) (TeamList, error) {
	q := p.values()
	setAll(q, "tenant", tenant)
	var l TeamList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/teams", query: q}, &l)
	return l, err
}

// Team finds one team by id, Entra group id or name (GET /v1/teams/{team}).
func (cl *Client) Team(ctx context.Context, identifier string) (Team, error) {
	var t Team
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/teams/" + seg(identifier)}, &t)
	return t, err
}

// Channels lists a team's channels (GET /v1/teams/{team}/channels).
func (cl *Client) Channels(ctx context.Context, team string) (ChannelList, error) {
	var l ChannelList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/teams/" + seg(team) + "/channels"}, &l)
	return l, err
}

// ConversationQuery selects conversations.
type ConversationQuery struct {
	// Tenant and Type ("personal", "channel", "groupChat") filter.
	Tenant, Type string
	Page
}

// Conversations lists conversation references ordered by id (GET
// /v1/conversations).
func (cl *Client) Conversations(ctx context.Context, cq ConversationQuery) (ConversationList, error) {
	q := cq.Page.values()
	setAll(q, "tenant", cq.Tenant)
	setAll(q, "type", cq.Type)
	var l ConversationList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/conversations", query: q}, &l)
	return l, err
}

// Preferences returns a user's preferences (GET /v1/users/{user}/preferences).
func (cl *Client) Preferences(ctx context.Context, user string) (Preferences, error) {
	var p Preferences
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/users/" + seg(user) + "/preferences"}, &p)
	return p, err
}

// SetPreferences sets some of a user's preferences (PATCH
// /v1/users/{user}/preferences) and returns them all.
func (cl *Client) SetPreferences(ctx context.Context, user string, changes []PreferenceChange) (Preferences, error) {
	if len(changes) == 0 {
		return Preferences{}, errors.New("set preferences: no changes")
	}
	body, err := jsonBody(PreferencesUpdate{Preferences: changes})
	if err != nil {
		return Preferences{}, err
	}
	var p Preferences
	err = cl.doJSON(ctx, call{method: http.MethodPatch, path: "/v1/users/" + seg(user) + "/preferences", body: body, ctype: "application/json"}, &p)
	return p, err
}
