package herald

import "errors"

// Sentinel errors callers branch on with errors.Is. Store drivers translate
// their own "no rows" errors to ErrNotFound at their boundary.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write conflicts with existing state.
	ErrConflict = errors.New("conflict")
	// ErrClosed means the component was stopped or closed.
	ErrClosed = errors.New("closed")
)
