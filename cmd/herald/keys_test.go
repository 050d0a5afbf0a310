package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/api"
)

// TestKeysCommands makes, uses, lists and revokes a key with `herald
// keys`, against the store of a running API server.
func TestKeysCommands(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice := w.user("Alice Keys")
	store := map[string]string{"HERALD_STORE": w.dsn}
	made := w.run("", store, "keys", "create", "--name", "deploy bot", "--scope", "send,read", "--topics", "deploys").ok(t)
	secret := strings.TrimSpace(made.stdout)
	id, ok := herald.APIKeyID(secret)
	if !ok || !strings.Contains(made.stderr, id) || !strings.Contains(made.stderr, "shown only now") {
		t.Fatalf("create printed %q, %q", made.stdout, made.stderr)
	}
	as := map[string]string{"HERALD_API_KEY": secret}
	// The key sends on its topic, and the notification says who sent it.
	sent := w.run("", as, "send", "--to", alice.Email, "--topic", "deploys", "--text", "v2 is out").ok(t)
	nid := strings.TrimSpace(sent.stdout)
	show := w.run("", as, "notifications", "show", nid).ok(t)
	if !strings.Contains(show.stdout, "created by") || !strings.Contains(show.stdout, id+" (deploy bot)") {
		t.Errorf("show lacks the creator:\n%s", show.stdout)
	}
	// Beyond its grants: another topic, and critical, are 403s.
	for _, args := range [][]string{
		{"send", "--to", alice.Email, "--topic", "builds", "--text", "x"},
		{"send", "--to", alice.Email, "--topic", "deploys", "--text", "x", "--critical"},
	} {
		r := w.run("", as, args...)
		var ae *api.Error
		if errors.As(r.err, &ae) && ae.Code != api.CodeForbidden || r.err == nil || !strings.Contains(r.err.Error(), "forbidden") {
			t.Errorf("%v: err %v, want a 403", args, r.err)
		}
	}
	ls := w.run("", store, "keys", "ls").ok(t)
	if !strings.Contains(ls.stdout, id) || !strings.Contains(ls.stdout, "send,read; topics deploys") || strings.Contains(ls.stdout, secret) {
		t.Errorf("ls:\n%s", ls.stdout)
	}
	var l api.KeyList
	if err := json.Unmarshal([]byte(w.run("", store, "keys", "ls", "--json").ok(t).stdout), &l); err != nil ||
		len(l.Keys) != 1 || l.Keys[0].ID != id || l.Keys[0].LastUsedAt.IsZero() {
		t.Errorf("ls --json: %+v, %v", l, err)
	}
	if r := w.run("", store, "keys", "revoke", id).ok(t); !strings.Contains(r.stdout, "revoked "+id) {
		t.Errorf("revoke printed %q", r.stdout)
	}
	if r := w.run("", as, "notifications", "show", nid); r.err == nil || !strings.Contains(r.err.Error(), "unauthorized") {
		t.Errorf("revoked key: err %v, want 401", r.err)
	}
}

// TestKeysCommandErrors checks the mistakes `herald keys` refuses, before
// touching the store where it can.
func TestKeysCommandErrors(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	store := map[string]string{"HERALD_STORE": w.dsn}
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no name", []string{"keys", "create", "--scope", "read"}, true, "--name"},
		{"no scope", []string{"keys", "create", "--name", "x"}, true, "--scope"},
		{"unknown scope", []string{"keys", "create", "--name", "x", "--scope", "write"}, true, `"write" is not send, read or admin`},
		{"critical on read", []string{"keys", "create", "--name", "x", "--scope", "read", "--critical"}, true, "need the send scope"},
		{"bad audience", []string{"keys", "create", "--name", "x", "--scope", "send", "--audience", "Engineering"}, true, "--audience[0]"},
		{"password on the command line", []string{"keys", "ls", "--store", "postgres://u:secret@127.0.0.1/h"}, true, "HERALD_STORE"},
		{"revoke without id", []string{"keys", "revoke"}, true, "key id"},
		{"revoke unknown", []string{"keys", "revoke", "k_nothere"}, false, `no key "k_nothere"`},
		{"unknown subcommand", []string{"keys", "rotate"}, true, "unknown command"},
	}
	for _, tt := range tests {
		r := w.run("", store, tt.args...)
		var u usageError
		if r.err == nil || errors.As(r.err, &u) != tt.usage || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%s: err %v (usage error: %v), want one with %q", tt.name, r.err, errors.As(r.err, &u), tt.want)
		}
		if strings.Contains(r.stdout+r.stderr, "secret") {
			t.Errorf("%s: printed the password: %s %s", tt.name, r.stdout, r.stderr)
		}
	}
	if ks, err := w.store.APIKeyList(w.ctx); err != nil || len(ks) != 0 {
		t.Errorf("refused commands made keys: %v, %v", ks, err)
	}
}

// TestStoreHasKeys checks when `herald serve` may run on the store's
// keys alone: only with a key that is not revoked.
func TestStoreHasKeys(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"no keys", func() error { return nil }, false},
		{"one key", func() error {
			k, _, err := herald.NewAPIKey(herald.APIKey{ID: "", Name: "a", Scopes: []herald.Scope{herald.ScopeRead}}, time.Now())
			if err == nil {
				err = w.store.APIKeyCreate(w.ctx, k)
			}
			return err
		}, true},
		{"that key revoked", func() error {
			ks, err := w.store.APIKeyList(w.ctx)
			if err == nil {
				_, err = w.store.APIKeyRevoke(w.ctx, ks[0].ID, time.Now())
			}
			return err
		}, false},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		if got := storeHasKeys(w.ctx, w.store); got != s.want {
			t.Errorf("%s: storeHasKeys = %v, want %v", s.name, got, s.want)
		}
	}
}
