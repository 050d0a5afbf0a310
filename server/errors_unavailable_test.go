package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"herald"
	"herald/api"
)

// TestAPIErrorStatus: the store's sentinels map to their answers; a store
// out of space is a 503 (try again later), never a 500.
func TestAPIErrorStatus(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("send: notification create: %w: commit: database or disk is full (13)", herald.ErrUnavailable), http.StatusServiceUnavailable, api.CodeUnavailable},
		{fmt.Errorf("x: %w", herald.ErrNotFound), http.StatusNotFound, api.CodeNotFound},
		{fmt.Errorf("x: %w", herald.ErrConflict), http.StatusConflict, api.CodeConflict},
		{fmt.Errorf("x: %w", herald.ErrIdempotencyMismatch), http.StatusUnprocessableEntity, api.CodeIdempotencyMismatch},
		{&herald.FieldError{Field: "key", Message: "bad"}, http.StatusBadRequest, api.CodeInvalid},
		{errors.New("boom"), http.StatusInternalServerError, api.CodeInternal},
		{context.Canceled, http.StatusInternalServerError, api.CodeInternal},
	} {
		r := httptest.NewRequest(http.MethodPost, "/v1/notifications", nil)
		if e := s.apiError(r, tc.err); e.Status != tc.status || e.Code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, e.Status, e.Code, tc.status, tc.code)
		}
	}
}
