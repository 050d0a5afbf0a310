package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrUntrustedServiceURL means the Connector refused to send the bot's
	// token to a serviceUrl whose host it does not trust. Nothing was sent.
	ErrUntrustedServiceURL = errors.New("untrusted service url")
	// ErrInvalidArgument means a call was refused before sending because an
	// argument was missing or malformed (an empty id, a nil activity).
	ErrInvalidArgument = errors.New("invalid argument")
)

// Error codes the Connector puts in ErrorResponse.error.code (and, for the
// blocked-thread shape, in the subCode of the 209 body).
const (
	CodeBadArgument                = "BadArgument"
	CodeBadSyntax                  = "BadSyntax"
	CodeBotNotRegistered           = "BotNotRegistered"
	CodeBotDisabledByAdmin         = "BotDisabledByAdmin"
	CodeBotNotInConversationRoster = "BotNotInConversationRoster"
	CodeConversationBlockedByUser  = "ConversationBlockedByUser"
	CodeForbiddenOperation         = "ForbiddenOperationException"
	CodeInvalidBotAPIHost          = "InvalidBotApiHost"
	CodeNotEnoughPermissions       = "NotEnoughPermissions"
	CodeConversationNotFound       = "ConversationNotFound"
	CodeActivityNotFound           = "ActivityNotFoundInConversation"
	CodeMemberNotFound             = "MemberNotFoundInConversation"
	CodePreconditionFailed         = "PreconditionFailed"
	CodeMessageSizeTooBig          = "MessageSizeTooBig"
	CodeThrottled                  = "Throttled"
	CodeServiceError               = "ServiceError"
	CodeMessageWritesBlocked       = "MessageWritesBlocked"
)

// maxRetryAfter bounds a Retry-After hint so absurd values cannot overflow.
const maxRetryAfter = 24 * time.Hour

// APIError is a non-2xx answer from the Connector.
type APIError struct {
	// Op names the call, e.g. "send to conversation".
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is error.code of an ErrorResponse body; for the 403 body
	// {"errorCode":209,"message":"<json>"} it is the inner subCode
	// (MessageWritesBlocked) or, without one, "209".
	Code string
	// Message is the human-readable message of the body, if any.
	Message string
	// RetryAfter is the Retry-After header (seconds or HTTP date), zero if
	// absent.
	RetryAfter time.Duration
	// CorrelationID is the X-Correlating-OperationId header, to quote to
	// Microsoft support.
	CorrelationID string
	// Body is the start of the response body (at most 64 KiB).
	Body []byte
}

// maxErrorBody bounds APIError.Body.
const maxErrorBody = 64 << 10

// Error implements error: "op: status 403 Code: message".
func (e *APIError) Error() string {
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
		b.WriteString(Clip(e.Message, 300))
	}
	return b.String()
}

// newAPIError builds the error for a non-2xx response. now is the local
// clock, used for an HTTP-date Retry-After when the response has no Date.
func newAPIError(op string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{
		Op:            op,
		StatusCode:    status,
		CorrelationID: h.Get("X-Correlating-OperationId"),
		RetryAfter:    parseRetryAfter(h.Get("Retry-After"), h.Get("Date"), now),
	}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	if len(body) > 0 {
		e.Body = append([]byte(nil), body...)
	}
	e.Code, e.Message = parseErrorBody(body)
	return e
}

// parseErrorBody reads the error shapes the Connector is known to send:
//
//	{"error":{"code":"ConversationNotFound","message":"..."}}   ErrorResponse
//	{"message":"Authorization has been denied for this request."}   401
//	{"errorCode":209,"message":"{\"subCode\":\"MessageWritesBlocked\",...}"}   403
//
// Anything else that is not JSON becomes the message, clipped.
func parseErrorBody(body []byte) (code, message string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", ""
	}
	var env struct {
		Error     json.RawMessage `json:"error"`
		Code      json.RawMessage `json:"code"`
		Message   json.RawMessage `json:"message"`
		ErrorCode json.RawMessage `json:"errorCode"`
	}
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		if !json.Valid(trimmed) {
			return "", Clip(OneLine(string(trimmed)), 300)
		}
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			return "", s
		}
		return "", ""
	}
	var inner struct {
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(env.Error, &inner) == nil {
		code, message = jsonText(inner.Code), jsonText(inner.Message)
	} else {
		message = jsonText(env.Error) // {"error":"invalid_request"}
	}
	if code == "" {
		code = jsonText(env.Code)
	}
	if message == "" {
		message = jsonText(env.Message)
	}
	if ec := jsonText(env.ErrorCode); ec != "" && code == "" {
		code = ec
		if sub, details := parseSubCode(message); sub != "" {
			code = sub
			if details != "" {
				message = details
			}
		}
	}
	return code, message
}

