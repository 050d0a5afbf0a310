package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/emulator"
	"herald/sqlstore/sqlstoretest"
)

// TestServeNodes runs herald serve processes side by side on one store: a
// second live process claiming what the first holds (on SQLite, the store;
// on PostgreSQL, its identity) is refused with an error that names the
// holder, and three nodes started at once on an empty PostgreSQL schema
// all come up, each under its own identity.
func TestServeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the herald binary")
	}
	t.Parallel()
	bin := buildHerald(t, t.TempDir())
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	emu.SetBaseURL(srv.URL)
	common := []string{"--addr", "127.0.0.1:0", "--api-key", killTestKey, "--emulator", srv.URL, "--log-level", "warn"}

	refusals := []struct {
		db, name       string
		first, second  []string
		want, wantAlso string
	}{
		{sqlstoretest.SQLite, "another process", []string{"--node", "web"}, []string{"--node", "api"},
			`the store is in use by node "web-`, "a SQLite store serves one process at a time"},
		{sqlstoretest.SQLite, "the same identity", []string{"--node-id", "web-1"}, []string{"--node-id", "web-1"},
			`the store is in use by node "web-1"`, "last heartbeat"},
		{sqlstoretest.Postgres, "the same identity", []string{"--node-id", "web-1"}, []string{"--node-id", "web-1"},
			`identity is in use by node "web-1"`, "last heartbeat"},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.db+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			db := sqlstoretest.NewDatabase(t, tt.db)
			first := launchServe(t, bin, append(append([]string{"serve", "--store", db.DSN}, common...), tt.first...)...)
			if _, err := first.listening(); err != nil {
				t.Fatalf("first node: %v\n%s", err, first.logs())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, append(append([]string{"serve", "--store", db.DSN}, common...), tt.second...)...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), tt.wantAlso) {
				t.Fatalf("second node: %v, output:\n%s\nwant a refusal with %q and %q", err, out, tt.want, tt.wantAlso)
			}
			first.stop(t)
		})
	}

	t.Run("start together", func(t *testing.T) {
		t.Parallel()
		db := sqlstoretest.NewDatabase(t, sqlstoretest.Postgres)
		const nodes = 3
		procs := make([]*serveProc, nodes)
		for i := range procs {
			procs[i] = launchServe(t, bin, append([]string{"serve", "--store", db.DSN, "--node", "web"}, common...)...)
		}
		ids := map[string]bool{}
		for i, p := range procs {
			line, err := p.listening()
			if err != nil {
				t.Fatalf("node %d: %v\n%s", i, err, p.logs())
			}
			base := strings.Fields(strings.TrimPrefix(line, "herald serving on "))[0]
			resp, err := http.Get(base + "/readyz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("node %d not ready: %v %v", i, resp, err)
			}
			resp.Body.Close()
			_, rest, _ := strings.Cut(line, "(node ")
			ids[strings.TrimSuffix(strings.Fields(rest)[0], ",")] = true
		}
		ns, err := db.Open(t).NodeList(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, n := range ns {
			if ids[n.ID] && n.Running(time.Now()) && strings.HasPrefix(n.ID, "web-") {
				running++
			}
		}
		if len(ids) != nodes || running != nodes {
			t.Fatalf("identities %v, registrations %+v: want %d nodes running", ids, ns, nodes)
		}
		for _, p := range procs {
			p.stop(t)
		}
	})
}

// serveProc is a herald serve process started without waiting for it.
type serveProc struct {
	cmd    *exec.Cmd
	lines  chan string
	done   chan error
	mu     sync.Mutex
	stderr bytes.Buffer
}

// launchServe starts the binary with args; listening waits for it to
// serve.
func launchServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(bin, args...), lines: make(chan string, 1), done: make(chan error, 1)}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "herald serving on ") {
				p.lines <- sc.Text()
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// listening returns the line saying where the process serves, or why it
// did not come up.
func (p *serveProc) listening() (string, error) {
	select {
	case line := <-p.lines:
		return line, nil
	case err := <-p.done:
		return "", fmt.Errorf("exited before listening: %v", err)
	case <-time.After(2 * time.Minute):
		return "", fmt.Errorf("not listening after 2 minutes")
	}
}

func (p *serveProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop stops the process with SIGTERM: it ends its registration.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	(&heraldProc{cmd: p.cmd, done: p.done}).stop(t)
}

// lockedWriter serialises writes to a buffer read while the process runs.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}
