package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer safe for the concurrent writes of loggers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func runDemoForTest(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb lockedBuffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := run(ctx, append([]string{"demo", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0"}, args...), e)
	if t.Failed() || err != nil {
		t.Logf("stderr:\n%s", errb.String())
	}
	return out.String(), err
}

func TestDemoOnce(t *testing.T) {
	t.Parallel()
	out, err := runDemoForTest(t, "--once")
	if err != nil {
		t.Fatalf("demo --once: %v\n%s", err, out)
	}
	for _, want := range []string{
		"[1/8] install Herald in team Engineering",
		"[4/8] Alice, Bob and Carol add Herald to their group chat Launch crew",
		"ok: the welcome card is in the chat",
		"[5/8] notify every member of Engineering personally",
		"ok: 21 delivered; each card is in its member's chat",
		"[7/8] update that post in place (same key)",
		`ok: the same post now says "Deploy of checkout-service 2.4.0: done" (1 earlier version)`,
		"[8/8] notify the group chat Launch crew by its conversation id",
		"ok: the card is in the chat",
		"Scenario passed: 8 of 8 steps",
		"group chat Launch crew",
		"Engineering > General",
		"/conversations/",
		"-d 'Hello from curl' http://127.0.0.1:",
		"/v1/send/alice@contoso.com",
		"Authorization: Bearer hk_",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "      ok: "); n != 8 {
		t.Errorf("%d steps ok, want 8:\n%s", n, out)
	}
	if strings.Contains(out, "Press Ctrl-C") {
		t.Errorf("--once waits for Ctrl-C:\n%s", out)
	}
}

func TestDemoOnceFailsWhenAStepFails(t *testing.T) {
	t.Parallel()
	// No step can finish in a nanosecond: the first one fails, and the
	// demo says so and exits non-zero.
	out, err := runDemoForTest(t, "--once", "--step-timeout", "1ns")
	if err == nil || !strings.Contains(err.Error(), "step 1") {
		t.Fatalf("demo with a failing step: err = %v\n%s", err, out)
	}
	if !strings.Contains(out, "FAILED: ") || !strings.Contains(out, "Scenario failed at step 1 of 8") {
		t.Errorf("output does not report the failure:\n%s", out)
	}
}

func TestListenOrFree(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var out bytes.Buffer
	ln, err := listenOrFree(&out, "Herald", taken.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() == taken.Addr().String() {
		t.Fatalf("listened on the taken address %s", ln.Addr())
	}
	want := "note: " + taken.Addr().String() + " is taken; Herald uses " + ln.Addr().String() + " instead\n"
	if out.String() != want {
		t.Errorf("note = %q, want %q", out.String(), want)
	}

	out.Reset()
	free, err := listenOrFree(&out, "Herald", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free.Close()
	if out.Len() != 0 {
		t.Errorf("a free address got a note: %q", out.String())
	}
	if _, err := listenOrFree(&out, "Herald", "127.0.0.1:99999"); err == nil {
		t.Error("listening on an unknown host succeeded")
	}
}
