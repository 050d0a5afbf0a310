package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/sqlstore"
)

// buildHerald builds the herald binary into dir.
func buildHerald(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "herald")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// heraldProc is a running `herald serve`.
type heraldProc struct {
	cmd  *exec.Cmd
	base string
	done chan error
}

// startServe starts `herald serve` and waits for it to listen.
func startServe(t *testing.T, bin string, stderr io.Writer, args ...string) *heraldProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--api-key", killTestKey}, args...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &heraldProc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "herald serving on ") {
				lines <- sc.Text()
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		p.base = strings.Fields(strings.TrimPrefix(line, "herald serving on "))[0]
	case err := <-p.done:
		t.Fatalf("herald serve exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("herald serve did not start listening")
	}
	return p
}

func (p *heraldProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *heraldProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("herald serve exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("herald serve did not stop on SIGTERM")
	}
}

// killTestKey is the API key of the herald under test.
const killTestKey = "kill-test-api-key-0123456789"

func apiRequest(method, url string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+killTestKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return http.DefaultClient.Do(req)
}

func postJSON(base, path string, body, out any) error {
	resp, err := apiRequest(http.MethodPost, base+path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, msg)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func getNotification(base, id string) (herald.Notification, error) {
	var n herald.Notification
	resp, err := apiRequest(http.MethodGet, base+"/v1/notifications/"+id, nil)
	if err != nil {
		return n, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET notification: %s", resp.Status)
	}
	return n, json.NewDecoder(resp.Body).Decode(&n)
}

// TestServeSurvivesKill9 runs the herald binary against the emulator, kills
// it with SIGKILL at random moments during a 5,000-recipient notification
// and restarts it each time. In the end every delivery is final, nobody
// got a message twice, and only deliveries marked uncertain may have been
// lost (at most the in-flight window per kill).
func TestServeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the herald binary")
	}
	t.Parallel()
	const recipients, concurrency, kills = 5000, 16, 6
	dir := t.TempDir()
	bin := buildHerald(t, dir)

	emu := emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	emu.SetBaseURL(srv.URL)
	if err := emu.SetFaults(emulator.Faults{LatencyMs: 2}); err != nil {
		t.Fatal(err)
	}
	seed, err := emu.SeedUsers(recipients)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(dir, "herald.db")
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TenantUpsert(ctx, herald.Tenant{ID: seed.TenantID, ServiceURL: emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	userIDs := make([]string, recipients)
	for i := range recipients {
		u, err := emu.User(fmt.Sprintf("user%d@fabrikam.com", i+1))
		if err != nil {
			t.Fatal(err)
		}
		userIDs[i] = u.ID
		if _, err := st.UserUpsert(ctx, herald.UserUpsertParams{ID: u.ID, TenantID: seed.TenantID, Name: u.Name, Email: u.Email}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	var logs bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("herald logs:\n%s", tail(logs.String(), 4000))
		}
	})
	args := []string{"--store", dsn, "--emulator", srv.URL, "--app-id", emulator.DefaultAppID,
		"--app-secret", emulator.DefaultAppSecret, "--pacing", "off", "--node", "kill-test",
		"--concurrency", fmt.Sprint(concurrency), "--log-level", "warn"}
	req := herald.NotificationRequest{
		IdempotencyKey: "kill-test", Audience: herald.Audience{Tenants: []string{seed.TenantID}},
		Content: herald.Content{Text: "Hello {{givenName}}"},
	}
	var id string
	killed := 0
	for killed < kills {
		p := startServe(t, bin, &logs, args...)
		if id == "" {
			var n herald.Notification
			if err := postJSON(p.base, "/v1/notifications", req, &n); err != nil {
				p.kill(t)
				t.Fatal(err)
			}
			id = n.ID
		}
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond) // a random moment of the run
		n, err := getNotification(p.base, id)
		if err != nil {
			p.kill(t)
			t.Fatal(err)
		}
		if n.State.Final() {
			p.stop(t)
			break
		}
		p.kill(t)
		killed++
		t.Logf("kill %d: %d of %d final", killed, n.Counts.Total()-n.Counts.Open(), recipients)
	}
	if killed == 0 {
		t.Fatal("the notification finished before any kill: the test proves nothing")
	}
	p := startServe(t, bin, &logs, args...)
	deadline := time.Now().Add(3 * time.Minute)
	var n herald.Notification
	for {
		if n, err = getNotification(p.base, id); err != nil {
			t.Fatal(err)
		}
		if n.State.Final() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished after the last restart: %+v", n.Counts)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process
	}
	p.stop(t)

	c := n.Counts
	t.Logf("after %d kills: %+v", killed, c)
	if c.Open() != 0 || c.Delivered+c.Uncertain != recipients || c.Total() != recipients {
		t.Fatalf("counts = %+v, want every one of %d delivered or uncertain", c, recipients)
	}
	if max := killed * 4 * concurrency; c.Uncertain > max {
		t.Fatalf("%d uncertain deliveries after %d kills, more than the in-flight bound %d", c.Uncertain, killed, max)
	}
	st, err = sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state := map[string]herald.DeliveryState{}
	var after int64
	for {
		ds, err := st.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: id, Page: herald.Page{After: after, Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			state[d.UserID] = d.State
		}
		if len(ds) < 1000 {
			break
		}
		after = ds[len(ds)-1].ID
	}
	for _, uid := range userIDs {
		got := 0
		if conv, ok := emu.PersonalConversation(uid); ok {
			for _, a := range emu.Activities(conv) {
				if a.Direction == emulator.FromBot {
					got++
				}
			}
		}
		switch s := state[uid]; {
		case got > 1:
			t.Errorf("user %s got %d messages (delivery %s)", uid, got, s)
		case s == herald.DeliveryDelivered && got != 1:
			t.Errorf("user %s: delivered, but got %d messages", uid, got)
		case s != herald.DeliveryDelivered && s != herald.DeliveryUncertain:
			t.Errorf("user %s: delivery %q", uid, s)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestMigrateCommand runs `herald migrate` twice on a fresh store.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		out, err := runCmd(t, "migrate", "--store", dsn)
		if err != nil || !strings.Contains(out, "migrated sqlite store") {
			t.Fatalf("migrate: %v %q", err, out)
		}
	}
}