// parseSubCode reads the JSON object some 403 bodies carry as a string in
// "message": {"subCode":"MessageWritesBlocked","details":"..."}.
func parseSubCode(s string) (subCode, details string) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return "", ""
	}
	var v struct {
		SubCode json.RawMessage `json:"subCode"`
		Details json.RawMessage `json:"details"`
	}
	if json.Unmarshal([]byte(s), &v) != nil {
		return "", ""
	}
	return jsonText(v.SubCode), jsonText(v.Details)
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

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date. An
// HTTP date is measured from the response's Date header when it has one (the
// server's own clock), else from now. Negative results are zero; results
// are capped at a day.
func parseRetryAfter(v, date string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
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

// Reason says why a call failed, in terms a delivery engine acts on. The
// string values are stable kebab-case names, suitable for storage and
// metrics labels.
type Reason string

// Reasons returned by Classify.
const (
	// ReasonThrottled is 429 Too Many Requests: retry after RetryAfter.
	ReasonThrottled Reason = "throttled"
	// ReasonPrecondition is 412: concurrent operations on one conversation.
	ReasonPrecondition Reason = "precondition"
	// ReasonServiceUnavailable is 502 or 503: the service did not take the
	// request.
	ReasonServiceUnavailable Reason = "service-unavailable"
	// ReasonGatewayTimeout is 504: the request timed out somewhere past
	// the gateway and may have been processed.
	ReasonGatewayTimeout Reason = "gateway-timeout"
	// ReasonTimeout is a transport timeout or an expired context deadline:
	// the request may or may not have reached Teams.
	ReasonTimeout Reason = "timeout"
	// ReasonNetwork is a refused, reset or cut connection, or a failed
	// name lookup.
	ReasonNetwork Reason = "network"
	// ReasonCanceled is the caller's own context cancellation.
	ReasonCanceled Reason = "canceled"
	// ReasonBlockedByUser is 403 ConversationBlockedByUser, or the 209
	// MessageWritesBlocked body.
	ReasonBlockedByUser Reason = "blocked-by-user"
	// ReasonNotInRoster is 403 BotNotInConversationRoster: the app was
	// removed from the conversation.
	ReasonNotInRoster Reason = "not-in-roster"
	// ReasonNotInstalled is 403 ForbiddenOperationException "bot isn't
	// installed in user's personal scope".
	ReasonNotInstalled Reason = "not-installed"
	// ReasonDisabledByAdmin is 403 BotDisabledByAdmin.
	ReasonDisabledByAdmin Reason = "disabled-by-admin"
	// ReasonWrongHost is 403 InvalidBotApiHost (a GCC tenant reached via the
	// public host) or 400 "redirected to the wrong geo": the same request
	// must go to another serviceUrl.
	ReasonWrongHost Reason = "wrong-host"
	// ReasonNotEnoughPermissions is 403 NotEnoughPermissions.
	ReasonNotEnoughPermissions Reason = "not-enough-permissions"
	// ReasonConversationNotFound is 404 ConversationNotFound.
	ReasonConversationNotFound Reason = "conversation-not-found"
	// ReasonActivityNotFound is 404 ActivityNotFoundInConversation.
	ReasonActivityNotFound Reason = "activity-not-found"
	// ReasonMemberNotFound is 404 MemberNotFoundInConversation.
	ReasonMemberNotFound Reason = "member-not-found"
	// ReasonNotFound is any other 404 (an unknown team, operation, route).
	ReasonNotFound Reason = "not-found"
	// ReasonMessageTooLarge is 413 MessageSizeTooBig.
	ReasonMessageTooLarge Reason = "message-too-large"
	// ReasonBadRequest is 400 (BadArgument, BadSyntax, ...) or a call
	// refused locally with ErrInvalidArgument.
	ReasonBadRequest Reason = "bad-request"
	// ReasonUnauthorized is 401, including BotNotRegistered.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonForbidden is any other 403.
	ReasonForbidden Reason = "forbidden"
	// ReasonServiceError is 500 and other 5xx not listed above. Teams'
	// guidance is not to retry 500.
	ReasonServiceError Reason = "service-error"
	// ReasonUntrusted is ErrUntrustedServiceURL: nothing was sent.
	ReasonUntrusted Reason = "untrusted"
	// ReasonRedirect is a 3xx answer: the Connector never redirects, so the
	// request went to the wrong place and was not processed.
	ReasonRedirect Reason = "redirect"
	// ReasonBadResponse is a 2xx answer whose body could not be read or
	// decoded: the operation most likely succeeded.
	ReasonBadResponse Reason = "bad-response"
	// ReasonUnknown is anything else.
	ReasonUnknown Reason = "unknown"
)

// Retryable reports whether the same request may succeed later: throttled,
// precondition, service-unavailable, gateway-timeout, timeout and network.
// Whether repeating it risks a duplicate is Classification.NotProcessed.
func (r Reason) Retryable() bool {
	switch r {
	case ReasonThrottled, ReasonPrecondition, ReasonServiceUnavailable, ReasonGatewayTimeout, ReasonTimeout, ReasonNetwork:
		return true
	}
	return false
}

// Unreachable reports whether the conversation cannot receive messages from
// the bot until something outside the bot changes (the user unblocks or
// messages it, the app is installed again, the admin re-enables it, the
// conversation is recreated).
func (r Reason) Unreachable() bool {
	switch r {
	case ReasonBlockedByUser, ReasonNotInRoster, ReasonNotInstalled, ReasonDisabledByAdmin, ReasonConversationNotFound:
		return true
	}
	return false
}

// Permanent reports whether sending the same request again, to the same
// serviceUrl, cannot succeed. It is false for retryable reasons and for
// canceled, service-error, bad-response and unknown, whose outcome is open.
func (r Reason) Permanent() bool {
	switch r {
	case ReasonCanceled, ReasonServiceError, ReasonBadResponse, ReasonUnknown, "":
		return false
	}
	return !r.Retryable()
}

// Classification is Classify's verdict on an error.
type Classification struct {
	// Retryable is Reason.Retryable().
	Retryable bool
	// Reason says why the call failed.
	Reason Reason
	// RetryAfter is the server's Retry-After hint, zero if none.
	RetryAfter time.Duration
	// NotProcessed is true when Teams certainly did not act on the
	// request, so sending it again cannot duplicate it: the request failed
	// before it was written whole, or the answer says it was refused (any
	// status but 500, 504 and other server errors). It is false when the
	// outcome is open: a server error, a gateway timeout, or a transport
	// failure after the request was written.
	NotProcessed bool
}

// Classify explains an error returned by a Client method (or wrapping one).
// A nil error yields the zero Classification.
//
// Context errors: context.Canceled is ReasonCanceled (not retryable);
// context.DeadlineExceeded, like any transport timeout, is ReasonTimeout
// (retryable), since the attempt, not the work, ran out of time.
func Classify(err error) Classification {
	if err == nil {
		return Classification{}
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		r := classifyAPIError(apiErr)
		return Classification{Retryable: r.Retryable(), Reason: r, RetryAfter: apiErr.RetryAfter,
			NotProcessed: refused(apiErr.StatusCode)}
	}
	r := classifyOther(err)
	return Classification{Retryable: r.Retryable(), Reason: r, NotProcessed: unsent(err) || r == ReasonUntrusted || r == ReasonBadRequest}
}

func classifyAPIError(e *APIError) Reason {
	switch e.Code {
	case CodeConversationBlockedByUser, CodeMessageWritesBlocked:
		return ReasonBlockedByUser
	case CodeBotNotInConversationRoster:
		return ReasonNotInRoster
	case CodeBotDisabledByAdmin:
		return ReasonDisabledByAdmin
	case CodeInvalidBotAPIHost:
		return ReasonWrongHost
	case CodeNotEnoughPermissions:
		return ReasonNotEnoughPermissions
	case CodeConversationNotFound:
		return ReasonConversationNotFound
	case CodeActivityNotFound:
		return ReasonActivityNotFound
	case CodeMemberNotFound:
		return ReasonMemberNotFound
	case CodeMessageSizeTooBig:
		return ReasonMessageTooLarge
	case CodeBotNotRegistered:
		return ReasonUnauthorized
	case CodeForbiddenOperation:
		if strings.Contains(strings.ToLower(e.Message), "install") {
			return ReasonNotInstalled
		}
	case "209":
		if e.StatusCode == http.StatusForbidden {
			return ReasonBlockedByUser
		}
	}
	switch s := e.StatusCode; {
	case s == http.StatusTooManyRequests:
		return ReasonThrottled
	case s == http.StatusPreconditionFailed:
		return ReasonPrecondition
	case s == http.StatusRequestEntityTooLarge:
		return ReasonMessageTooLarge
	case s == http.StatusRequestTimeout:
		return ReasonTimeout
	case s == http.StatusBadRequest:
		if strings.Contains(strings.ToLower(e.Message), "wrong geo") {
			return ReasonWrongHost
		}
		return ReasonBadRequest
	case s == http.StatusUnauthorized:
		return ReasonUnauthorized
	case s == http.StatusForbidden:
		return ReasonForbidden
	case s == http.StatusNotFound:
		return ReasonNotFound
	case s == http.StatusBadGateway, s == http.StatusServiceUnavailable:
		return ReasonServiceUnavailable
	case s == http.StatusGatewayTimeout:
		return ReasonGatewayTimeout
	case s >= 300 && s <= 399:
		return ReasonRedirect
	case s >= 500 && s <= 599:
		return ReasonServiceError
	}
	return ReasonUnknown
}

func classifyOther(err error) Reason {
	var bad *responseError
	switch {
	case errors.Is(err, ErrUntrustedServiceURL):
		return ReasonUntrusted
	case errors.Is(err, ErrInvalidArgument):
		return ReasonBadRequest
	case errors.As(err, &bad):
		return ReasonBadResponse
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &opErr), errors.As(err, &dnsErr):
		return ReasonNetwork
	}
	return ReasonUnknown
}

// responseError is a 2xx response whose body could not be read or decoded.
type responseError struct {
	err error
}

func (e *responseError) Error() string { return "bad response: " + e.err.Error() }

func (e *responseError) Unwrap() error { return e.err }
