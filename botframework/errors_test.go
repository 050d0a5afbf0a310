package botframework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errorCases are the error answers of teams-protocol §5 (and the observed
// variants next to it), as status, headers and body.
var errorCases = []struct {
	name       string
	status     int
	body       string
	retryAfter string
	wantCode   string
	wantReason Reason
}{
	{"400 BadArgument", 400, `{"error":{"code":"BadArgument","message":"Activity text is missing"}}`, "", "BadArgument", ReasonBadRequest},
	{"400 Bad Argument label", 400, `{"error":{"code":"Bad Argument","message":"Unknown activity type"}}`, "", "Bad Argument", ReasonBadRequest},
	{"400 BadSyntax tenant", 400, `{"error":{"code":"BadSyntax","message":"Could not parse tenant id"}}`, "", "BadSyntax", ReasonBadRequest},
	{"400 wrong geo", 400, `{"error":{"code":"BadArgument","message":"Incoming request was redirected to the wrong geo! Current geo: EMEA, Target geo: EUDB"}}`, "", "BadArgument", ReasonWrongHost},
	{"401 BotNotRegistered", 401, `{"error":{"code":"BotNotRegistered","message":"No registration found for this bot."}}`, "", "BotNotRegistered", ReasonUnauthorized},
	{"401 denied", 401, `{"message":"Authorization has been denied for this request."}`, "", "", ReasonUnauthorized},
	{"403 BotDisabledByAdmin", 403, `{"error":{"code":"BotDisabledByAdmin","message":"The tenant admin disabled this bot"}}`, "", "BotDisabledByAdmin", ReasonDisabledByAdmin},
	{"403 BotNotInConversationRoster", 403, `{"error":{"code":"BotNotInConversationRoster","message":"The bot isn't part of the conversation roster."}}`, "", "BotNotInConversationRoster", ReasonNotInRoster},
	{"403 ConversationBlockedByUser", 403, `{"error":{"code":"ConversationBlockedByUser","message":"User blocked the conversation with the bot."}}`, "", "ConversationBlockedByUser", ReasonBlockedByUser},
	{"403 not installed", 403, `{"error":{"code":"ForbiddenOperationException","message":"Bot isn't installed in user's personal scope"}}`, "", "ForbiddenOperationException", ReasonNotInstalled},
	{"403 other forbidden operation", 403, `{"error":{"code":"ForbiddenOperationException","message":"Operation not allowed"}}`, "", "ForbiddenOperationException", ReasonForbidden},
	{"403 InvalidBotApiHost", 403, `{"error":{"code":"InvalidBotApiHost","message":"Invalid bot api host. For GCC tenants, call https://smba.infra.gcc.teams.microsoft.com."}}`, "", "InvalidBotApiHost", ReasonWrongHost},
	{"403 NotEnoughPermissions", 403, `{"error":{"code":"NotEnoughPermissions","message":"Bot does not have permission"}}`, "", "NotEnoughPermissions", ReasonNotEnoughPermissions},
	{"403 209 MessageWritesBlocked", 403, `{"errorCode":209,"message":"{\r\n  \"subCode\": \"MessageWritesBlocked\",\r\n  \"details\": \"Thread is blocked from message writes.\",\r\n  \"errorCode\": null,\r\n  \"errorSubCode\": null\r\n}"}`, "", "MessageWritesBlocked", ReasonBlockedByUser},
	{"403 209 without subCode", 403, `{"errorCode":209,"message":"Thread is blocked."}`, "", "209", ReasonBlockedByUser},
	{"403 empty", 403, ``, "", "", ReasonForbidden},
	{"404 ConversationNotFound", 404, `{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}`, "", "ConversationNotFound", ReasonConversationNotFound},
	{"404 ActivityNotFoundInConversation", 404, `{"error":{"code":"ActivityNotFoundInConversation","message":"Activity not found"}}`, "", "ActivityNotFoundInConversation", ReasonActivityNotFound},
	{"404 MemberNotFoundInConversation", 404, `{"error":{"code":"MemberNotFoundInConversation","message":"The member is not part of the conversation"}}`, "", "MemberNotFoundInConversation", ReasonMemberNotFound},
	{"404 other", 404, `{"error":{"code":"NotFound","message":"Team not found"}}`, "", "NotFound", ReasonNotFound},
	{"412 PreconditionFailed", 412, `{"error":{"code":"PreconditionFailed","message":"Precondition failed, please try again."}}`, "", "PreconditionFailed", ReasonPrecondition},
	{"413 MessageSizeTooBig", 413, `{"error":{"code":"MessageSizeTooBig","message":"Message size too large."}}`, "", "MessageSizeTooBig", ReasonMessageTooLarge},
	{"413 no body", 413, ``, "", "", ReasonMessageTooLarge},
	{"429 Throttled", 429, `{"error":{"code":"Throttled","message":"Too many requests."}}`, "3", "Throttled", ReasonThrottled},
	{"500 ServiceError", 500, `{"error":{"code":"ServiceError","message":"Internal error"}}`, "", "ServiceError", ReasonServiceError},
	{"502 ServiceError", 502, `{"error":{"code":"ServiceError","message":"Dependency failed","innerHttpError":{"statusCode":500,"body":{"x":1}}}}`, "", "ServiceError", ReasonServiceUnavailable},
	{"503", 503, `<html><body>Service Unavailable</body></html>`, "120", "", ReasonServiceUnavailable},
	{"504", 504, ``, "", "", ReasonGatewayTimeout},
	{"501", 501, ``, "", "", ReasonServiceError},
	{"408", 408, ``, "", "", ReasonTimeout},
	{"405", 405, `{"message":"The requested resource does not support http method 'GET'."}`, "", "", ReasonUnknown},
	{"307", 307, ``, "", "", ReasonRedirect},
	{"301", 301, `<html>moved</html>`, "", "", ReasonRedirect},
}

func TestClassifyAPIErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			apiErr := newAPIError("send to conversation", tt.status, h, []byte(tt.body), time.Now())
			if apiErr.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", apiErr.Code, tt.wantCode)
			}
			wrapped := fmt.Errorf("deliver: %w", apiErr)
			c := Classify(wrapped)
			// Only a server error or a gateway timeout leaves open whether
			// Teams acted on the request.
			open := tt.status == 500 || tt.status == 501 || tt.status == 504
			want := Classification{Reason: tt.wantReason, Retryable: tt.wantReason.Retryable(), NotProcessed: !open}
			if tt.retryAfter != "" {
				want.RetryAfter = parseRetryAfter(tt.retryAfter, "", time.Time{})
			}
			if c != want {
				t.Errorf("Classify = %+v, want %+v", c, want)
			}
		})
	}
}

