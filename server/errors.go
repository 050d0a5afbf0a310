package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"herald"
	"herald/api"
)

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// writeError renders err as an error body: an *api.Error as it is, the
// library's sentinels as 400, 404, 409, 422 (an idempotency key reused
// with another request) or 503 (the store cannot take writes for now), an
// oversized body as 413, and anything else as 500 with the cause logged
// but not shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.apiError(r, err)
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	_ = writeJSON(w, e.Status, api.ErrorBody{Error: e})
}

func (s *Server) apiError(r *http.Request, err error) *api.Error {
	var ae *api.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &tooBig):
		return &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge,
			Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, herald.ErrInvalid):
		return invalidFrom(err)
	case errors.Is(err, herald.ErrForbidden):
		e := &api.Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Message: "this key does not allow the request"}
		var fe *herald.ForbiddenError
		if errors.As(err, &fe) {
			e.Field, e.Message = fe.Field, fe.Message
		}
		return e
	case errors.Is(err, herald.ErrIdempotencyMismatch):
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeIdempotencyMismatch, Field: "Idempotency-Key",
			Message: "this key was used earlier with a different request; resend that request unchanged, or use a new key"}
	case errors.Is(err, herald.ErrNotFound):
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "not found"}
	case errors.Is(err, herald.ErrConflict):
		return &api.Error{Status: http.StatusConflict, Code: api.CodeConflict, Message: "the request conflicts with existing state"}
	case errors.Is(err, herald.ErrUnavailable):
		s.log.Error("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable,
			Message: "the store cannot take this request now (its disk is full); nothing was recorded, try again later"}
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		s.log.Debug("request cancelled", "method", r.Method, "path", r.URL.Path)
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Message: "the request was cancelled"}
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: "internal error; the server's log has the details"}
}

// invalidFrom turns a herald.ErrInvalid error into a 400 naming the field
// of its first *herald.FieldError. The message is that error's own when it
// is the only problem, else every problem, separated by "; ".
func invalidFrom(err error) *api.Error {
	msg := strings.TrimPrefix(err.Error(), herald.ErrInvalid.Error()+": ")
	e := &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Message: strings.ReplaceAll(msg, "\n", "; ")}
	var fe *herald.FieldError
	if errors.As(err, &fe) {
		e.Field = fe.Field
		if msg == fe.Error() {
			e.Message = fe.Message
		}
	}
	return e
}

// invalid returns a 400 naming field.
func invalid(field, format string, args ...any) *api.Error {
	return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// notFound returns a 404 for a record of kind named id.
func notFound(kind, id string) *api.Error {
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: fmt.Sprintf("no %s %q", kind, id)}
}

// lookup maps ErrNotFound and ErrConflict of a directory or notification
// lookup to answers naming what was looked up; other errors pass.
func lookup(err error, kind, id, field string) error {
	switch {
	case errors.Is(err, herald.ErrNotFound):
		e := notFound(kind, id)
		e.Field = field
		return e
	case errors.Is(err, herald.ErrConflict):
		return &api.Error{Status: http.StatusConflict, Code: api.CodeConflict, Field: field,
			Message: fmt.Sprintf("%q matches several %ss; be more specific (a tenant, or an id)", id, kind)}
	}
	return err
}
