package server

import (
	"context"
	"net/http"
	"time"

	"herald/api"
)

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 2 * time.Second

// healthz answers 200 while the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}

// readyz answers 200 when the store answers and the engine runs, else 503
// naming what failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	h := api.Health{Status: "ok", Checks: map[string]string{"store": "ok", "engine": "ok"}}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness: store unreachable", "err", err)
		h.Status, h.Checks["store"] = "unavailable", "unreachable"
	}
	if s.cfg.Started != nil && !s.cfg.Started() {
		h.Status, h.Checks["engine"] = "unavailable", "not started"
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return writeJSON(w, status, h)
}
