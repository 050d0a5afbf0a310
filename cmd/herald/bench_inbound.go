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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"herald/bot"
	"herald/engine"

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

// inboundBenchResult is what `herald bench inbound --json` prints: the
// throughput part's figures at the top level (as before there were
// parts), the installs part under "installs".
type inboundBenchResult struct {
	*inboundResult
	Installs *installsResult `json:"installs,omitempty"`
}

// inboundFlags are the flags of `herald bench inbound`.
type inboundFlags struct {
	duration    time.Duration
	concurrency int
	users       int
	dsn         string
	asJSON      bool
	parts       map[string]bool
	installs    installFlags
}

const inboundUsage = `Usage: herald bench inbound [flags]

Measures Herald's bot endpoint:
  throughput  posts signed personal messages to the bot endpoint over
              loopback HTTP and reports verified activities per second
              (token check, decode, directory write) with p50/p99 latency;
  installs    a burst of --installs personal installs from the emulator
              into a running Herald (fresh SQLite store, pacing and Teams'
              limits off): time until every install is accepted, until
              every welcome is delivered, welcomes per second and CPU per
              welcome. Each user must get exactly one welcome.

Flags:`

func parseInboundFlags(args []string, e *env) (inboundFlags, error) {
	var f inboundFlags
	fs := flag.NewFlagSet("bench inbound", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "how long to send activities (throughput)")
	fs.IntVar(&f.concurrency, "concurrency", 32, "requests in flight (throughput), installs in flight (installs)")
	fs.IntVar(&f.users, "users", 1000, "distinct senders, directory rows written (throughput)")
	fs.StringVar(&f.dsn, "dsn", "", "store DSN of the throughput part (default: a fresh SQLite file in a temporary directory)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	parts := fs.String("parts", "throughput,installs", "parts to run: throughput, installs")
	fs.IntVar(&f.installs.n, "installs", 10_000, "personal installs, one user each (installs)")
	fs.DurationVar(&f.installs.timeout, "installs-timeout", 10*time.Minute, "how long the installs part may take to see every welcome")
	fs.DurationVar(&f.installs.settle, "installs-settle", time.Second, "how long to watch for late duplicate welcomes after the last one")
	fs.StringVar(&f.installs.cpuProfile, "installs-cpuprofile", "", "write a CPU profile of the install burst to this file")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, inboundUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.concurrency < 1 || f.users < 1 || f.duration <= 0 || f.installs.n < 1 || f.installs.timeout <= 0 || f.installs.settle < 0 {
		return f, usageError{"--concurrency, --users, --duration, --installs and --installs-timeout must be positive"}
	}
	f.installs.concurrency = f.concurrency
	f.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "throughput", "installs":
			f.parts[p] = true
		default:
			return f, usageError{fmt.Sprintf("bench inbound: unknown part %q (throughput, installs)", p)}
		}
	}
	return f, nil
}

func runBenchInbound(ctx context.Context, args []string, e *env) error {
	f, err := parseInboundFlags(args, e)
	if err != nil {
		return err
	}
	var res inboundBenchResult
	if f.parts["throughput"] {
		r, err := benchInbound(ctx, f.dsn, f.duration, f.concurrency, f.users)
		if err != nil {
			return err
		}
		res.inboundResult = &r
	}
	if f.parts["installs"] {
		if res.Installs, err = benchInstalls(ctx, f.installs, e.stderr); err != nil {
			return fmt.Errorf("bench inbound installs: %w", err)
		}
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	if r := res.inboundResult; r != nil {
		fmt.Fprintf(e.stdout, "inbound: %.0f activities/s, p50 %.2f ms, p99 %.2f ms on %d cores (%d requests, %d errors, %s, %d in flight)\n",
			r.ActivitiesPerS, r.P50Ms, r.P99Ms, r.Cores, r.Requests, r.Errors, r.Store, r.Concurrency)
	}
	if res.Installs != nil {
		res.Installs.print(e.stdout)
	}
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

	botSrv, err := serveBenchBot(store, keysSrv.url)
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

	lat, errCount, elapsed := hammerBot(ctx, client, botSrv.url, auth, bodies, concurrency, duration)
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
		Errors:         errCount,
		DurationS:      elapsed.Seconds(),
		Concurrency:    concurrency,
		Users:          users,
		Store:          store.Dialect(),
	}, nil
}

// serveBenchBot serves a bot on store whose tokens verify against the
// keys served at keysURL.
func serveBenchBot(store *sqlstore.Store, keysURL string) (*loopback, error) {
	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: benchAppID,
		MetadataURL: keysURL + "/v1/.well-known/openidconfiguration"})
	if err != nil {
		return nil, err
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: benchAppID, AppSecret: "unused", Authority: keysURL})
	if err != nil {
		return nil, err
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens})
	// The bot queues its background jobs (member fetches) in the engine's
	// job runner, which is not started: the bench times the inbound path.
	jobs, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: botframework.BotID(benchAppID)}})
	if err != nil {
		return nil, err
	}
	b, err := bot.New(bot.Config{AppID: benchAppID, Verifier: verifier, Store: store, Connector: conn, Jobs: jobs})
	if err != nil {
		return nil, err
	}
	// A Go bot's own message handler, so no built-in command answers.
	b.OnMessage(func(context.Context, *bot.Turn) error { return nil })
	return serveLoopback(b)
}

// hammerBot posts the bodies round-robin, concurrency at a time, for
// duration, and returns the latencies of the successful posts (one slice
// per worker), the failures and the time taken.
func hammerBot(ctx context.Context, client *http.Client, url, auth string, bodies [][]byte, concurrency int, duration time.Duration) ([][]time.Duration, int64, time.Duration) {
	var next atomic.Int64
	var errCount atomic.Int64
	lat := make([][]time.Duration, concurrency)
	stop := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for time.Now().Before(stop) && ctx.Err() == nil {
				body := bodies[int(next.Add(1))%len(bodies)]
				t0 := time.Now()
				if err := postActivity(ctx, client, url, auth, body); err != nil {
					errCount.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	return lat, errCount.Load(), time.Since(start)
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
	key *rsa.PrivateKey
	kid string
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
	srv := newHTTPServer(h, defaultTimeouts())
	go func() { _ = srv.Serve(ln) }()
	return &loopback{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (l *loopback) close() { _ = l.srv.Close() }
