package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald/engine"

	"herald"
	"herald/api"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/sqlstore"
	"herald/sqlstore/sqlstoretest"
)

// testKey is the bundle's API key.
const testKey = "test-key-0123456789abcdef"

// bundle is the server wired to a real engine on a real SQLite store and
// the in-process emulator, served over loopback HTTP.
type bundle struct {
	t       *testing.T
	ctx     context.Context
	emu     *emulator.Emulator
	store   *sqlstore.Store
	eng     *engine.Engine
	srv     *Server
	http    *httptest.Server
	metrics *Metrics
	started atomic.Bool
	tenant  string
}

type bundleOpts struct {
	maxBody int64
	topics  []herald.Topic
	// acceptWait is Config.AcceptWait (zero: its default).
	acceptWait time.Duration
	// db is sqlstoretest.SQLite (the default) or sqlstoretest.Postgres.
	db string
}

func newBundle(t *testing.T, opts ...bundleOpts) *bundle {
	t.Helper()
	var o bundleOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	// A guard against hanging only: under -race on a loaded machine the
	// package's parallel tests wait their turn for a long while.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	emu := emulator.New(emulator.Config{})
	emuSrv := httptest.NewServer(emu)
	emu.SetBaseURL(emuSrv.URL)
	t.Cleanup(func() { emuSrv.Close(); emu.Close() })
	t.Cleanup(func() {
		if err := emu.Err(); err != nil {
			t.Errorf("emulator saw unexpected requests: %v", err)
		}
	})
	store := sqlstoretest.Open(t, cmp.Or(o.db, sqlstoretest.SQLite))
	m := NewMetrics()
	hc := &http.Client{Transport: m.Transport(emuSrv.Client().Transport)}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emu.AppID(), AppSecret: emu.AppSecret(), Authority: emuSrv.URL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: []string{emuSrv.Listener.Addr().String()}})
	eng, err := engine.New(engine.Config{
		Store: store, Queue: store.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: emu.BotID(), Name: "Herald"},
		DefaultServiceURL: emu.ServiceURL(),
		Retry:             engine.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
		Topics:            o.topics,
	})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	b := &bundle{t: t, ctx: ctx, emu: emu, store: store, eng: eng, metrics: m}
	if err := eng.Start(ctx); err != nil {
		t.Fatalf("start engine: %v", err)
	}
	b.started.Store(true)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Stop(sctx); err != nil {
			t.Errorf("stop engine: %v", err)
		}
	})
	b.srv, err = New(Config{Engine: eng, Store: store, APIKeys: []string{testKey, "second-key-0123456789"},
		Started: b.started.Load, Metrics: m, MaxBodyBytes: o.maxBody, Topics: o.topics, AcceptWait: o.acceptWait})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	b.http = httptest.NewServer(b.srv)
	t.Cleanup(b.http.Close)
	tn, err := emu.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	b.tenant = tn.ID
	if err := store.TenantUpsert(ctx, herald.Tenant{ID: tn.ID, ServiceURL: emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	return b
}

// person is a user known to the emulator (bot installed) and the
// directory.
type person struct {
	emulator.User
	conv string
}

// user creates a person named name.
func (b *bundle) user(name string) person {
	b.t.Helper()
	u, err := b.emu.AddUser(emulator.UserSpec{TenantID: b.tenant, Name: name})
	if err != nil {
		b.t.Fatal(err)
	}
	return b.record(u)
}

// record installs the bot for an emulator user and records the user in
// the directory.
func (b *bundle) record(u emulator.User) person {
	b.t.Helper()
	d, err := b.emu.InstallPersonal(b.ctx, u.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.store.UserUpsert(b.ctx, herald.UserUpsertParams{ID: u.ID, TenantID: u.TenantID, AADObjectID: u.AADObjectID,
		UPN: u.UPN, Email: u.Email, Name: u.Name, GivenName: u.GivenName, Surname: u.Surname,
		ConversationID: d.ConversationID, ServiceURL: b.emu.ServiceURL()}); err != nil {
		b.t.Fatal(err)
	}
	if err := b.store.UserSetInstalled(b.ctx, u.ID, true, time.Now()); err != nil {
		b.t.Fatal(err)
	}
	return person{User: u, conv: d.ConversationID}
}

// team creates a team with the bot installed, recorded in the directory
// with its channels and members.
func (b *bundle) team(name string, members []person, channels ...string) emulator.Team {
	b.t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	tm, err := b.emu.AddTeam(emulator.TeamSpec{TenantID: b.tenant, Name: name, Members: ids, Channels: channels})
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.emu.InstallTeam(b.ctx, emulator.InstallTeamSpec{TeamID: tm.ID}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.store.TeamUpsert(b.ctx, herald.TeamUpsertParams{ID: tm.ID, TenantID: b.tenant, AADGroupID: tm.AADGroupID,
		Name: name, GeneralChannelID: tm.GeneralChannelID, ServiceURL: b.emu.ServiceURL()}); err != nil {
		b.t.Fatal(err)
	}
	if err := b.store.TeamSetInstalled(b.ctx, tm.ID, true, time.Now()); err != nil {
		b.t.Fatal(err)
	}
	for _, c := range tm.Channels {
		if err := b.store.ChannelUpsert(b.ctx, herald.Channel{ID: c.ID, TeamID: tm.ID, Name: c.Name, Type: "standard"}); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := b.store.MembershipReplace(b.ctx, tm.ID, ids); err != nil {
		b.t.Fatal(err)
	}
	if err := b.store.ConversationUpsert(b.ctx, herald.Conversation{ID: tm.ID, Type: "channel", TenantID: b.tenant,
		ServiceURL: b.emu.ServiceURL(), TeamID: tm.ID, ChannelID: tm.ID, BotID: b.emu.BotID()}); err != nil {
		b.t.Fatal(err)
	}
	return tm
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's JSON into v, failing the test otherwise.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErr decodes an error answer.
func (r reply) apiErr(t *testing.T) *api.Error {
	t.Helper()
	var e api.ErrorBody
	r.decode(t, &e)
	if e.Error == nil {
		t.Fatalf("answer %d has no error: %s", r.status, r.body)
	}
	return e.Error
}

// req describes a request to the server.
type req struct {
	method, path string
	body         string
	header       map[string]string
	noAuth       bool
}

// do sends r with the API key (unless noAuth).
func (b *bundle) do(r req) reply {
	b.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(b.ctx, r.method, b.http.URL+r.path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if !r.noAuth {
		hr.Header.Set("Authorization", "Bearer "+testKey)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := b.http.Client().Do(hr)
	if err != nil {
		b.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read: %v", r.method, r.path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// get is a GET with the key.
func (b *bundle) get(path string) reply { return b.do(req{method: http.MethodGet, path: path}) }

// post is a POST of JSON with the key.
func (b *bundle) post(path, body string) reply {
	return b.do(req{method: http.MethodPost, path: path, body: body, header: map[string]string{"Content-Type": "application/json"}})
}

// mustStatus fails unless the answer has status want.
func (r reply) mustStatus(t *testing.T, want int) reply {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// sendJSON posts a notification and returns the accepted notification.
func (b *bundle) sendJSON(body string) api.Notification {
	b.t.Helper()
	var n api.Notification
	b.post("/v1/notifications", body).mustStatus(b.t, http.StatusAccepted).decode(b.t, &n)
	return n
}

// wait waits for a notification to end.
func (b *bundle) wait(id string) herald.Notification {
	b.t.Helper()
	n, err := b.eng.Wait(b.ctx, id)
	if err != nil {
		b.t.Fatalf("wait %s: %v", id, err)
	}
	return n
}

// fromBot returns the messages the bot sent into a conversation.
func (b *bundle) fromBot(conv string) []botframework.Activity {
	var out []botframework.Activity
	for _, a := range b.emu.Activities(conv) {
		if a.Direction == emulator.FromBot {
			out = append(out, a.Activity)
		}
	}
	return out
}

// notifications lists every stored notification.
func (b *bundle) notifications() []herald.Notification {
	b.t.Helper()
	ns, err := b.store.NotificationList(b.ctx, herald.NotificationListParams{Limit: 1000})
	if err != nil {
		b.t.Fatal(err)
	}
	return ns
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(buf.String())
}

// users is the JSON audience of the given people.
func users(ps ...person) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = jsonString(p.Email)
	}
	return fmt.Sprintf(`{"users":[%s]}`, strings.Join(ids, ","))
}
