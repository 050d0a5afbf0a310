package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"herald/botframework"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrUntrustedLink means a nextLink or deltaLink pointed away from the
	// configured Graph host (or below another path): nothing was sent.
	ErrUntrustedLink = errors.New("link leaves the configured graph host")
	// ErrResyncRequired means a delta link can no longer be used (410 Gone,
	// or an expired or invalid sync state): start a full round again from
	// an empty link. An *Error with that meaning matches it.
	ErrResyncRequired = errors.New("delta state expired: start a full sync again")
	// ErrNotFound means the object does not exist: a 404 *Error matches it,
	// and so do lookups that found nothing (a group by mail, an app by its
	// manifest id, an installation).
	ErrNotFound = errors.New("not found")
)

// maxRetryAfter bounds a Retry-After hint.
const maxRetryAfter = 24 * time.Hour

// Error is a non-2xx answer from Graph, or a failed item of a batch.
type Error struct {
	// Op names the call, e.g. "list users" or "batch item 3".
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is error.code, e.g. "Authorization_RequestDenied", "Forbidden",
	// "TooManyRequests", "syncStateNotFound".
	Code string
	// InnerCode is error.innerError.code, e.g. "AccessDenied".
	InnerCode string
	// Message is error.message, or the start of a body that is not JSON,
	// on one line.
	Message string
	// RequestID is the request-id header (else error.innerError's), to
	// quote to Microsoft support.
	RequestID string
	// RetryAfter is the Retry-After header (seconds or HTTP date), zero if
	// absent, capped at a day.
	RetryAfter time.Duration
	// Required are the application permissions the call needs: those the
	// message lists ("API requires one of '…'"), else those this client
	// knows the call needs, least privileged first. Empty when unknown.
	Required []string
	// Granted are the roles the message says the token carried ("Roles on
	// the request '…'"); see NoRoles.
	Granted []string
	// NoRoles is true when the message says the token carried no roles at
	// all: admin consent was never granted, or the permissions were added
	// as delegated instead of application permissions.
	NoRoles bool
}

// Error implements error: "op: status 403 Code: message", followed, when
// a permission or consent is missing, by what to grant.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "status %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(botframework.Clip(e.Message, 300))
	}
	if a := e.Advice(); a != "" {
		b.WriteString(" (")
		b.WriteString(a)
		b.WriteString(")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrResyncRequired) and errors.Is(err,
// ErrNotFound) true for the answers that mean them.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrResyncRequired:
		return e.Kind() == KindResyncRequired
	case ErrNotFound:
		return e.Kind() == KindNotFound
	}
	return false
}

// newError builds the error of a non-2xx answer. now is the local clock,
// for an HTTP-date Retry-After when the answer has no Date; required is
// what this client knows the call needs.
func newError(op string, status int, h http.Header, body []byte, now time.Time, required []string) *Error {
	eb := parseErrorBody(body)
	e := &Error{
		Op:         op,
		StatusCode: status,
		Code:       eb.code,
		InnerCode:  eb.innerCode,
		Message:    eb.message,
		RequestID:  h.Get("Request-Id"),
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), h.Get("Date"), now),
	}
	if e.RequestID == "" {
		e.RequestID = eb.requestID
	}
	e.Required, e.Granted, e.NoRoles = parsePermissions(e.Message)
	if len(e.Required) == 0 && e.permissionKind() {
		e.Required = required
	}
	return e
}

// errorBody is what parseErrorBody reads.
type errorBody struct {
	code, innerCode, message, requestID string
}

// parseErrorBody reads Graph's error shape
//
//	{"error":{"code":"…","message":"…","innerError":{"code":"…","request-id":"…"}}}
//
// and, failing that, {"error":"…","message":"…"} or a body that is not
// JSON, whose start becomes the message. Texts come back on one line.
func parseErrorBody(body []byte) errorBody {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errorBody{}
	}
	var env struct {
		Error   json.RawMessage `json:"error"`
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	}
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		if json.Valid(trimmed) {
			return errorBody{message: clean(jsonText(trimmed))}
		}
		return errorBody{message: clean(string(trimmed))}
	}
	var inner struct {
		Code       json.RawMessage `json:"code"`
		Message    json.RawMessage `json:"message"`
		InnerError struct {
			Code      json.RawMessage `json:"code"`
			RequestID json.RawMessage `json:"request-id"`
		} `json:"innerError"`
	}
	var eb errorBody
	if json.Unmarshal(env.Error, &inner) == nil {
		eb.code, eb.message = jsonText(inner.Code), jsonText(inner.Message)
		eb.innerCode, eb.requestID = jsonText(inner.InnerError.Code), jsonText(inner.InnerError.RequestID)
	} else {
		eb.code = jsonText(env.Error) // {"error":"invalid_request"}
	}
	if eb.code == "" {
		eb.code = jsonText(env.Code)
	}
	if eb.message == "" {
		eb.message = jsonText(env.Message)
	}
	eb.code, eb.innerCode, eb.requestID = clean(eb.code), clean(eb.innerCode), clean(eb.requestID)
	eb.message = clean(eb.message)
	return eb
}

// clean makes text from an answer one short line.
func clean(s string) string {
	return botframework.Clip(strings.TrimSpace(botframework.OneLine(s)), 1000)
}

// jsonText returns a JSON string's value or a JSON number's text, else "".
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date, the
// date measured from the answer's Date header when present (the server's
// clock), else from now. Negative results are zero; results are capped at
// a day.
func parseRetryAfter(v, date string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case !(secs > 0): // also NaN
			return 0
		case secs >= maxRetryAfter.Seconds():
			return maxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	base := now
	if d, err := http.ParseTime(date); err == nil {
		base = d
	}
	return min(max(at.Sub(base), 0), maxRetryAfter)
}

// tokenError is a failure to obtain the bearer token: nothing was sent.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "get token: " + e.err.Error() }

func (e *tokenError) Unwrap() error { return e.err }

// responseError is a 2xx answer whose body could not be read or decoded.
type responseError struct{ err error }

func (e *responseError) Error() string { return "bad response: " + e.err.Error() }

func (e *responseError) Unwrap() error { return e.err }
