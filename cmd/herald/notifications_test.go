package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/api"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestNotificationsCommands(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice, bob := w.user("Alice Notif"), w.user("Bob Notif")
	if err := w.emu.SetBlocked(bob.ID, true); err != nil {
		t.Fatal(err)
	}
	first := strings.TrimSpace(w.run("", nil, "send", "--to", alice.Email, "--to", bob.Email, "--text", "one", "--title", "First").ok(t).stdout)
	w.waitFor(first)
	later := strings.TrimSpace(w.run("", nil, "send", "--to", alice.Email, "--text", "later", "--send-at", "1h").ok(t).stdout)

	welcome, err := w.eng.Send(w.ctx, herald.NotificationRequest{Audience: herald.Audience{Users: []string{alice.ID}},
		Title: herald.WelcomeTitle, Content: herald.Content{Text: "hi", Summary: herald.WelcomeTitle}, Critical: true, Priority: herald.PriorityHigh})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(welcome.ID)

	t.Run("ls", func(t *testing.T) {
		// Ids sort by creation to the millisecond; within one, at random.
		oldest := []string{first, later, welcome.ID}
		sort.Strings(oldest)
		newest := slices.Clone(oldest)
		slices.Reverse(newest)
		notWelcome := func(id string) bool { return id == welcome.ID }
		tests := []struct {
			name string
			args []string
			want []string // ids in order
		}{
			{"newest first", nil, newest},
			{"oldest first", []string{"--oldest"}, oldest},
			{"no welcomes", []string{"--no-welcomes"}, slices.DeleteFunc(slices.Clone(newest), notWelcome)},
			{"no welcomes, oldest first", []string{"--no-welcomes", "--oldest"}, slices.DeleteFunc(slices.Clone(oldest), notWelcome)},
		}
		for _, tt := range tests {
			r := w.run("", nil, append([]string{"notifications", "ls"}, tt.args...)...).ok(t)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != len(tt.want)+1 || !strings.HasPrefix(lines[0], "ID") {
				t.Fatalf("%s:\n%s", tt.name, r.stdout)
			}
			for i, id := range tt.want {
				if !strings.HasPrefix(lines[i+1], id) {
					t.Errorf("%s: line %d is %q, want %s", tt.name, i+1, lines[i+1], id)
				}
			}
		}
		r := w.run("", nil, "notifications", "ls", "--oldest", "--no-welcomes").ok(t)
		if lines := strings.Split(r.stdout, "\n"); !strings.Contains(lines[1], "First") || !strings.Contains(lines[2], "scheduled") {
			t.Fatalf("ls:\n%s", r.stdout)
		}
		r = w.run("", nil, "notifications", "ls", "--limit", "1").ok(t)
		if strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 || !strings.Contains(r.stderr, "--cursor "+newest[0]) {
			t.Fatalf("ls --limit 1: %q / %q", r.stdout, r.stderr)
		}
		var l api.NotificationList
		r = w.run("", nil, "notifications", "ls", "--limit", "1", "--all", "--json", "--state", "completed,scheduled").ok(t)
		if err := jsonUnmarshal(r.stdout, &l); err != nil || len(l.Notifications) != 3 || l.Next != "" {
			t.Fatalf("ls --all --json: %v %s", err, r.stdout)
		}
		if r := w.run("", nil, "notifications", "ls", "--state", "lost"); r.err == nil || !strings.Contains(r.err.Error(), "field state") && !strings.Contains(r.err.Error(), "state:") {
			t.Fatalf("bad state: %v", r.err)
		}
	})
	t.Run("show", func(t *testing.T) {
		r := w.run("", nil, "notifications", "show", first).ok(t)
		for _, want := range []string{"state", "completed", "1 delivered, 1 failed", "First", "user:" + alice.Email, "why", "failed: blocked-by-user 1"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("show lacks %q:\n%s", want, r.stdout)
			}
		}
		var n api.Notification
		if err := jsonUnmarshal(w.run("", nil, "notifications", "show", first, "--json").ok(t).stdout, &n); err != nil || n.ID != first || n.Counts.Failed != 1 {
			t.Fatalf("show --json: %+v %v", n, err)
		}
		r = w.run("", nil, "notifications", "show", "--wait", first).ok(t)
		if !strings.Contains(r.stdout, "completed: 1 delivered, 1 failed") || !strings.Contains(r.stdout, "blocked-by-user") {
			t.Fatalf("show --wait: %s", r.stdout)
		}
		if r := w.run("", nil, "notifications", "show", "n_missing"); r.err == nil || !strings.Contains(r.err.Error(), "HTTP 404") {
			t.Fatalf("missing: %v", r.err)
		}
		if r := w.run("", nil, "notifications", "show"); r.err == nil || !strings.Contains(r.err.Error(), "exactly one") {
			t.Fatalf("no id: %v", r.err)
		}
	})
	t.Run("export", func(t *testing.T) {
		r := w.run("", nil, "notifications", "export", first).ok(t)
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil || len(rows) != 3 || rows[0][0] != "id" {
			t.Fatalf("export: %v %q", err, rows)
		}
		out := filepath.Join(t.TempDir(), "failed.csv")
		w.run("", nil, "notifications", "export", first, "--state", "failed", "--out", out).ok(t)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		rows, err = csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][3] != "failed" || rows[1][4] != "blocked-by-user" {
			t.Fatalf("export --state failed: %v %q", err, rows)
		}
		missing := filepath.Join(t.TempDir(), "none.csv")
		if r := w.run("", nil, "notifications", "export", "n_missing", "--out", missing); r.err == nil {
			t.Fatal("export of a missing notification succeeded")
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("a failed export left %s behind", missing)
		}
	})
	t.Run("retry", func(t *testing.T) {
		if err := w.emu.SetBlocked(bob.ID, false); err != nil {
			t.Fatal(err)
		}
		r := w.run("", nil, "notifications", "retry", first, "--wait").ok(t)
		if !strings.Contains(r.stdout, first+": 1 deliveries reopened") || !strings.Contains(r.stdout, "completed:") {
			t.Fatalf("retry: %s", r.stdout)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		r := w.run("", nil, "notifications", "cancel", later).ok(t)
		if !strings.Contains(r.stdout, later+" cancelled") {
			t.Fatalf("cancel: %s", r.stdout)
		}
		r = w.run("", nil, "notifications", "show", later, "--wait")
		if r.err == nil || !strings.Contains(r.err.Error(), "was cancelled") {
			t.Fatalf("wait on a cancelled notification: %v", r.err)
		}
	})
	t.Run("group usage", func(t *testing.T) {
		if r := w.run("", nil, "notifications"); r.err == nil || !strings.Contains(r.stderr, "Commands:") {
			t.Fatalf("no command: %v %q", r.err, r.stderr)
		}
		if r := w.run("", nil, "notifications", "rm", "x"); r.err == nil || !strings.Contains(r.err.Error(), "unknown command") {
			t.Fatalf("unknown: %v", r.err)
		}
	})
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		n    api.Notification
		want string
	}{
		{"scheduled", api.Notification{Notification: herald.Notification{State: herald.NotificationScheduled,
			Request: herald.NotificationRequest{SendAt: at}}}, "scheduled for " + at.Local().Format(time.RFC3339)},
		{"expanding", api.Notification{Notification: herald.Notification{State: herald.NotificationExpanding}}, "preparing the audience…"},
		{"sending", api.Notification{Notification: herald.Notification{State: herald.NotificationSending, Expanded: true,
			Counts: herald.Counts{Delivered: 3, Failed: 1, Pending: 6}}, Progress: api.Progress{Total: 10, Done: 0.4, RemainingSeconds: 12.4}},
			"[########------------]  40%  4/10  3 delivered, 1 failed, 6 pending  ETA 12s"},
		{"growing", api.Notification{Notification: herald.Notification{State: herald.NotificationSending,
			Counts: herald.Counts{Delivered: 1, Pending: 1}}, Progress: api.Progress{Total: 2, Done: 0.5}},
			"[##########----------]  50%  1/2  1 delivered, 1 pending  (audience still growing)"},
		{"completed", api.Notification{Notification: herald.Notification{State: herald.NotificationCompleted, Expanded: true,
			Counts: herald.Counts{Delivered: 2}}, Progress: api.Progress{Total: 2, Done: 1}},
			"[####################] 100%  2/2  2 delivered  completed"},
		{"completed empty", api.Notification{Notification: herald.Notification{State: herald.NotificationCompleted, Expanded: true},
			Progress: api.Progress{Done: 1}}, "[####################] 100%  0/0  no deliveries yet  completed"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.n); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestProgressWriter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tty  bool
		want string
	}{
		{true, "\ra\x1b[K\ra\x1b[K\rb\x1b[K\n"},
		{false, "a\nb\n"},
	} {
		var buf strings.Builder
		p := &progress{w: &buf, tty: tt.tty}
		p.draw("a")
		p.draw("a")
		p.draw("b")
		p.end()
		p.end()
		if buf.String() != tt.want {
			t.Errorf("tty=%v: %q, want %q", tt.tty, buf.String(), tt.want)
		}
	}
	if isTerminal(&strings.Builder{}) {
		t.Error("a strings.Builder is a terminal")
	}
}
