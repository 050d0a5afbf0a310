package botframework

import (
	"errors"
	"fmt"
)

var errMissing = errors.New("is required")

// DecodeError reports JSON that is not a valid activity. Field names the
// offending member when known.
type DecodeError struct {
	Field string
	Err   error
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("decode activity: %s %v", e.Field, e.Err)
	}
	return fmt.Sprintf("decode activity: %v", e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
