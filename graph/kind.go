package graph

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Kind says why a Graph call failed, in terms Herald acts on. The values
// are stable kebab-case names, fit for storage and metric labels.
type Kind string

// Kinds returned by [Classify] and [Error.Kind].
const (
	// KindThrottled is 429: wait Retry-After, then retry.
	KindThrottled Kind = "throttled"
	// KindServiceUnavailable is 502 or 503: retry after Retry-After.
	KindServiceUnavailable Kind = "service-unavailable"
	// KindGatewayTimeout is 504: retry after Retry-After.
	KindGatewayTimeout Kind = "gateway-timeout"
	// KindPermissionMissing is 403 Authorization_RequestDenied or "Missing
	// role permissions": the app lacks an application permission;
	// Error.Required names it.
	KindPermissionMissing Kind = "permission-missing"
	// KindConsentMissing is a refusal for want of consent: the token
	// carries no roles at all (admin consent never granted), or an install
	// of an app declaring resource-specific permissions lacks the
	// …AndConsent… permission or the consentedPermissionSet.
	KindConsentMissing Kind = "consent-missing"
	// KindLicenseMissing is "Failed to get license information for the
	// user": the person has no license that includes Teams.
	KindLicenseMissing Kind = "license-missing"
	// KindDisabled is a refusal naming a disabled account (inferred: the
	// sources name no exact text; check accountEnabled first).
	KindDisabled Kind = "disabled"
	// KindGuestNotAllowed is a refusal naming a guest (inferred, as for
	// KindDisabled; check userType first).
	KindGuestNotAllowed Kind = "guest-not-allowed"
	// KindBlockedByPolicy is 403 "App is blocked by app permission policy".
	KindBlockedByPolicy Kind = "blocked-by-policy"
	// KindAppIdentityMismatch is "AAD App Id '…' is not allowed to manage
	// the Teams App": the …Self… permissions work only for the app whose
	// manifest names this Entra app in webApplicationInfo.id.
	KindAppIdentityMismatch Kind = "app-identity-mismatch"
	// KindNotFound is 404 (a user unknown to Teams, an app gone from the
	// catalog) or a lookup that found nothing.
	KindNotFound Kind = "not-found"
	// KindConflict is 409: for an install, the app is already installed.
	KindConflict Kind = "conflict"
	// KindDependencyFailed is 424: a batch item whose dependsOn failed.
	KindDependencyFailed Kind = "dependency-failed"
	// KindResyncRequired is 410 Gone or an expired delta state: start the
	// delta again from an empty link.
	KindResyncRequired Kind = "resync-required"
	// KindUnauthorized is 401: the token was refused.
	KindUnauthorized Kind = "unauthorized"
	// KindForbidden is any other 403.
	KindForbidden Kind = "forbidden"
	// KindBadRequest is 400 and any other 4xx, or a call refused locally
	// with ErrInvalidArgument.
	KindBadRequest Kind = "bad-request"
	// KindServiceError is 500 and any other 5xx.
	KindServiceError Kind = "service-error"
	// KindRedirect is a 3xx answer: redirects are never followed.
	KindRedirect Kind = "redirect"
	// KindToken is a failure to obtain the bearer token (nothing was sent).
	KindToken Kind = "token"
	// KindUntrusted is ErrUntrustedLink: nothing was sent.
	KindUntrusted Kind = "untrusted"
	// KindTimeout is a transport timeout or an expired context deadline.
	KindTimeout Kind = "timeout"
	// KindNetwork is a refused, reset or cut connection, or a failed lookup.
	KindNetwork Kind = "network"
	// KindCanceled is the caller's own cancellation.
	KindCanceled Kind = "canceled"
	// KindBadResponse is a 2xx answer that could not be read or decoded.
	KindBadResponse Kind = "bad-response"
	// KindUnknown is anything else.
	KindUnknown Kind = "unknown"
)

