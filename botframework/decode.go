package botframework

import (
	"bytes"
	"encoding/json"
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

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("decode activity: %s %v", e.Field, e.Err)
	}
	return fmt.Sprintf("decode activity: %v", e.Err)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// marshal encodes v as JSON without escaping <, > and &, so mention text
// ("<at>Name</at>") and HTML stay readable on the wire.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
