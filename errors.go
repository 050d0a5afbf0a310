package herald

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is. Store drivers translate
// their own "no rows" errors to ErrNotFound at their boundary.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write conflicts with existing state.
	ErrConflict = errors.New("conflict")
	// ErrClosed means the component was stopped or closed.
	ErrClosed = errors.New("closed")
	// ErrInvalid means a request was refused because it is malformed; the
	// wrapped [*FieldError] values name the fields.
	ErrInvalid = errors.New("invalid request")
	// ErrIdempotencyMismatch means a request reused the idempotency key
	// of an earlier, different request (compared by
	// NotificationRequest.Fingerprint). It is not an ErrConflict: the
	// caller must pick a new key or resend the original request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrUnavailable means the store cannot take a write for now: its disk
	// is full, or the database lacks another resource. Nothing of the
	// failed call was recorded; the same call may succeed later.
	ErrUnavailable = errors.New("store unavailable")
)

// FieldError is a refusal of one field of a request. Validation that finds
// several problems joins their FieldErrors (errors.Join) under ErrInvalid,
// in the order of the fields; errors.As finds the first. A FieldError is
// itself an ErrInvalid for errors.Is.
type FieldError struct {
	// Field is the JSON path of the field in the request
	// ("content.textFormat", "audience.users[0]").
	Field string
	// Message says what is wrong with it, in words fit for the caller.
	Message string
}

// Error is "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// fieldError returns a FieldError for field with a formatted message.
func fieldError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// invalid joins errs under ErrInvalid ("invalid request: " then one
// problem per line), or returns nil when errs holds none.
func invalid(errs ...error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
