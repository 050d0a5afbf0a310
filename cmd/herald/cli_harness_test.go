package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herald/engine"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/server"
	"herald/sqlstore"
)

// cliKey is the API key of the CLI tests' server.
const cliKey = "cli-test-key-0123456789"

// apiWorld is the real API server (real engine, SQLite store, in-process
// emulator) the CLI tests run commands against.
type apiWorld struct {
	t      *testing.T
	ctx    context.Context
	emu    *emulator.Emulator
	store  *sqlstore.Store
	eng    *engine.Engine
	url    string
	tenant string
}

// cliTopics are the topics of the API world's server.
var cliTopics = []herald.Topic{{Name: "builds"}, {Name: "deploys", Description: "Deploy results"}, {Name: "digest", DefaultOff: true}}

func newAPIWorld(t *testing.T) *apiWorld {
	t.Helper()
	// A guard against hanging only (a loaded machine running -race).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	emu := emulator.New(emulator.Config{})
	emuSrv := httptest.NewServer(emu)
	emu.SetBaseURL(emuSrv.URL)
	t.Cleanup(func() { emuSrv.Close(); emu.Close() })
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emu.AppID(), AppSecret: emu.AppSecret(), Authority: emuSrv.URL, HTTPClient: emuSrv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: emuSrv.Client(), Tokens: tokens, TrustedHosts: []string{emuSrv.Listener.Addr().String()}})
	eng, err := engine.New(engine.Config{Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: emu.BotID()}, DefaultServiceURL: emu.ServiceURL(),
		Retry: engine.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Stop(sctx); err != nil {
			t.Errorf("stop engine: %v", err)
		}
	})
	// The answer to a new notification waits for its expansion at most
	// this long: a guard only, expansion ends long before.
	srv, err := server.New(server.Config{Engine: eng, Store: st, APIKeys: []string{cliKey}, Topics: cliTopics, AcceptWait: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	tn, err := emu.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TenantUpsert(ctx, herald.Tenant{ID: tn.ID, ServiceURL: emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	return &apiWorld{t: t, ctx: ctx, emu: emu, store: st, eng: eng, url: hs.URL, tenant: tn.ID}
}

// cliUser is a user known to the emulator (bot installed) and the
// directory.
type cliUser struct {
	emulator.User
	conv string
}

func (w *apiWorld) user(name string) cliUser {
	w.t.Helper()
	u, err := w.emu.AddUser(emulator.UserSpec{TenantID: w.tenant, Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := w.emu.InstallPersonal(w.ctx, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.store.UserUpsert(w.ctx, herald.UserUpsertParams{ID: u.ID, TenantID: w.tenant, AADObjectID: u.AADObjectID,
		UPN: u.UPN, Email: u.Email, Name: u.Name, GivenName: u.GivenName, ConversationID: d.ConversationID,
		ServiceURL: w.emu.ServiceURL()}); err != nil {
		w.t.Fatal(err)
	}
	return cliUser{User: u, conv: d.ConversationID}
}

func (w *apiWorld) team(name string, members ...cliUser) emulator.Team {
	w.t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	tm, err := w.emu.AddTeam(emulator.TeamSpec{TenantID: w.tenant, Name: name, Members: ids, Channels: []string{"Ops"}})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.emu.InstallTeam(w.ctx, emulator.InstallTeamSpec{TeamID: tm.ID}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.store.TeamUpsert(w.ctx, herald.TeamUpsertParams{ID: tm.ID, TenantID: w.tenant, Name: name,
		AADGroupID: tm.AADGroupID, GeneralChannelID: tm.ID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		w.t.Fatal(err)
	}
	if err := w.store.TeamSetInstalled(w.ctx, tm.ID, true, time.Now()); err != nil {
		w.t.Fatal(err)
	}
	for _, c := range tm.Channels {
		if err := w.store.ChannelUpsert(w.ctx, herald.Channel{ID: c.ID, TeamID: tm.ID, Name: c.Name, Type: "standard"}); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := w.store.MembershipReplace(w.ctx, tm.ID, ids); err != nil {
		w.t.Fatal(err)
	}
	return tm
}

// texts returns the texts the bot sent into a conversation.
func (w *apiWorld) texts(conv string) []string {
	var out []string
	for _, a := range w.emu.Activities(conv) {
		if a.Direction == emulator.FromBot {
			out = append(out, a.Activity.Text)
		}
	}
	return out
}

// cli is the outcome of one command.
type cli struct {
	stdout, stderr string
	err            error
}

// run runs herald with args against the world's server (HERALD_URL and
// HERALD_API_KEY set unless overridden in environ), with stdin.
func (w *apiWorld) run(stdin string, environ map[string]string, args ...string) cli {
	w.t.Helper()
	vars := map[string]string{"HERALD_URL": w.url, "HERALD_API_KEY": cliKey}
	for k, v := range environ {
		vars[k] = v
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	if stdin != "" {
		e.stdin = strings.NewReader(stdin)
	}
	err := run(w.ctx, args, e)
	return cli{stdout: out.String(), stderr: errb.String(), err: err}
}

// ok fails the test if the command failed.
func (c cli) ok(t *testing.T) cli {
	t.Helper()
	if c.err != nil {
		t.Fatalf("command failed: %v\nstdout: %s\nstderr: %s", c.err, c.stdout, c.stderr)
	}
	return c
}

// waitFor waits for notification id to end.
func (w *apiWorld) waitFor(id string) herald.Notification {
	w.t.Helper()
	n, err := w.eng.Wait(w.ctx, strings.TrimSpace(id))
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

var _ http.Handler = (*server.Server)(nil)
