package emulator_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"herald/botframework"
	"herald/emulator"
)

// fakeClock is an injected clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testBot is a bot endpoint that verifies the channel's tokens the way the
// Bot Framework SDKs do (metadata → JWKS → RS256 signature, issuer,
// audience, dates, serviceurl claim, endorsements) and records what it
// accepted. It knows nothing of the emulator's internals.
type testBot struct {
	appID       string
	metadataURL string
	now         func() time.Time

	mu       sync.Mutex
	got      []botframework.Activity
	headers  []http.Header
	rejected []error
	changed  chan struct{}
	// onActivity, when set, runs before the bot answers an accepted
	// activity (a bot that replies during the turn).
	onActivity func(a botframework.Activity)
}

func (b *testBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var a botframework.Activity
	err := json.Unmarshal(body, &a)
	if err == nil {
		err = b.verify(r, &a)
	}
	b.mu.Lock()
	if err != nil {
		b.rejected = append(b.rejected, err)
	} else {
		b.got = append(b.got, a)
		b.headers = append(b.headers, r.Header.Clone())
	}
	close(b.changed)
	b.changed = make(chan struct{})
	hook := b.onActivity
	b.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if hook != nil {
		hook(a)
	}
	w.WriteHeader(http.StatusOK)
}

type testJWK struct {
	Kid          string   `json:"kid"`
	Kty          string   `json:"kty"`
	N            string   `json:"n"`
	E            string   `json:"e"`
	X5t          string   `json:"x5t"`
	Endorsements []string `json:"endorsements"`
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (b *testBot) verify(r *http.Request, a *botframework.Activity) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(b.metadataURL, &meta); err != nil {
		return err
	}
	var set struct {
		Keys []testJWK `json:"keys"`
	}
	if err := getJSON(meta.JWKSURI, &set); err != nil {
		return err
	}
	var used testJWK
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range set.Keys {
			if k.Kid == kid {
				used = k
				n, _ := base64.RawURLEncoding.DecodeString(k.N)
				e, _ := base64.RawURLEncoding.DecodeString(k.E)
				return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
			}
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}, jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}), jwt.WithIssuer(meta.Issuer),
		jwt.WithAudience(b.appID), jwt.WithTimeFunc(b.now), jwt.WithLeeway(5*time.Minute), jwt.WithExpirationRequired())
	if err != nil {
		return err
	}
	if su, _ := claims["serviceurl"].(string); su != a.ServiceURL {
		return fmt.Errorf("serviceurl claim %q != activity serviceUrl %q", su, a.ServiceURL)
	}
	if len(used.Endorsements) > 0 && !slices.Contains(used.Endorsements, a.ChannelID) {
		return fmt.Errorf("key does not endorse %q", a.ChannelID)
	}
	return nil
}

// await waits until the bot accepted at least n activities.
func (b *testBot) await(t *testing.T, n int) []botframework.Activity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only against hanging
	defer cancel()
	for {
		b.mu.Lock()
		got, ch := slices.Clone(b.got), b.changed
		rejected := slices.Clone(b.rejected)
		b.mu.Unlock()
		if len(rejected) > 0 {
			t.Fatalf("bot rejected activities: %v", rejected)
		}
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("bot got %d activities, want %d", len(got), n)
		}
	}
}

// bundle is one emulator behind an httptest server, with a verifying bot.
type bundle struct {
	em       *emulator.Emulator
	srv      *httptest.Server
	bot      *testBot
	clock    *fakeClock
	allowErr bool // the test sends malformed requests on purpose
	tok      string
}

// setup starts an emulator and a bot; cfg edits the configuration.
func setup(t *testing.T, cfg ...func(*emulator.Config)) *bundle {
	t.Helper()
	clock := newFakeClock()
	bot := &testBot{appID: emulator.DefaultAppID, now: clock.Now, changed: make(chan struct{})}
	botSrv := httptest.NewServer(bot)
	c := emulator.Config{BotURL: botSrv.URL + "/api/messages", Now: clock.Now}
	for _, f := range cfg {
		f(&c)
	}
	em := emulator.New(c)
	srv := httptest.NewServer(em)
	em.SetBaseURL(srv.URL)
	bot.metadataURL = em.MetadataURL()
	b := &bundle{em: em, srv: srv, bot: bot, clock: clock}
	t.Cleanup(func() {
		em.Close()
		srv.Close()
		botSrv.Close()
		if err := em.Err(); err != nil && !b.allowErr {
			t.Errorf("emulator saw unexpected requests: %v", err)
		}
	})
	return b
}

// token gets a Connector token from the emulator's token endpoint.
func (b *bundle) token(t *testing.T) string {
	t.Helper()
	if b.tok != "" {
		return b.tok
	}
	resp, err := http.PostForm(b.em.TokenURL("botframework.com"), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {emulator.DefaultAppID},
		"client_secret": {emulator.DefaultAppSecret}, "scope": {"https://api.botframework.com/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token: status %d, err %v", resp.StatusCode, err)
	}
	b.tok = tr.AccessToken
	return b.tok
}

// reply is a Connector answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns error.code of a Teams error body.
func (r reply) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// call sends a Connector request with the bot's token; path is relative to
// the serviceUrl and already escaped.
func (b *bundle) call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return b.callWith(t, "Bearer "+b.token(t), method, path, body)
}

func (b *bundle) callWith(t *testing.T, auth, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		j, _ := json.Marshal(v)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.em.ServiceURL()+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// esc escapes a conversation id as botbuilder does (every reserved
// character).
func esc(id string) string { return url.QueryEscape(id) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute) // only against hanging
	t.Cleanup(cancel)
	return c
}

// demo seeds the demo organisation and returns it.
func (b *bundle) demo(t *testing.T) emulator.DemoSeed {
	t.Helper()
	d := b.em.SeedDemo()
	if len(d.Users) != 50 || len(d.Teams) != 3 {
		t.Fatalf("demo seed: %d users, %d teams", len(d.Users), len(d.Teams))
	}
	return d
}

// personal installs the bot for user and returns the personal chat id.
func (b *bundle) personal(t *testing.T, userID string) string {
	t.Helper()
	d, err := b.em.InstallPersonal(ctx(t), userID)
	if err != nil {
		t.Fatal(err)
	}
	return d.ConversationID
}

func message(text string) map[string]any { return map[string]any{"type": "message", "text": text} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
