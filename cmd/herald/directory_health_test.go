package main

import (
	"strings"
	"testing"
	"time"

	"herald"
	"herald/api"
)

func TestDirectoryHealthCommand(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice, bob, carol := w.user("Alice Health"), w.user("Bob Health"), w.user("Carol Health")
	w.team("Platform", alice, bob)
	if _, err := w.store.UserUpsert(w.ctx, herald.UserUpsertParams{ID: "29:ghost", TenantID: w.tenant, Name: "Ghost"}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		w.store.UserSetBlocked(w.ctx, bob.ID, true),
		w.store.UserSetInstalled(w.ctx, carol.ID, false, time.Now()),
		w.store.UserSetInstalled(w.ctx, "29:ghost", false, time.Now()),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	r := w.run("", nil, "directory", "health").ok(t)
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[0], "SCOPE") || !strings.Contains(lines[0], "STALE (30d)") {
		t.Fatalf("header:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); len(f) != 9 || f[0] != "all" || strings.Join(f[3:], " ") != "4 1 1 2 0 1" {
		t.Fatalf("totals row %q:\n%s", lines[1], r.stdout)
	}
	for _, want := range []string{"team ", "Platform", "BLOCKED (", bob.ID, "UNINSTALLED (", carol.ID, "NO EMAIL", "29:ghost", "never"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "STALE (neither") {
		t.Errorf("an empty class is printed:\n%s", r.stdout)
	}

	r = w.run("", nil, "directory", "health", "--problem", "uninstalled", "--limit", "1", "--team", "Platform", "--stale-days", "7").ok(t)
	if strings.Contains(r.stdout, "UNINSTALLED (") || !strings.Contains(r.stdout, "STALE (7d)") {
		t.Errorf("team report lists uninstalled users:\n%s", r.stdout)
	}
	r = w.run("", nil, "directory", "health", "--problem", "uninstalled", "--limit", "1").ok(t)
	if !strings.Contains(r.stderr, "more uninstalled: --problem uninstalled --cursor ") {
		t.Errorf("paging hint: %q", r.stderr)
	}
	var h api.DirectoryHealth
	r = w.run("", nil, "directory", "health", "--json", "--tenant", w.tenant).ok(t)
	if err := jsonUnmarshal(r.stdout, &h); err != nil || h.Totals.Users != 4 || len(h.Lists["blocked"].Users) != 1 {
		t.Fatalf("--json: %v %s", err, r.stdout)
	}

	tests := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"--stale-days", "0"}, "--stale-days must be from 1 to 3650", 2},
		{[]string{"--stale-days", "x"}, "invalid value", 2},
		{[]string{"--limit", "5000"}, "--limit must be from 1 to 1000", 2},
		{[]string{"--problem", "lost"}, `--problem "lost"`, 2},
		{[]string{"--cursor", "29:a"}, "name it with --problem", 2},
		{[]string{"extra"}, "unexpected argument", 2},
		{[]string{"--team", "Nope"}, "HTTP 404", 1},
	}
	for _, tt := range tests {
		r := w.run("", nil, append([]string{"directory", "health"}, tt.args...)...)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.want) || exitCode(r.err) != tt.code || strings.Contains(r.err.Error(), "\n") {
			t.Errorf("%v: err = %v (exit %d), want %q (exit %d)", tt.args, r.err, exitCode(r.err), tt.want, tt.code)
		}
	}
}