// TestClassifyRetryableSet pins which §5 answers are retryable.
func TestClassifyRetryableSet(t *testing.T) {
	t.Parallel()
	retryable := map[int]bool{412: true, 429: true, 502: true, 503: true, 504: true, 408: true}
	for _, tt := range errorCases {
		c := Classify(newAPIError("op", tt.status, http.Header{}, []byte(tt.body), time.Now()))
		if c.Retryable != retryable[tt.status] {
			t.Errorf("%s: Retryable = %v", tt.name, c.Retryable)
		}
	}
}

// timeoutErr is a net.Error that timed out, as a dialer or reader returns.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyOtherErrors(t *testing.T) {
	t.Parallel()
	urlErr := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://smba.trafficmanager.net/amer/v3/conversations", Err: err}
	}
	sysErr := func(errno syscall.Errno) error {
		return urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)})
	}
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ""},
		{"untrusted", fmt.Errorf("send: %w", fmt.Errorf("%w: host evil.example", ErrUntrustedServiceURL)), ReasonUntrusted},
		{"invalid argument", fmt.Errorf("send: %w: conversation id \"\"", ErrInvalidArgument), ReasonBadRequest},
		{"caller canceled", urlErr(context.Canceled), ReasonCanceled},
		{"caller canceled, wrapped twice", fmt.Errorf("deliver: %w", urlErr(context.Canceled)), ReasonCanceled},
		{"deadline", urlErr(context.DeadlineExceeded), ReasonTimeout},
		{"net timeout", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}), ReasonTimeout},
		{"os deadline", urlErr(os.ErrDeadlineExceeded), ReasonTimeout},
		{"connection refused", sysErr(syscall.ECONNREFUSED), ReasonNetwork},
		{"connection reset", sysErr(syscall.ECONNRESET), ReasonNetwork},
		{"broken pipe", sysErr(syscall.EPIPE), ReasonNetwork},
		{"host unreachable", sysErr(syscall.EHOSTUNREACH), ReasonNetwork},
		{"EOF", urlErr(io.EOF), ReasonNetwork},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), ReasonNetwork},
		{"dns", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "smba.trafficmanager.net", IsNotFound: true}}), ReasonNetwork},
		{"bad 2xx body", fmt.Errorf("send: %w", &responseError{err: io.ErrUnexpectedEOF}), ReasonBadResponse},
		{"token failure", fmt.Errorf("send: get token: %w", errors.New("invalid_client")), ReasonUnknown},
		{"other", errors.New("boom"), ReasonUnknown},
	}
	for _, tt := range tests {
		c := Classify(tt.err)
		if c.Reason != tt.want || c.Retryable != tt.want.Retryable() || c.RetryAfter != 0 {
			t.Errorf("%s: Classify(%v) = %+v, want reason %q", tt.name, tt.err, c, tt.want)
		}
	}
}

