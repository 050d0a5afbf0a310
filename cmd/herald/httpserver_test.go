package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestHTTPServerCutsSlowClients: a client that sends its headers or its
// body slowly loses the connection instead of holding it. Without the
// timeouts the server would wait forever and the test's guard would fire.
func TestHTTPServerCutsSlowClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, send string
	}{
		{"headers never finish", "POST /api/messages HTTP/1.1\r\nHost: x\r\n"},
		{"body never finishes", "POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			short := 50 * time.Millisecond
			srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
			}), serverTimeouts{header: short, read: short, write: time.Minute, idle: time.Minute})
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			// The guard: far longer than the server's timeouts.
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
			_, err = io.ReadAll(conn)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server kept the slow connection open")
			}
		})
	}
}

func TestDefaultTimeoutsAllowLongWaits(t *testing.T) {
	t.Parallel()
	d := defaultTimeouts()
	// GET /v1/notifications/{id}?wait= may hold an answer for a minute.
	if d.write <= time.Minute || d.header <= 0 || d.read <= 0 || d.idle <= 0 {
		t.Fatalf("timeouts %+v: every one set, writes longer than the API's longest wait", d)
	}
}
