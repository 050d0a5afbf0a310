package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter collects output and signals when a line equal to "ready"
// arrives.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, line := range strings.Split(w.buf.String(), "\n") {
		if line == "ready" {
			w.once.Do(func() { close(w.ready) })
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startEmulator runs `herald emulator args…` until the test ends and
// returns its base URL once it printed "ready".
func startEmulator(t *testing.T, args ...string) (string, *lineWriter) {
	t.Helper()
	out := &lineWriter{ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"emulator"}, args...), &env{stdout: out, stderr: out, getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator returned %v", err)
		}
	})
	select {
	case <-out.ready:
	case err := <-done:
		done <- err
		t.Fatalf("emulator exited: %v\n%s", err, out)
	case <-time.After(time.Minute): // only against hanging
		t.Fatalf("emulator not ready:\n%s", out)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	base, ok := strings.CutPrefix(first, "herald emulator listening on ")
	if !ok {
		t.Fatalf("first line %q", first)
	}
	return base, out
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	base, out := startEmulator(t, "--addr", "127.0.0.1:0", "--seed", "demo", "--seed-users", "1000")
	if strings.HasSuffix(base, ":0") || !strings.Contains(out.String(), "serviceUrl:       "+base+"/teams/") {
		t.Fatalf("output:\n%s", out)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Contoso") || !strings.Contains(string(page), "Fabrikam") {
		t.Fatalf("page does not show the seeded tenants:\n%s", page)
	}
}

func TestEmulatorTLS(t *testing.T) {
	t.Parallel()
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	base, _ := startEmulator(t, "--addr", "127.0.0.1:0", "--tls-cert-out", certFile)
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base %s", base)
	}
	resp, err := client.Get(base + "/v1/.well-known/openidconfiguration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metadata over TLS: %d", resp.StatusCode)
	}
}

func TestEmulatorFlags(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"--seed", "everything"},
		{"--limits", "maybe"},
		{"--seed-users", "-1"},
		{"--tls-cert", "x.pem"},
		{"--tenant-rps", "0"},
		{"extra"},
		{"--addr", "not an address"},
	}
	for _, args := range tests {
		_, err := runCmd(t, append([]string{"emulator"}, args...)...)
		var ue usageError
		if err == nil || args[0] != "--addr" && !errors.As(err, &ue) {
			t.Errorf("emulator %v: err %v, want a usage error", args, err)
		}
	}
	if out, err := runCmd(t, "emulator", "-h"); !strings.Contains(out, "--seed-users") && !strings.Contains(out, "-seed-users") || err == nil {
		t.Errorf("help: %v\n%s", err, out)
	}
}
