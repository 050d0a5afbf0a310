package main

import (
	"net/http"
	"time"
)

// Timeouts of every HTTP server the herald command runs. A request must
// arrive whole within requestReadTimeout (headers within
// headerReadTimeout), so a slowly sent body cannot hold a connection; an
// answer may take up to responseWriteTimeout (GET /v1/notifications/{id}
// waits up to a minute); an idle keep-alive connection is closed after
// idleTimeout.
const (
	headerReadTimeout    = 10 * time.Second
	requestReadTimeout   = 30 * time.Second
	responseWriteTimeout = 2 * time.Minute
	idleTimeout          = 2 * time.Minute
)

// serverTimeouts are the timeouts newHTTPServer applies (tests shorten
// them).
type serverTimeouts struct {
	header, read, write, idle time.Duration
}

// defaultTimeouts are the timeouts of herald's servers.
func defaultTimeouts() serverTimeouts {
	return serverTimeouts{header: headerReadTimeout, read: requestReadTimeout, write: responseWriteTimeout, idle: idleTimeout}
}

// newHTTPServer returns a server for h with read, write and idle timeouts.
func newHTTPServer(h http.Handler, t serverTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.header, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle}
}
