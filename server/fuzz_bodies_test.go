package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"herald"
	"herald/api"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore"
)

// The fuzz targets of this file post arbitrary bodies to every route of
// the API that takes one, through the whole server (key check, body cap,
// decoding, validation, the engine and a real SQLite store): no input
// makes it panic or fail (5xx); a refusal is a 4xx error body naming
// what is wrong, and leaves nothing behind.

// fuzzAPI is the API on a real engine, SQLite store and in-process
// emulator, built once per fuzzing process: a tenant with Alice (the bot
// installed), the topics deploys, builds and security (critical), and a
// notification to Alice that has ended.
type fuzzAPI struct {
	srv   *Server
	store *sqlstore.Store
	alice string
	done  string
}

func newFuzzAPI(tb testing.TB) *fuzzAPI {
	tb.Helper()
	ctx := context.Background()
	emu := emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	emuSrv := httptest.NewServer(emu)
	emu.SetBaseURL(emuSrv.URL)
	tb.Cleanup(func() { emuSrv.Close(); emu.Close() })
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emu.AppID(), AppSecret: emu.AppSecret(), Authority: emuSrv.URL, HTTPClient: emuSrv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: emuSrv.Client(), Tokens: tokens, TrustedHosts: []string{emuSrv.Listener.Addr().String()}})
	topics := []herald.Topic{{Name: "deploys"}, {Name: "builds", DefaultOff: true}, {Name: "security", Critical: true}}
	eng, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: emu.BotID()}, DefaultServiceURL: emu.ServiceURL(), Topics: topics,
		Retry: engine.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = eng.Stop(sctx)
	})
	srv, err := New(Config{Engine: eng, Store: store, APIKeys: []string{testKey}, Topics: topics, AcceptWait: -1})
	if err != nil {
		tb.Fatal(err)
	}
	a := &fuzzAPI{srv: srv, store: store}
	a.alice = fuzzUser(tb, emu, store, "Alice")
	n, err := eng.Send(ctx, herald.NotificationRequest{Audience: herald.Audience{Users: []string{a.alice}}, Content: herald.Content{Text: "hi"}})
	if err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a guard only
	defer cancel()
	if _, err := eng.Wait(wctx, n.ID); err != nil {
		tb.Fatal(err)
	}
	a.done = n.ID
	return a
}

