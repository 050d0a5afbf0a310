package main

import (
	"strings"
	"testing"

	"herald/api"
)

func TestDirectoryCommands(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice, bob := w.user("Alice Directory"), w.user("Bob Directory")
	w.team("Platform", alice)

	r := w.run("", nil, "directory", "users").ok(t)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("users:\n%s", r.stdout)
	}
	r = w.run("", nil, "directory", "users", "--q", "bob").ok(t)
	if !strings.Contains(r.stdout, bob.Email) || strings.Contains(r.stdout, alice.Email) {
		t.Fatalf("users --q bob:\n%s", r.stdout)
	}
	r = w.run("", nil, "directory", "users", "--team", "Platform", "--tenant", w.tenant).ok(t)
	if !strings.Contains(r.stdout, alice.Email) || strings.Contains(r.stdout, bob.Email) {
		t.Fatalf("users --team:\n%s", r.stdout)
	}
	var l api.UserList
	r = w.run("", nil, "directory", "users", "--limit", "1", "--all", "--json").ok(t)
	if err := jsonUnmarshal(r.stdout, &l); err != nil || len(l.Users) != 2 {
		t.Fatalf("users --all --json: %v %s", err, r.stdout)
	}
	r = w.run("", nil, "directory", "users", "--limit", "1").ok(t)
	if !strings.Contains(r.stderr, "more: --cursor") {
		t.Fatalf("paging hint: %q", r.stderr)
	}
	r = w.run("", nil, "directory", "teams").ok(t)
	if !strings.Contains(r.stdout, "Platform") || !strings.Contains(r.stdout, "yes") {
		t.Fatalf("teams:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"directory", "channels", "--team", "Platform"}, {"directory", "channels", "platform"}} {
		r = w.run("", nil, args...).ok(t)
		if !strings.Contains(r.stdout, "General") || !strings.Contains(r.stdout, "Ops") {
			t.Fatalf("%v:\n%s", args, r.stdout)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"directory", "channels"}, "--team is required"},
		{[]string{"directory", "channels", "--team", "Nope"}, "HTTP 404"},
		{[]string{"directory", "users", "--team", "Nope"}, "HTTP 404"},
		{[]string{"directory", "users", "extra"}, "unexpected argument"},
		{[]string{"directory", "users", "--limit", "5000"}, "HTTP 400"},
		{[]string{"directory", "groups"}, "unknown command"},
	} {
		if r := w.run("", nil, tt.args...); r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, r.err, tt.want)
		}
	}
}
