package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"herald/emulator"
	"herald/sqlstore"
)

// buildBinary builds the example into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH, so the example binary cannot be built")
	}
	bin := filepath.Join(t.TempDir(), "slowanswer")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer collects a process's log for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// scene is the example binary's environment: an in-process emulator whose
// bot is the binary at addr, and the binary's store.
type scene struct {
	t     *testing.T
	ctx   context.Context
	bin   string
	addr  string
	store string
	emu   *emulator.Emulator
	url   string
	log   *syncBuffer
}

func newScene(t *testing.T) *scene {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s := &scene{t: t, ctx: ctx, bin: buildBinary(t), addr: freeAddr(t),
		store: filepath.Join(t.TempDir(), "slowanswer.db"), log: &syncBuffer{}}
	s.emu = emulator.New(emulator.Config{BotURL: "http://" + s.addr + "/api/messages"})
	srv := httptest.NewServer(s.emu)
	t.Cleanup(func() { srv.Close(); s.emu.Close() })
	s.emu.SetBaseURL(srv.URL)
	s.url = srv.URL
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("slowanswer's log:\n%s", s.log.String())
		}
		if err := s.emu.Err(); err != nil {
			t.Errorf("emulator saw unexpected requests: %v", err)
		}
	})
	return s
}

// proc is a running binary.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it exited
	err  error         // cmd.Wait's result, once done
}

// start runs the binary and returns once it listens.
func (s *scene) start(work string) *proc {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--addr", s.addr, "--store", s.store, "--emulator", s.url, "--work", work)
	cmd.Stderr = s.log
	out := &watcher{marker: "slowanswer listening on ", seen: make(chan struct{})}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.t.Cleanup(p.kill)
	select {
	case <-out.seen:
	case <-p.done:
		s.t.Fatalf("slowanswer exited before listening: %v", p.err)
	case <-s.ctx.Done():
		s.t.Fatal("slowanswer did not start listening")
	}
	return p
}

// kill kills the process (SIGKILL) and waits for it to end.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// watcher is a process's stdout: it closes seen once marker was written.
type watcher struct {
	syncBuffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (w *watcher) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// stop stops the binary gracefully (SIGINT) and checks it exited cleanly.
func (s *scene) stop(p *proc) {
	s.t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-s.ctx.Done():
		s.t.Fatal("slowanswer did not stop")
	}
	if p.err != nil {
		s.t.Fatalf("slowanswer did not stop cleanly: %v", p.err)
	}
}

// ask sends a question from a new user in their personal chat.
func (s *scene) ask(text string) emulator.MessageResult {
	s.t.Helper()
	tn, err := s.emu.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	if err != nil {
		s.t.Fatal(err)
	}
	u, err := s.emu.AddUser(emulator.UserSpec{TenantID: tn.ID, Name: "Pat Kim"})
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := s.emu.SendMessage(s.ctx, emulator.MessageSpec{From: u.ID, Text: text})
	if err != nil || !res.Delivered {
		s.t.Fatalf("ask: %+v, %v", res, err)
	}
	for _, st := range res.BotStatus {
		if st != http.StatusOK {
			s.t.Fatalf("ask: the bot answered %v", res.BotStatus)
		}
	}
	return res
}

// said returns the bot's messages in a conversation whose text starts
// with prefix.
func (s *scene) said(convID, prefix string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range s.emu.Activities(convID) {
		if a.Direction == emulator.FromBot && strings.HasPrefix(a.Activity.Text, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// await waits until the bot said something starting with prefix.
func (s *scene) await(convID, prefix string) {
	s.t.Helper()
	err := s.emu.Await(s.ctx, func(*emulator.Emulator) bool { return len(s.said(convID, prefix)) > 0 })
	if err != nil {
		s.t.Fatalf("waiting for %q: %v", prefix, err)
	}
}

// checkAnswered checks, after the binary stopped, that the question got
// exactly one correct answer, as a reply in its conversation, and that no
// follow-up is left in the store to post another.
func (s *scene) checkAnswered(res emulator.MessageResult, below int) {
	s.t.Helper()
	answers := s.said(res.ConversationID, "There ")
	if len(answers) != 1 {
		s.t.Fatalf("%d answers, want exactly 1", len(answers))
	}
	if want := answerText(primesBelow(below), below); answers[0].Activity.Text != want {
		s.t.Errorf("answer %q, want %q", answers[0].Activity.Text, want)
	}
	if got := answers[0].Activity.ReplyToID; got != res.ActivityID {
		s.t.Errorf("answer replies to %q, want the question %q", got, res.ActivityID)
	}
	st, err := sqlstore.Open(s.ctx, "sqlite:"+s.store, sqlstore.Options{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	// Every job is done: read through River's own API.
	rc, err := river.NewClient(st.RiverDriver(), &river.Config{})
	if err != nil {
		s.t.Fatal(err)
	}
	open, err := rc.JobList(s.ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStatePending))
	if err != nil {
		s.t.Fatal(err)
	}
	if pending := len(open.Jobs); pending != 0 {
		s.t.Fatalf("%d jobs still pending after the answer", pending)
	}
}

func TestAnswersLater(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	cmd := s.start("2500ms")
	res := s.ask("how many primes below 100,000?")
	s.await(res.ConversationID, "Working on it")
	if got := s.said(res.ConversationID, "There "); len(got) != 0 {
		t.Fatal("answered before the work was done")
	}
	s.await(res.ConversationID, "There ")
	s.stop(cmd)
	s.checkAnswered(res, 100_000)
}

func TestAnswerSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	first := s.start("4s")
	res := s.ask("how many primes below 200,000?")
	s.await(res.ConversationID, "Working on it")
	// The process dies between the acknowledgement and the answer.
	first.kill()
	if got := s.said(res.ConversationID, "There "); len(got) != 0 {
		t.Fatal("answered before the process was killed: the work time is too short for this test")
	}
	second := s.start("4s")
	s.await(res.ConversationID, "There ")
	s.stop(second)
	s.checkAnswered(res, 200_000)
}