// fuzzUser adds a user with the bot installed to a new tenant of the
// emulator and to the directory, and returns the user's id.
func fuzzUser(tb testing.TB, emu *emulator.Emulator, store *sqlstore.Store, name string) string {
	tb.Helper()
	ctx := context.Background()
	tn, err := emu.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.TenantUpsert(ctx, herald.Tenant{ID: tn.ID, ServiceURL: emu.ServiceURL()}); err != nil {
		tb.Fatal(err)
	}
	u, err := emu.AddUser(emulator.UserSpec{TenantID: tn.ID, Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := emu.InstallPersonal(ctx, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := store.UserUpsert(ctx, herald.UserUpsertParams{ID: u.ID, TenantID: tn.ID, AADObjectID: u.AADObjectID, UPN: u.UPN,
		Email: u.Email, Name: u.Name, ConversationID: d.ConversationID, ServiceURL: emu.ServiceURL()}); err != nil {
		tb.Fatal(err)
	}
	if err := store.UserSetInstalled(ctx, u.ID, true, time.Now()); err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

// serve runs one request through the server; path is already escaped.
func (a *fuzzAPI) serve(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	u, err := url.Parse(path)
	if err != nil {
		u = &url.URL{Path: "/v1/unparsable"}
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	return rec
}

// notifications counts the stored notifications.
func (a *fuzzAPI) notifications(t *testing.T) int {
	t.Helper()
	var n int
	if err := a.store.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM notifications`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refused checks an answer: one of the statuses ok, a redirect of the
// router (a path it cleans), or a 4xx error body with a code and a
// message. It reports whether the request was refused.
func refused(t *testing.T, rec *httptest.ResponseRecorder, ok ...int) bool {
	t.Helper()
	for _, s := range ok {
		if rec.Code == s {
			return false
		}
	}
	if rec.Code/100 == 3 && rec.Header().Get("Location") != "" {
		return true
	}
	var body api.ErrorBody
	if rec.Code/100 != 4 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == nil ||
		body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("answer %d %s: want %v or a 4xx error body", rec.Code, rec.Body.String(), ok)
	}
	return true
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// FuzzNotificationsEndpoint posts arbitrary bodies to POST
// /v1/notifications: 202 (a new notification, or the one an idempotency
// key named before) or a refusal that stores nothing. The seeds name
// nobody the directory knows, so that accepted inputs stay cheap (no
// message is sent); FuzzDecodeNotification covers the decoding in depth.
func FuzzNotificationsEndpoint(f *testing.F) {
	a := newFuzzAPI(f)
	for _, s := range []string{
		`{"audience":{"users":["nobody@contoso.com"]},"content":{"text":"hi {{givenName}}"}}`,
		`{"audience":{"topics":["deploys"]},"content":{"text":"x"},"topic":"deploys","idempotencyKey":"k1"}`,
		`{"audience":{"users":["alice@contoso.com"]},"content":{"structured":{"title":"t","facts":[{"name":"a","value":"b"}]}},"critical":true}`,
		`{"audience":{"teams":["Eng"]},"content":{"text":"x"},"sendAt":"2030-01-01T00:00:00Z"}`,
		`{"audience":{"users":["a"]},"content":{"text":"x"},"topic":"nope"}`,
		`{"audience":{},"content":{}}`, `[]`, `null`, ``, `{"audience":{"users":["a"]},"content":{"text":"x"},"Audience":1}`,
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(`{"audience":{"users":["a"]},"content":{"text":"x"},"idempotencyKey":"k2"}`), "k3")
	f.Fuzz(func(t *testing.T, body []byte, idem string) {
		before := a.notifications(t)
		h := jsonHeader()
		if idem != "" {
			h.Set("Idempotency-Key", idem)
		}
		rec := a.serve(http.MethodPost, "/v1/notifications", body, h)
		after := a.notifications(t)
		switch {
		case refused(t, rec, http.StatusAccepted):
			if after != before {
				t.Fatalf("refused (%d %s), yet %d notifications were stored", rec.Code, rec.Body.String(), after-before)
			}
		case after-before > 1:
			t.Fatalf("one request stored %d notifications", after-before)
		}
	})
}

// FuzzSendText posts arbitrary targets, bodies and options to POST
// /v1/send/{target}: 202 with exactly one notification stored, or a
// refusal that stores nothing.
func FuzzSendText(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add("nobody@contoso.com", "Deploy finished", "", "", "", "", "", "")
	f.Add("alice@contoso.com", "**hi**", "Title", "deploys", "k1", "high", "yes", "markdown")
	f.Add("team:Eng/General", "x", "", "security", "", "auto", "no", "plain")
	f.Add("topic:deploys", "x", "", "nope", "", "urgent", "maybe", "html")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("tenant:x,user:y", "\xff", "\x00", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, target, body, title, topic, key, priority, alert, format string) {
		before := a.notifications(t)
		h := http.Header{}
		for k, v := range map[string]string{"X-Title": title, "X-Topic": topic, "X-Key": key, "X-Priority": priority, "X-Alert": alert, "X-Format": format} {
			if v != "" {
				h.Set(k, v)
			}
		}
		rec := a.serve(http.MethodPost, "/v1/send/"+url.PathEscape(target), []byte(body), h)
		after := a.notifications(t)
		if refused(t, rec, http.StatusAccepted) != (after == before) || after-before > 1 {
			t.Fatalf("answer %d %s, and %d notifications stored", rec.Code, rec.Body.String(), after-before)
		}
	})
}

// FuzzRetryBody posts arbitrary bodies to POST /v1/notifications/{id}/retry
// of a notification whose every delivery was delivered: 200 reopening
// nothing, or a refusal that changes nothing.
func FuzzRetryBody(f *testing.F) {
	a := newFuzzAPI(f)
	for _, s := range []string{``, `{}`, `{"uncertain":true}`, `{"uncertain":"yes"}`, `{"Uncertain":true}`, `{"uncertain":true,"uncertain":false}`, `[]`, `null`, ` `} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{"uncertain":true}`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		rec := a.serve(http.MethodPost, "/v1/notifications/"+a.done+"/retry", body, h)
		if refused(t, rec, http.StatusOK) {
			return
		}
		var res api.RetryResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Reopened != 0 {
			t.Fatalf("retry of a delivered notification: %s (%v)", rec.Body.String(), err)
		}
	})
}

// FuzzPreferencesBody sends arbitrary bodies to PATCH
// /v1/users/{user}/preferences: 200, or a refusal that leaves every
// preference as it was (no change of a list is made unless all are).
func FuzzPreferencesBody(f *testing.F) {
	a := newFuzzAPI(f)
	for _, s := range []string{
		`{"preferences":[{"topic":"deploys","optedOut":true}]}`,
		`{"preferences":[{"topic":"builds","optedOut":false},{"topic":"*","optedOut":true}]}`,
		`{"preferences":[{"topic":"deploys","optedOut":true},{"topic":"","optedOut":true}]}`,
		`{"preferences":[]}`, `{"preferences":null}`, `{"preferences":[{"topic":1}]}`, `{"Preferences":[]}`,
		`{"preferences":[{"topic":"deploys","optedOut":true,"extra":1}]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		before, err := a.store.PreferenceList(ctx, a.alice)
		if err != nil {
			t.Fatal(err)
		}
		rec := a.serve(http.MethodPatch, "/v1/users/"+url.PathEscape(a.alice)+"/preferences", body, jsonHeader())
		if !refused(t, rec, http.StatusOK) {
			return
		}
		after, err := a.store.PreferenceList(ctx, a.alice)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("refused (%d %s), yet preferences changed: %+v → %+v", rec.Code, rec.Body.String(), before, after)
		}
	})
}
