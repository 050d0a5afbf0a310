package bot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald"

	"github.com/golang-jwt/jwt/v5"

	"herald/bot"
	"herald/botauth"
	"herald/botframework"
	"herald/engine"
	"herald/sqlstore"
)

// testAppID is the bot's app id in tests that sign their own tokens.
const testAppID = "11111111-2222-3333-4444-555555555555"

// keyServer publishes Bot Framework style OpenID metadata and a JWKS for
// one RSA key, and signs channel tokens with it. failing makes both
// endpoints answer 500.
type keyServer struct {
	key     *rsa.PrivateKey
	kid     string
	srv     *httptest.Server
	failing atomic.Bool
}

func newKeyServer(t testing.TB) *keyServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ks := &keyServer{key: key, kid: "test-key-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		if ks.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": botauth.DefaultIssuer,
			"jwks_uri": ks.srv.URL + "/v1/.well-known/keys", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		if ks.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "kid": ks.kid, "n": b64(key.N.Bytes()),
			"e": b64(big.NewInt(int64(key.E)).Bytes()), "endorsements": []string{"msteams", "webchat"}, // as the Bot Framework's keys are
		}}})
	})
	ks.srv = httptest.NewServer(mux)
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) metadataURL() string { return ks.srv.URL + "/v1/.well-known/openidconfiguration" }

// token signs a channel token for serviceURL, with claims overridden by
// extra.
func (ks *keyServer) token(t testing.TB, serviceURL string, extra jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"iss": botauth.DefaultIssuer, "aud": testAppID, "serviceurl": serviceURL,
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = ks.kid
	s, err := tok.SignedString(ks.key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

// localBot is a bot whose tokens come from a keyServer and whose Connector
// points nowhere it will call (tests using it check the inbound side).
type localBot struct {
	eng   *engine.Engine
	jobs  *recordingQueue
	bot   *bot.Bot
	cfg   bot.Config
	store *sqlstore.Store
	keys  *keyServer
	srv   *httptest.Server
}

func newLocalBot(t testing.TB, configure ...func(*bot.Config)) *localBot {
	t.Helper()
	ks := newKeyServer(t)
	store, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: testAppID, MetadataURL: ks.metadataURL(),
		MinRefetchInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: testAppID, AppSecret: "x", Authority: ks.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens})
	// The bot's jobs wait in an engine's job runner, started by the tests
	// that need them run (startJobRunner).
	eng, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: "28:" + testAppID}, NodeID: "bot-test",
		Retry: engine.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	jobs := &recordingQueue{next: eng}
	cfg := bot.Config{AppID: testAppID, Verifier: verifier, Store: store, Connector: conn, Jobs: jobs}
	for _, f := range configure {
		f(&cfg)
	}
	bot, err := bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bot)
	t.Cleanup(srv.Close)
	return &localBot{bot: bot, eng: eng, jobs: jobs, cfg: cfg, store: store, keys: ks, srv: srv}
}

// recordingQueue is a herald.JobQueue that passes each job on and records
// those added.
type recordingQueue struct {
	next herald.JobQueue
	mu   sync.Mutex
	jobs []herald.Job
}

func (q *recordingQueue) Enqueue(ctx context.Context, j herald.Job) (bool, error) {
	added, err := q.next.Enqueue(ctx, j)
	if added {
		q.mu.Lock()
		q.jobs = append(q.jobs, j)
		q.mu.Unlock()
	}
	return added, err
}

func (q *recordingQueue) EnqueueTx(ctx context.Context, tx *sql.Tx, j herald.Job) (bool, error) {
	added, err := q.next.EnqueueTx(ctx, tx, j)
	if added {
		q.mu.Lock()
		q.jobs = append(q.jobs, j)
		q.mu.Unlock()
	}
	return added, err
}

// count returns how many jobs were recorded so far.
func (q *recordingQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// take returns the jobs recorded so far and forgets them.
func (q *recordingQueue) take() []herald.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out
}

const testServiceURL = "https://smba.trafficmanager.net/teams/"

// messageJSON is a personal message activity from user id.
func messageJSON(id, text string) []byte {
	a := map[string]any{
		"type": "message", "id": "1700000000000", "channelId": "msteams", "serviceUrl": testServiceURL,
		"timestamp": "2026-01-01T00:00:00.000Z",
		"from":      map[string]any{"id": id, "name": "Test User", "aadObjectId": "aad-" + id},
		"recipient": map[string]any{"id": "28:" + testAppID, "name": "Herald"},
		"conversation": map[string]any{"id": "a:conv-" + id, "conversationType": "personal",
			"tenantId": "tenant-1"},
		"channelData": map[string]any{"tenant": map[string]any{"id": "tenant-1"}},
		"entities":    []any{map[string]any{"type": "clientInfo", "locale": "en-GB", "timezone": "Europe/London"}},
		"text":        text,
	}
	b, _ := json.Marshal(a)
	return b
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

// post sends a raw request to the bot endpoint.
func post(t *testing.T, url, auth string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}