func TestReasonPredicates(t *testing.T) {
	t.Parallel()
	all := []Reason{ReasonThrottled, ReasonPrecondition, ReasonServiceUnavailable, ReasonTimeout, ReasonNetwork,
		ReasonCanceled, ReasonBlockedByUser, ReasonNotInRoster, ReasonNotInstalled, ReasonDisabledByAdmin,
		ReasonWrongHost, ReasonNotEnoughPermissions, ReasonConversationNotFound, ReasonActivityNotFound,
		ReasonMemberNotFound, ReasonNotFound, ReasonMessageTooLarge, ReasonBadRequest, ReasonUnauthorized,
		ReasonForbidden, ReasonServiceError, ReasonUntrusted, ReasonBadResponse, ReasonUnknown}
	type flags struct{ retryable, unreachable, permanent bool }
	want := map[Reason]flags{
		ReasonThrottled: {retryable: true}, ReasonPrecondition: {retryable: true},
		ReasonServiceUnavailable: {retryable: true}, ReasonTimeout: {retryable: true}, ReasonNetwork: {retryable: true},
		ReasonCanceled: {}, ReasonServiceError: {}, ReasonBadResponse: {}, ReasonUnknown: {},
		ReasonBlockedByUser: {unreachable: true, permanent: true}, ReasonNotInRoster: {unreachable: true, permanent: true},
		ReasonNotInstalled: {unreachable: true, permanent: true}, ReasonDisabledByAdmin: {unreachable: true, permanent: true},
		ReasonConversationNotFound: {unreachable: true, permanent: true},
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[string(r)] {
			t.Errorf("duplicate reason value %q", r)
		}
		seen[string(r)] = true
		if strings.ToLower(string(r)) != string(r) || strings.ContainsAny(string(r), " _") {
			t.Errorf("reason %q is not kebab case", r)
		}
		w, ok := want[r]
		if !ok {
			w = flags{permanent: true}
		}
		got := flags{r.Retryable(), r.Unreachable(), r.Permanent()}
		if got != w {
			t.Errorf("%s: predicates = %+v, want %+v", r, got, w)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, code, message string
	}{
		{``, "", ""},
		{`   `, "", ""},
		{`{"error":{"code":"Throttled","message":"Too many requests."}}`, "Throttled", "Too many requests."},
		{`{"message":"Authorization has been denied for this request."}`, "", "Authorization has been denied for this request."},
		{`{"Message":"An error has occurred."}`, "", "An error has occurred."},
		{`{"errorCode":209,"message":"{\"subCode\":\"MessageWritesBlocked\",\"details\":\"Thread is blocked from message writes.\"}"}`, "MessageWritesBlocked", "Thread is blocked from message writes."},
		{`{"errorCode":"E1","message":"plain"}`, "E1", "plain"},
		{`{"code":"BadRequest","message":"flat shape"}`, "BadRequest", "flat shape"},
		{`{"error":"invalid_request","error_description":"x"}`, "", "invalid_request"},
		{`{"error":{"code":7,"message":["not","text"]}}`, "7", ""},
		{`"just a string"`, "", "just a string"},
		{`[1,2]`, "", ""},
		{"Service\tUnavailable\r\n", "", "Service Unavailable"},
		{`{"error":`, "", `{"error":`},
		{"\xff\xfe bad utf8", "", "\uFFFD bad utf8"},
	}
	for _, tt := range tests {
		code, msg := parseErrorBody([]byte(tt.body))
		if code != tt.code || msg != tt.message {
			t.Errorf("parseErrorBody(%q) = %q, %q; want %q, %q", tt.body, code, msg, tt.code, tt.message)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value, date string
		want        time.Duration
	}{
		{"", "", 0},
		{"0", "", 0},
		{"-5", "", 0},
		{"3", "", 3 * time.Second},
		{" 120 ", "", 2 * time.Minute},
		{"99999999999999999", "", maxRetryAfter},
		{"1.5", "", 0},
		{"soon", "", 0},
		{"Fri, 07 Mar 2025 12:00:30 GMT", "", 30 * time.Second},
		{"Fri, 07 Mar 2025 12:00:30 GMT", "Fri, 07 Mar 2025 12:00:20 GMT", 10 * time.Second},
		{"Fri, 07 Mar 2025 11:59:00 GMT", "", 0},
		{"Friday, 07-Mar-25 12:01:00 GMT", "garbage", time.Minute},
		{"Sat, 07 Mar 2026 12:00:00 GMT", "", maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, tt.date, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q, %q) = %v, want %v", tt.value, tt.date, got, tt.want)
		}
	}
}

func TestAPIErrorBodyCapAndText(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxErrorBody+10)
	e := newAPIError("get member", 500, http.Header{}, []byte(big), time.Now())
	if len(e.Body) != maxErrorBody {
		t.Errorf("len(Body) = %d", len(e.Body))
	}
	if len(e.Error()) > 400 {
		t.Errorf("Error() is %d bytes long", len(e.Error()))
	}
	if got := (&APIError{Op: "delete activity", StatusCode: 503}).Error(); got != "delete activity: status 503" {
		t.Errorf("Error() = %q", got)
	}
}

