package api

import (
	"fmt"

	"herald/card"
)

// Error codes, in the "code" member of an error body.
const (
	// CodeInvalid: the request is malformed; Field names the culprit.
	CodeInvalid = "invalid"
	// CodeUnauthorized: the API key is missing or wrong.
	CodeUnauthorized = "unauthorized"
	// CodeForbidden: the API key is valid but does not allow the request
	// (403): the message names the scope or the grant it lacks, and Field
	// the member of the request it does not allow ("critical", "topic",
	// "audience.teams[0]").
	CodeForbidden = "forbidden"
	// CodeNotFound: the route or the record does not exist.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: the route exists for other methods.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeConflict: an identifier matches several records, or the write
	// conflicts with existing state.
	CodeConflict = "conflict"
	// CodeTooLarge: the body is larger than the server accepts.
	CodeTooLarge = "too_large"
	// CodeUnsupportedMediaType: the body is not JSON where JSON is needed.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeLint: a strict structured notification lacks parts Teams'
	// guidance asks for; Warnings lists them.
	CodeLint = "lint"
	// CodeIdempotencyMismatch: the Idempotency-Key was used earlier with a
	// different request (422); send the original request or use a new
	// key.
	CodeIdempotencyMismatch = "idempotency_mismatch"
	// CodeInternal: the server failed; the details are in its logs.
	CodeInternal = "internal"
	// CodeUnavailable: the server cannot take the request now (store
	// unreachable or full, or engine stopped); try again later.
	CodeUnavailable = "unavailable"
)

// Error is the error every failed API call answers, as
// {"error": {"code", "message", "field"}}. The Go client returns it as an
// error (with Status set) for every non-2xx answer.
type Error struct {
	// Status is the HTTP status of the answer (not sent in the body).
	Status int `json:"-"`
	// Code is one of the Code constants.
	Code string `json:"code"`
	// Message says what went wrong, in words fit for the caller.
	Message string `json:"message"`
	// Field is the JSON path of the offending member of the request
	// ("content.adaptiveCard.version", "audience.users[0]"), or the name
	// of the query parameter or header; empty when the request as a whole
	// is at fault.
	Field string `json:"field,omitempty"`
	// Warnings are the lint findings of a strict structured notification,
	// with fields as JSON paths of the request.
	Warnings []card.Warning `json:"warnings,omitempty"`
}

// Error is "code: field: message" (without the field when empty).
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
}

// ErrorBody is the JSON body of a failed call.
type ErrorBody struct {
	Error *Error `json:"error"`
}
