package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"herald/bot"

	"github.com/golang-jwt/jwt/v5"

	"herald/botauth"
	"herald/botframework"
	"herald/sqlstore"
)

// inboundResult is what `herald bench inbound --json` prints.
type inboundResult struct {
	ActivitiesPerS float64 `json:"activities_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	Cores          int     `json:"cores"`
	Requests       int     `json:"requests"`
	Errors         int64   `json:"errors"`
	DurationS      float64 `json:"duration_s"`
	Concurrency    int     `json:"concurrency"`
	Users          int     `json:"users"`
	Store          string  `json:"store"`
}

// benchAppID is the app id of the benchmark's bot.
const benchAppID = "0be0c4f1-7b5a-4c39-9d2e-3d5b2b1e0001"

// benchServiceURL is the serviceUrl of the benchmark's activities; nothing
// is ever sent there.
const benchServiceURL = "https://smba.trafficmanager.net/teams/"

func runBenchInbound(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("bench inbound", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	duration := fs.Duration("duration", 5*time.Second, "how long to send activities")
	concurrency := fs.Int("concurrency", 32, "requests in flight")
	users := fs.Int("users", 1000, "distinct senders (directory rows written)")
	dsn := fs.String("dsn", "", "store DSN (default: a fresh SQLite file in a temporary directory)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: herald bench inbound [flags]\n\nPosts signed personal messages to Herald's bot endpoint over loopback HTTP\nand reports verified activities per second (token check, decode, directory\nwrite) with p50/p99 latency.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *concurrency < 1 || *users < 1 || *duration <= 0 {
		return usageError{"--concurrency, --users and --duration must be positive"}
	}
	res, err := benchInbound(ctx, *dsn, *duration, *concurrency, *users)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "inbound: %.0f activities/s, p50 %.2f ms, p99 %.2f ms on %d cores (%d requests, %d errors, %s, %d in flight)\n",
		res.ActivitiesPerS, res.P50Ms, res.P99Ms, res.Cores, res.Requests, res.Errors, res.Store, res.Concurrency)
	return nil
}

func benchInbound(ctx context.Context, dsn string, duration time.Duration, concurrency, users int) (inboundResult, error) {
	keys, err := newBenchKeys()
	if err != nil {
		return inboundResult{}, err
	}
	keysSrv, err := serveLoopback(keys)
	if err != nil {
		return inboundResult{}, err
	}
	defer keysSrv.close()

	if dsn == "" {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return inboundResult{}, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		dsn = "sqlite:" + filepath.Join(dir, "herald.db")
	}
	store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return inboundResult{}, err
	}
	defer store.Close()

	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: benchAppID,
		MetadataURL: keysSrv.url + "/v1/.well-known/openidconfiguration"})
	if err != nil {
		return inboundResult{}, err
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: benchAppID, AppSecret: "unused", Authority: keysSrv.url})
	if err != nil {
		return inboundResult{}, err
	}
	b, err := bot.New(bot.Config{AppID: benchAppID, Verifier: verifier, Store: store,
		Connector: botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens})})
	if err != nil {
		return inboundResult{}, err
	}
	// A Go bot's own message handler, so no built-in command answers.
	b.OnMessage(func(context.Context, *bot.Turn) error { return nil })
	botSrv, err := serveLoopback(b)
	if err != nil {
		return inboundResult{}, err
	}
	defer botSrv.close()

	auth, err := keys.sign(benchServiceURL)
	if err != nil {
		return inboundResult{}, err
	}
	bodies := make([][]byte, users)
	for i := range bodies {
		bodies[i] = benchActivity(i)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	// Warm up: fetch the signing keys and create every user once.
	for _, body := range bodies {
		if err := postActivity(ctx, client, botSrv.url, auth, body); err != nil {
			return inboundResult{}, fmt.Errorf("bench warm-up: %w", err)
		}
	}

	var next atomic.Int64
	var errCount atomic.Int64
	lat := make([][]time.Duration, concurrency)
	stop := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for time.Now().Before(stop) && ctx.Err() == nil {
				body := bodies[int(next.Add(1))%users]
				t0 := time.Now()
				if err := postActivity(ctx, client, botSrv.url, auth, body); err != nil {
					errCount.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return inboundResult{}, errors.New("bench: no request succeeded")
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return inboundResult{
		ActivitiesPerS: float64(len(all)) / elapsed.Seconds(),
		P50Ms:          ms(all[len(all)/2]),
		P99Ms:          ms(all[len(all)*99/100]),
		Cores:          runtime.GOMAXPROCS(0),
		Requests:       len(all),
		Errors:         errCount.Load(),
		DurationS:      elapsed.Seconds(),
		Concurrency:    concurrency,
		Users:          users,
		Store:          store.Dialect(),
	}, nil
}

func postActivity(ctx context.Context, client *http.Client, url, auth string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bot answered %d", resp.StatusCode)
	}
	return nil
}

// benchActivity is a personal message from the i-th user, shaped like
// Teams' (clientInfo entity, tenant in channelData).
func benchActivity(i int) []byte {
	id := fmt.Sprintf("29:1bench-user-%06d", i)
	a := map[string]any{
		"type": "message", "id": fmt.Sprintf("17000000%05d", i), "channelId": "msteams",
		"serviceUrl": benchServiceURL, "timestamp": "2026-01-01T00:00:00.000Z", "locale": "en-US",
		"from":      map[string]any{"id": id, "name": fmt.Sprintf("Bench User %d", i), "aadObjectId": fmt.Sprintf("00000000-0000-0000-0000-%012d", i)},
		"recipient": map[string]any{"id": botframework.BotID(benchAppID), "name": "Herald"},
		"conversation": map[string]any{"id": fmt.Sprintf("a:1bench-conv-%06d", i), "conversationType": "personal",
			"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		"channelData": map[string]any{"tenant": map[string]any{"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		"entities": []any{map[string]any{"type": "clientInfo", "locale": "en-US", "country": "US",
			"platform": "Web", "timezone": "America/Los_Angeles"}},
		"text":       "status please",
		"textFormat": "plain",
	}
	b, _ := json.Marshal(a)
	return b
}

// benchKeys is the benchmark's stand-in for the Bot Framework's token
// signing: one RSA key, published as OpenID metadata and a JWKS.
type benchKeys struct {
	key  *rsa.PrivateKey
	kid  string
	base string
}

func newBenchKeys() (*benchKeys, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("bench key: %w", err)
	}
	return &benchKeys{key: key, kid: "bench-key"}, nil
}

// ServeHTTP serves the metadata document and the JWKS.
func (k *benchKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/.well-known/openidconfiguration":
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": botauth.DefaultIssuer,
			"jwks_uri": "http://" + r.Host + "/v1/.well-known/keys", "id_token_signing_alg_values_supported": []string{"RS256"}})
	case "/v1/.well-known/keys":
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{"kty": "RSA", "use": "sig", "kid": k.kid,
			"n": b64(k.key.N.Bytes()), "e": b64(big.NewInt(int64(k.key.E)).Bytes()), "endorsements": []string{"msteams"}}}})
	default:
		http.NotFound(w, r)
	}
}

// sign returns an Authorization header value for activities carrying
// serviceURL, valid for an hour.
func (k *benchKeys) sign(serviceURL string) (string, error) {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": botauth.DefaultIssuer, "aud": benchAppID,
		"serviceurl": serviceURL, "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return "Bearer " + s, nil
}

// loopback is an HTTP server on 127.0.0.1.
type loopback struct {
	url string
	srv *http.Server
}

func serveLoopback(h http.Handler) (*loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &loopback{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (l *loopback) close() { _ = l.srv.Close() }