// Retryable reports whether the same call may succeed later: throttled,
// service-unavailable, gateway-timeout, timeout and network. No other 4xx
// is retryable.
func (k Kind) Retryable() bool {
	switch k {
	case KindThrottled, KindServiceUnavailable, KindGatewayTimeout, KindTimeout, KindNetwork:
		return true
	}
	return false
}

// Classification is [Classify]'s verdict.
type Classification struct {
	Kind       Kind
	Retryable  bool
	RetryAfter time.Duration // the answer's Retry-After, zero if none
}

// Classify explains an error returned by a Client method (or wrapping
// one). A nil error gives the zero Classification.
func Classify(err error) Classification {
	if err == nil {
		return Classification{}
	}
	var e *Error
	if errors.As(err, &e) {
		k := e.Kind()
		return Classification{Kind: k, Retryable: k.Retryable(), RetryAfter: e.RetryAfter}
	}
	k := classifyOther(err)
	return Classification{Kind: k, Retryable: k.Retryable()}
}

// Kind classifies the answer by its status, code and message.
func (e *Error) Kind() Kind {
	code := strings.ToLower(e.Code)
	switch s := e.StatusCode; {
	case s == http.StatusGone, code == "syncstatenotfound", code == "syncstateinvalid", code == "resyncrequired":
		return KindResyncRequired
	case s == http.StatusTooManyRequests:
		return KindThrottled
	case s == http.StatusBadGateway, s == http.StatusServiceUnavailable:
		return KindServiceUnavailable
	case s == http.StatusGatewayTimeout:
		return KindGatewayTimeout
	case s == http.StatusUnauthorized:
		return KindUnauthorized
	case s >= 400 && s <= 499:
		if k := e.refusal(code); k != "" {
			return k
		}
	}
	return statusKind(e.StatusCode)
}

// refusal reads a 4xx answer's code and message for the reasons Herald
// names per recipient.
func (e *Error) refusal(code string) Kind {
	msg := strings.ToLower(e.Message)
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case has("blocked by app permission policy"), has("blocked by") && has("policy"):
		return KindBlockedByPolicy
	case code == "authorization_requestdenied", has("missing role permissions"), has("missing scope permissions"):
		if e.NoRoles {
			return KindConsentMissing
		}
		return KindPermissionMissing
	case has("is not allowed to manage the teams app"):
		return KindAppIdentityMismatch
	case has("license"):
		return KindLicenseMissing
	case has("resourcespecificpermission"), has("resource-specific"), has("resource specific"), has("consent"):
		return KindConsentMissing
	case has("disabled"):
		return KindDisabled
	case has("guest"):
		return KindGuestNotAllowed
	}
	return ""
}

// statusKind is the kind of a status alone.
func statusKind(s int) Kind {
	switch {
	case s == http.StatusForbidden:
		return KindForbidden
	case s == http.StatusNotFound:
		return KindNotFound
	case s == http.StatusConflict:
		return KindConflict
	case s == http.StatusFailedDependency:
		return KindDependencyFailed
	case s >= 400 && s <= 499:
		return KindBadRequest
	case s >= 300 && s <= 399:
		return KindRedirect
	case s >= 500 && s <= 599:
		return KindServiceError
	}
	return KindUnknown
}

// permissionKind reports whether the answer is about a missing permission
// or consent.
func (e *Error) permissionKind() bool {
	k := e.Kind()
	return k == KindPermissionMissing || k == KindConsentMissing
}

func classifyOther(err error) Kind {
	var bad *responseError
	switch {
	case errors.Is(err, ErrUntrustedLink):
		return KindUntrusted
	case errors.Is(err, ErrInvalidArgument):
		return KindBadRequest
	case errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.As(err, &bad):
		return KindBadResponse
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &opErr), errors.As(err, &dnsErr):
		return KindNetwork
	}
	var te *tokenError
	if errors.As(err, &te) {
		return KindToken
	}
	return KindUnknown
}