// TestRetryAfterUsesConnectorClock checks an HTTP-date Retry-After without
// a Date header is measured with ConnectorOptions.Now.
func TestRetryAfterUsesConnectorClock(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // suppress the automatic Date header
		w.Header().Set("Retry-After", "Fri, 07 Mar 2025 12:00:45 GMT")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	conn := NewConnector(ConnectorOptions{
		HTTPClient: srv.Client(), Tokens: &fakeTokens{token: "t"},
		TrustedHosts: []string{"127.0.0.1"},
		Now:          func() time.Time { return time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC) },
	})
	_, err := conn.Client(srv.URL).SendToConversation(t.Context(), "a:c", msg("x"))
	if c := Classify(err); c != (Classification{Retryable: true, Reason: ReasonThrottled, RetryAfter: 45 * time.Second, NotProcessed: true}) {
		t.Errorf("Classify = %+v (err %v)", c, err)
	}
}

// TestTransportErrors provokes real transport failures and checks their
// classification.
func TestTransportErrors(t *testing.T) {
	t.Parallel()

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		err = sendVia(t, http.DefaultClient, "http://"+addr, t.Context())
		if c := Classify(err); c.Reason != ReasonNetwork || !c.Retryable || !c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})

	t.Run("connection cut", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		t.Cleanup(srv.Close)
		err := sendVia(t, srv.Client(), srv.URL, t.Context())
		// The request was written before the connection was cut: Teams may
		// have acted on it.
		if c := Classify(err); c.Reason != ReasonNetwork || !c.Retryable || c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})

	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		hc := srv.Client()
		hc.Timeout = 50 * time.Millisecond
		err := sendVia(t, hc, srv.URL, t.Context())
		if c := Classify(err); c.Reason != ReasonTimeout || !c.Retryable || c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // lets the server notice the client going away
			close(arrived)
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-arrived
			cancel()
		}()
		err := sendVia(t, srv.Client(), srv.URL, ctx)
		if c := Classify(err); c.Reason != ReasonCanceled || c.Retryable || c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})

	t.Run("canceled before sending", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := sendVia(t, http.DefaultClient, "http://127.0.0.1:1", ctx)
		if c := Classify(err); c.Reason != ReasonCanceled || !c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})

	t.Run("caller deadline", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := sendVia(t, srv.Client(), srv.URL, ctx)
		if c := Classify(err); c.Reason != ReasonTimeout || !c.Retryable || c.NotProcessed {
			t.Errorf("err %v: Classify = %+v", err, c)
		}
	})
}

func sendVia(t *testing.T, hc *http.Client, serviceURL string, ctx context.Context) error {
	t.Helper()
	conn := NewConnector(ConnectorOptions{HTTPClient: hc, Tokens: &fakeTokens{token: "t"}, TrustedHosts: []string{"127.0.0.1"}})
	_, err := conn.Client(serviceURL).SendToConversation(ctx, "a:c", msg("x"))
	if err == nil {
		t.Fatal("send succeeded")
	}
	return err
}

func TestAPIErrorIsComparable(t *testing.T) {
	t.Parallel()
	e := newAPIError("op", 404, http.Header{"X-Correlating-Operationid": {"abc"}}, []byte(`{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}`), time.Now())
	want := &APIError{Op: "op", StatusCode: 404, Code: "ConversationNotFound", Message: "Conversation not found.",
		CorrelationID: "abc", Body: []byte(`{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}`)}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
}

// TestNotProcessedBeforeSending: a call that fails before anything is
// written (no token, an untrusted host, a refused connection) is known not
// to have reached Teams; one cut after the write is not.
func TestNotProcessedBeforeSending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tokens TokenSource
		url    string
	}{
		{"token failure", &fakeTokens{err: errors.New("invalid_client")}, "http://127.0.0.1:1"},
		{"empty token", &fakeTokens{}, "http://127.0.0.1:1"},
		{"untrusted host", &fakeTokens{token: "t"}, "https://evil.example"},
	}
	for _, tt := range tests {
		conn := NewConnector(ConnectorOptions{Tokens: tt.tokens, TrustedHosts: []string{"127.0.0.1"}})
		_, err := conn.Client(tt.url).SendToConversation(t.Context(), "a:c", msg("x"))
		if c := Classify(err); err == nil || !c.NotProcessed {
			t.Errorf("%s: err %v: Classify = %+v, want NotProcessed", tt.name, err, c)
		}
	}
}
