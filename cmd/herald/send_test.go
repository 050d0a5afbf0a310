package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
)

func TestSendCommand(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice, bob, carol := w.user("Alice Cli"), w.user("Bob Cli"), w.user("Carol Cli")

	t.Run("text flag", func(t *testing.T) {
		r := w.run("", nil, "send", "--to", alice.Email, "--text", "Deploy finished").ok(t)
		id := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(id, "n_") || strings.Contains(id, "\n") {
			t.Fatalf("stdout = %q, want the id", r.stdout)
		}
		w.waitFor(id)
		if got := w.texts(alice.conv); len(got) != 1 || got[0] != "Deploy finished" {
			t.Fatalf("alice got %q", got)
		}
	})
	t.Run("stdin, title, wait", func(t *testing.T) {
		r := w.run("All green\n", nil, "send", "--to", bob.UPN, "--title", "Build 42", "--topic", "builds", "--wait").ok(t)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || !strings.HasSuffix(lines[1], "completed: 1 delivered") {
			t.Fatalf("stdout = %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "[####################] 100%  1/1  1 delivered  completed") || strings.Contains(r.stderr, "\r") {
			t.Fatalf("progress on stderr = %q", r.stderr)
		}
		if got := w.texts(bob.conv); len(got) != 1 || got[0] != "**Build 42**\n\nAll green" {
			t.Fatalf("bob got %q", got)
		}
	})
	t.Run("failures are reported, exit 0", func(t *testing.T) {
		if err := w.emu.SetBlocked(carol.ID, true); err != nil {
			t.Fatal(err)
		}
		r := w.run("", nil, "send", "--to", carol.ID, "--to", alice.AADObjectID, "--to", "ghost@nowhere.example",
			"--text", "hi {{givenName}}", "--wait").ok(t)
		for _, want := range []string{"completed: 1 delivered, 1 failed, 1 skipped", "failed", carol.Email, "blocked-by-user"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("nobody reached: the unreached listed, capped, exit 1", func(t *testing.T) {
		args := []string{"send", "--text", "anyone?", "--wait"}
		for i := range 22 {
			args = append(args, "--to", fmt.Sprintf("ghost%02d@nowhere.example", i))
		}
		r := w.run("", nil, args...)
		if r.err == nil || exitCode(r.err) != 1 || !strings.Contains(r.err.Error(), "reached nobody: 22 skipped") || strings.Contains(r.err.Error(), "\n") {
			t.Fatalf("err = %v (exit %d)", r.err, exitCode(r.err))
		}
		for _, want := range []string{"why: skipped: unresolved 22", "skipped  user:ghost00@nowhere.example  unresolved", "ghost19@", "… and 2 more"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "ghost20@") {
			t.Errorf("more than 20 listed:\n%s", r.stdout)
		}
	})
	t.Run("without --wait: the skipped on stderr; nobody reachable exits 1", func(t *testing.T) {
		r := w.run("", nil, "send", "--to", alice.Email, "--to", "ghost@nowhere.example", "--to", "team:Enginering", "--text", "hi").ok(t)
		if id := strings.TrimSpace(r.stdout); !strings.HasPrefix(id, "n_") || strings.Contains(id, "\n") {
			t.Fatalf("stdout = %q, want the id alone", r.stdout)
		}
		for _, want := range []string{": 1 recipient, skipped: unresolved 2", "skipped  user:ghost@nowhere.example  unresolved", "team:Enginering"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		r = w.run("", nil, "send", "--to", "ghost@nowhere.example", "--to", "conversation:19:gone@thread.v2", "--text", "anyone?")
		if r.err == nil || exitCode(r.err) != 1 || !strings.Contains(r.err.Error(), "reaches nobody: 2 skipped — skipped: unresolved 2") || strings.Contains(r.err.Error(), "\n") {
			t.Fatalf("err = %v (exit %d)", r.err, exitCode(r.err))
		}
		if !strings.HasPrefix(r.stdout, "n_") || !strings.Contains(r.stderr, "conversation:19:gone@thread.v2  unresolved") {
			t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
		}
		r = w.run("", nil, "send", "--to", "ghost@nowhere.example", "--text", "anyone?", "--json")
		var n api.Notification
		if r.err == nil || exitCode(r.err) != 1 || jsonUnmarshal(r.stdout, &n) != nil || n.Expansion == nil || len(n.Expansion.Unreached) != 1 {
			t.Fatalf("--json: err %v, stdout %q", r.err, r.stdout)
		}
	})
	t.Run("usage and refusals: exit codes", func(t *testing.T) {
		w.run("", nil, "send", "--to", alice.Email, "--text", "first", "--idempotency-key", "cli-reuse").ok(t)
		tests := []struct {
			name string
			args []string
			want string
			code int
		}{
			{"unknown kind", []string{"send", "--to", "teams:Engineering", "--text", "x"}, `unknown kind "teams"`, 2},
			{"not a conversation id", []string{"send", "--to", "conversation:Ops", "--text", "x"}, "audience.conversations[0]", 2},
			{"user with a bad tenant", []string{"send", "--to", "29:1a@contoso", "--text", "x"}, "audience.users[0]", 2},
			{"key reused", []string{"send", "--to", alice.Email, "--text", "second", "--idempotency-key", "cli-reuse"},
				"HTTP 422 idempotency_mismatch", 1},
		}
		for _, tt := range tests {
			r := w.run("", nil, tt.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) || strings.Contains(r.err.Error(), "\n") || exitCode(r.err) != tt.code {
				t.Errorf("%s: err = %v (exit %d), want one line with %q, exit %d", tt.name, r.err, exitCode(r.err), tt.want, tt.code)
			}
		}
	})
	t.Run("structured with warnings", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "n.json")
		if err := os.WriteFile(file, []byte(`{"title":"Deploy failed","details":"step 3"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		r := w.run("", nil, "send", "--to", alice.Email, "--structured", file, "--topic", "deploys").ok(t)
		if !strings.Contains(r.stderr, "warning: content.structured.actor: say who or what did it") {
			t.Fatalf("stderr = %q", r.stderr)
		}
		r = w.run("", nil, "send", "--to", alice.Email, "--structured", file, "--topic", "deploys", "--strict")
		if r.err == nil || !strings.Contains(r.err.Error(), "HTTP 422 lint") || !strings.Contains(r.err.Error(), "missing: content.structured.subject") {
			t.Fatalf("strict: %v", r.err)
		}
	})
	t.Run("adaptive card from stdin, json", func(t *testing.T) {
		card := `{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"card"}]}`
		r := w.run(card, nil, "send", "--to", alice.Email, "--card", "-", "--json").ok(t)
		var n api.Notification
		if err := jsonUnmarshal(r.stdout, &n); err != nil || len(n.Request.Content.Attachments) != 1 {
			t.Fatalf("json output %q: %v", r.stdout, err)
		}
	})
	t.Run("errors are one line", func(t *testing.T) {
		tests := []struct {
			name    string
			stdin   string
			environ map[string]string
			args    []string
			want    string
		}{
			{"no target", "", nil, []string{"send", "--text", "x"}, "at least one --to"},
			{"two contents", "", nil, []string{"send", "--to", "a", "--text", "x", "--card", "f"}, "one of --text"},
			{"nothing to send", "", nil, []string{"send", "--to", "a"}, "nothing to send"},
			{"bad var", "", nil, []string{"send", "--to", "a", "--text", "x", "--var", "novalue"}, "name=value"},
			{"bad send-at", "", nil, []string{"send", "--to", "a", "--text", "x", "--send-at", "soon"}, "RFC 3339"},
			{"bad target", "", nil, []string{"send", "--to", "channel:/x", "--text", "x"}, "--to"},
			{"stray argument", "", nil, []string{"send", "--to", "a", "hello"}, "unexpected argument"},
			{"missing file", "", nil, []string{"send", "--to", "a", "--structured", "/nonexistent/n.json"}, "no such file"},
			{"no key", "", map[string]string{"HERALD_API_KEY": ""}, []string{"send", "--to", "a", "--text", "x"}, "HERALD_API_KEY"},
			{"wrong key", "", map[string]string{"HERALD_API_KEY": "wrong-key-0123456789abc"}, []string{"send", "--to", "a", "--text", "x"}, "HTTP 401"},
			{"unreachable", "", map[string]string{"HERALD_URL": "http://127.0.0.1:1"}, []string{"send", "--to", "a", "--text", "x"}, "cannot reach herald"},
			{"bad url", "", nil, []string{"send", "--url", "ftp://x", "--to", "a", "--text", "x"}, "--url"},
			{"refused", `{"type":"AdaptiveCard","version":"2.0"}`, nil, []string{"send", "--to", alice.Email, "--card", "-"},
				"HTTP 400 invalid): content.adaptiveCard.version"},
		}
		for _, tt := range tests {
			r := w.run(tt.stdin, tt.environ, tt.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) || strings.Contains(r.err.Error(), "\n") {
				t.Errorf("%s: err = %v, want one line containing %q", tt.name, r.err, tt.want)
			}
		}
	})
}

func TestSendRequest(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	e := &env{getenv: func(string) string { return "" }}
	f := &sendFlags{to: multiFlag{"alice@contoso.com", "team:Eng", "channel:Eng/Ops"}, text: "x *y*", title: "T",
		format: "plain", vars: multiFlag{"build=42", "env=prod=eu"}, sendAt: "90m", priority: "high", critical: true}
	req, err := f.request(e, now)
	if err != nil {
		t.Fatal(err)
	}
	want := api.NotificationRequest{
		Audience: herald.Audience{Users: []string{"alice@contoso.com"}, Teams: []string{"Eng"},
			Channels: []herald.ChannelTarget{{Team: "Eng", Channel: "Ops"}}},
		Content: api.Content{Text: "T\n\nx *y*", TextFormat: "plain"},
		Title:   "T", Critical: true, Priority: herald.PriorityHigh,
		SendAt:    now.Add(90 * time.Minute),
		Variables: map[string]string{"build": "42", "env": "prod=eu"},
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Fatalf("request (-want +got):\n%s", diff)
	}
}

func TestTargetsError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 600)
	tests := []struct {
		name  string
		to    []string
		want  string
		usage bool
	}{
		{"empty", []string{" "}, "send: --to: empty target", true},
		{"commas", []string{"team:a,team:b"}, `send: --to: "team:a,team:b": one target at a time`, true},
		{"no value", []string{"team:"}, `send: --to: entry "team:": want kind:value`, true},
		{"channel without team", []string{"channel:/x"}, `send: --to: entry "channel:/x": channel needs a team`, true},
		{"unknown kind", []string{"teams:Engineering"},
			`send: --to: "teams:Engineering": unknown kind "teams" (want user:, team:, channel:, reply:, tenant:, topic:, conversation:, or a bare user identifier)`, true},
		{"long identifier", []string{"a", long}, "send: --to: audience.users[1]: longer than 512 bytes", true},
		{"two problems, the first", []string{long, long}, "send: --to: audience.users[0]: longer than 512 bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := api.ParseTargets(tt.to...)
			if err == nil {
				t.Fatal("ParseTargets accepted the targets")
			}
			got := targetsError(err)
			var u usageError
			if got.Error() != tt.want || errors.As(got, &u) != tt.usage {
				t.Errorf("targetsError = %q (usage %v), want %q (usage %v)", got, errors.As(got, &u), tt.want, tt.usage)
			}
		})
	}
	t.Run("not a field error", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		if got := targetsError(boom); got.Error() != "send: --to: boom" || !errors.Is(got, boom) {
			t.Errorf("targetsError = %v", got)
		}
	})
}
