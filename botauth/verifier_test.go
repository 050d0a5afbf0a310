package botauth_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"herald/botauth"
	"herald/botframework"
)

// newVerifier returns a verifier against ks with clock now.
func newVerifier(t testing.TB, ks *keyServer, now func() time.Time) *botauth.Verifier {
	t.Helper()
	v, err := botauth.NewVerifier(botauth.VerifierConfig{
		AppID:       testAppID,
		MetadataURL: ks.metadataURL(),
		HTTPClient:  ks.srv.Client(),
		Now:         now,
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func teamsActivity() *botframework.Activity {
	return &botframework.Activity{
		Type:       "message",
		ChannelID:  botframework.ChannelTeams,
		ServiceURL: testServiceURL,
	}
}

func bearerOf(token string) string { return "Bearer " + token }

// TestVerify is the done-when table: each case is accepted or refused with
// its own sentinel.
func TestVerify(t *testing.T) {
	t.Parallel()
	teams := newTestKey(t, 0, "msteams", "emulator")
	open := newTestKey(t, 1) // published without endorsements
	other := newTestKey(t, 2, "msteams")
	ks := newKeyServer(t, teams, open)

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := goodClaims(t0)
		change(c)
		return c
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustMarshalPKIX(t, teams)})

	tests := []struct {
		name      string
		auth      string
		channelID string // default msteams
		service   string // activity serviceUrl; default testServiceURL
		want      error  // nil: accepted
	}{
		{name: "valid", auth: bearerOf(teams.sign(t, teams.kid, goodClaims(t0)))},
		{name: "lowercase scheme", auth: "bearer " + teams.sign(t, teams.kid, goodClaims(t0))},
		{name: "no header", auth: "", want: botauth.ErrNoToken},
		{name: "bearer without token", auth: "Bearer ", want: botauth.ErrNoToken},
		{name: "not bearer", auth: "Basic dXNlcjpwYXNz", want: botauth.ErrNotBearer},
		{name: "token without scheme", auth: teams.sign(t, teams.kid, goodClaims(t0)), want: botauth.ErrNotBearer},
		{name: "malformed two segments", auth: "Bearer abc.def", want: botauth.ErrMalformed},
		{name: "malformed base64", auth: "Bearer !!!.???.***", want: botauth.ErrMalformed},
		{name: "malformed json", auth: "Bearer " + b64("{not json") + "." + b64("{}") + ".", want: botauth.ErrMalformed},
		{
			name: "alg none",
			auth: bearerOf(signWith(t, jwt.SigningMethodNone, teams.kid, goodClaims(t0), jwt.UnsafeAllowNoneSignatureType)),
			want: botauth.ErrAlgorithm,
		},
		{
			name: "HS256 with the public key as secret",
			auth: bearerOf(signWith(t, jwt.SigningMethodHS256, teams.kid, goodClaims(t0), publicPEM)),
			want: botauth.ErrAlgorithm,
		},
		{
			name: "RS384",
			auth: bearerOf(signWith(t, jwt.SigningMethodRS384, teams.kid, goodClaims(t0), teams.priv)),
			want: botauth.ErrAlgorithm,
		},
		{
			name: "unregistered alg",
			auth: "Bearer " + b64(`{"alg":"XX999","kid":"`+teams.kid+`"}`) + "." + b64(`{}`) + ".",
			want: botauth.ErrAlgorithm,
		},
		{name: "unknown kid", auth: bearerOf(other.sign(t, other.kid, goodClaims(t0))), want: botauth.ErrUnknownKey},
		{name: "no kid", auth: bearerOf(teams.sign(t, "", goodClaims(t0))), want: botauth.ErrUnknownKey},
		{name: "wrong signature under known kid", auth: bearerOf(other.sign(t, teams.kid, goodClaims(t0))), want: botauth.ErrSignature},
		{
			name: "expired beyond skew",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-10 * time.Minute).Unix() }))),
			want: botauth.ErrExpired,
		},
		{
			name: "expired within skew",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-2 * time.Minute).Unix() }))),
		},
		{
			name: "no exp",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { delete(c, "exp") }))),
			want: botauth.ErrMalformed,
		},
		{
			name: "exp not a number",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))),
			want: botauth.ErrMalformed,
		},
		{
			name: "not yet valid beyond skew",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(10 * time.Minute).Unix() }))),
			want: botauth.ErrNotYetValid,
		},
		{
			name: "not yet valid within skew",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(2 * time.Minute).Unix() }))),
		},
		{
			name: "wrong issuer",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/" }))),
			want: botauth.ErrIssuer,
		},
		{
			name: "no issuer",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { delete(c, "iss") }))),
			want: botauth.ErrIssuer,
		},
		{
			name: "wrong audience",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["aud"] = "https://api.botframework.com" }))),
			want: botauth.ErrAudience,
		},
		{
			name: "audience list containing the app id",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAppID} }))),
		},
		{
			name: "missing serviceurl",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { delete(c, "serviceurl") }))),
			want: botauth.ErrNoServiceURL,
		},
		{
			name: "serviceurl with different case claim name",
			auth: bearerOf(teams.sign(t, teams.kid, with(func(c jwt.MapClaims) { c["serviceUrl"] = c["serviceurl"]; delete(c, "serviceurl") }))),
			want: botauth.ErrNoServiceURL,
		},
		{
			name:    "serviceurl mismatch",
			auth:    bearerOf(teams.sign(t, teams.kid, goodClaims(t0))),
			service: "https://evil.example/amer/",
			want:    botauth.ErrServiceURLMismatch,
		},
		{
			name:    "serviceurl differs by trailing slash",
			auth:    bearerOf(teams.sign(t, teams.kid, goodClaims(t0))),
			service: strings.TrimSuffix(testServiceURL, "/"),
			want:    botauth.ErrServiceURLMismatch,
		},
		{
			name:      "endorsement missing for channel",
			auth:      bearerOf(teams.sign(t, teams.kid, goodClaims(t0))),
			channelID: "webchat",
			want:      botauth.ErrEndorsement,
		},
		{
			name:      "key without endorsements accepts any channel",
			auth:      bearerOf(open.sign(t, open.kid, goodClaims(t0))),
			channelID: "webchat",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, ks, func() time.Time { return t0 })
			act := teamsActivity()
			if tt.channelID != "" {
				act.ChannelID = tt.channelID
			}
			if tt.service != "" {
				act.ServiceURL = tt.service
			}
			id, err := v.Verify(context.Background(), tt.auth, act)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want accepted", err)
				}
				if id.AppID != testAppID || id.Issuer != testIssuer || id.ServiceURL != testServiceURL || id.KeyID == "" {
					t.Errorf("identity = %+v", id)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if !botauth.IsTokenError(err) {
				t.Errorf("IsTokenError(%v) = false, want true", err)
			}
			if errors.Is(err, botauth.ErrMetadata) {
				t.Errorf("token error %v also matches ErrMetadata", err)
			}
			if id != nil {
				t.Errorf("identity %+v returned with error", id)
			}
		})
	}
}

func mustMarshalPKIX(t testing.TB, k *testKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return der
}

// b64 is JWT segment encoding.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestVerifyIdentity checks every field of the returned identity.
func TestVerifyIdentity(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	ks := newKeyServer(t, key)
	v := newVerifier(t, ks, func() time.Time { return t0 })
	claims := goodClaims(t0)
	claims["appid"] = "channel-app"
	id, err := v.Verify(context.Background(), bearerOf(key.sign(t, key.kid, claims)), teamsActivity())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := &botauth.Identity{
		AppID:      testAppID,
		Issuer:     testIssuer,
		ServiceURL: testServiceURL,
		KeyID:      key.kid,
		Claims: map[string]any{
			"iss":        testIssuer,
			"aud":        testAppID,
			"serviceurl": testServiceURL,
			"appid":      "channel-app",
			"nbf":        float64(t0.Add(-time.Minute).Unix()),
			"exp":        float64(t0.Add(time.Hour).Unix()),
			"iat":        float64(t0.Add(-time.Minute).Unix()),
		},
		Expires: t0.Add(time.Hour),
	}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if got := ks.metadataCalls.Load(); got != 1 {
		t.Errorf("metadata fetched %d times, want 1", got)
	}
}

// TestVerifyKeyRotation: a key that appears in the JWKS later is picked up
// by the refetch its unknown kid triggers.
func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newTestKey(t, 0, "msteams"), newTestKey(t, 1, "msteams")
	ks := newKeyServer(t, oldKey)
	clock := newTestClock(t0)
	v := newVerifier(t, ks, clock.Now)
	ctx := context.Background()

	if _, err := v.Verify(ctx, bearerOf(oldKey.sign(t, oldKey.kid, goodClaims(t0))), teamsActivity()); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	ks.setKeys(oldKey, newKey)
	clock.Advance(botauth.DefaultMinRefetchInterval)
	if _, err := v.Verify(ctx, bearerOf(newKey.sign(t, newKey.kid, goodClaims(t0))), teamsActivity()); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if got := ks.keysCalls.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2", got)
	}
	if _, err := v.Verify(ctx, bearerOf(oldKey.sign(t, oldKey.kid, goodClaims(t0))), teamsActivity()); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
	if got := ks.keysCalls.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times after known kids only, want 2", got)
	}
}

// TestVerifyRefetchRateLimit: unknown kids refetch the keys at most once
// per MinRefetchInterval.
func TestVerifyRefetchRateLimit(t *testing.T) {
	t.Parallel()
	known, stranger := newTestKey(t, 0, "msteams"), newTestKey(t, 1, "msteams")
	ks := newKeyServer(t, known)
	clock := newTestClock(t0)
	v := newVerifier(t, ks, clock.Now)
	ctx := context.Background()
	unknown := bearerOf(stranger.sign(t, stranger.kid, goodClaims(t0)))

	steps := []struct {
		advance   time.Duration
		auth      string
		want      error
		wantCalls int64
	}{
		{0, bearerOf(known.sign(t, known.kid, goodClaims(t0))), nil, 1},
		{0, unknown, botauth.ErrUnknownKey, 1},                // just fetched
		{30 * time.Second, unknown, botauth.ErrUnknownKey, 1}, // still within the interval
		{30 * time.Second, unknown, botauth.ErrUnknownKey, 2}, // interval over: one refetch
		{0, unknown, botauth.ErrUnknownKey, 2},
		{59 * time.Second, unknown, botauth.ErrUnknownKey, 2},
		{time.Second, unknown, botauth.ErrUnknownKey, 3},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		_, err := v.Verify(ctx, s.auth, teamsActivity())
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("step %d: Verify error = %v, want %v", i, err, s.want)
		}
		if got := ks.keysCalls.Load(); got != s.wantCalls {
			t.Fatalf("step %d: JWKS fetched %d times, want %d", i, got, s.wantCalls)
		}
	}
}

// TestVerifyPeriodicRefresh: keys are refetched once RefreshEvery has passed
// even when every kid is known, so a withdrawn key stops being accepted.
func TestVerifyPeriodicRefresh(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newTestKey(t, 0, "msteams"), newTestKey(t, 1, "msteams")
	ks := newKeyServer(t, oldKey)
	clock := newTestClock(t0)
	v := newVerifier(t, ks, clock.Now)
	ctx := context.Background()
	verifyOld := func() error {
		now := clock.Now()
		_, err := v.Verify(ctx, bearerOf(oldKey.sign(t, oldKey.kid, goodClaims(now))), teamsActivity())
		return err
	}

	if err := verifyOld(); err != nil {
		t.Fatalf("first: %v", err)
	}
	ks.setKeys(newKey) // oldKey withdrawn
	clock.Advance(botauth.DefaultRefreshEvery - time.Second)
	if err := verifyOld(); err != nil {
		t.Fatalf("before refresh is due: %v", err)
	}
	if got := ks.keysCalls.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times before refresh is due, want 1", got)
	}
	clock.Advance(time.Second)
	if err := verifyOld(); !errors.Is(err, botauth.ErrUnknownKey) {
		t.Fatalf("withdrawn key after refresh: %v, want ErrUnknownKey", err)
	}
	if got := ks.keysCalls.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times after refresh is due, want 2", got)
	}
}

// TestVerifyMetadataFailure: fetch failures are ErrMetadata, never token
// errors; a failed fetch is retried only after MinRefetchInterval; stale
// keys stay usable while a refresh fails, for one more RefreshEvery.
func TestVerifyMetadataFailure(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	ks := newKeyServer(t, key)
	ks.setStatus(http.StatusInternalServerError)
	clock := newTestClock(t0)
	v := newVerifier(t, ks, clock.Now)
	ctx := context.Background()
	verify := func() error {
		_, err := v.Verify(ctx, bearerOf(key.sign(t, key.kid, goodClaims(clock.Now()))), teamsActivity())
		return err
	}
	wantMetadata := func(step string, err error) {
		t.Helper()
		if !errors.Is(err, botauth.ErrMetadata) || botauth.IsTokenError(err) {
			t.Fatalf("%s: error %v: want ErrMetadata and not a token error", step, err)
		}
	}
	wantCalls := func(step string, want int64) {
		t.Helper()
		if got := ks.metadataCalls.Load(); got != want {
			t.Fatalf("%s: metadata fetched %d times, want %d", step, got, want)
		}
	}

	wantMetadata("server down", verify())
	wantCalls("server down", 1)
	ks.setStatus(0)
	wantMetadata("failure remembered", verify())
	wantCalls("failure remembered", 1)
	clock.Advance(botauth.DefaultMinRefetchInterval)
	if err := verify(); err != nil {
		t.Fatalf("server back: %v", err)
	}
	wantCalls("server back", 2)

	// Stale keys while the server is down again.
	ks.setStatus(http.StatusServiceUnavailable)
	clock.Advance(botauth.DefaultRefreshEvery)
	if err := verify(); err != nil {
		t.Fatalf("stale keys during outage: %v", err)
	}
	wantCalls("refresh attempted", 3)
	clock.Advance(botauth.DefaultRefreshEvery - 2*time.Minute)
	if err := verify(); err != nil {
		t.Fatalf("stale keys late in outage: %v", err)
	}
	wantCalls("refresh attempted again", 4)
	clock.Advance(2 * time.Minute)
	wantMetadata("keys too old", verify())
	wantCalls("keys too old", 5)
}

// TestVerifyBadMetadata: documents that are not what they should be are
// ErrMetadata.
func TestVerifyBadMetadata(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	tok := bearerOf(key.sign(t, key.kid, goodClaims(t0)))
	tests := []struct {
		name     string
		metadata string
		keys     string
	}{
		{name: "metadata not json", metadata: `<html>`},
		{name: "no jwks_uri", metadata: `{"issuer":"https://api.botframework.com"}`},
		{name: "jwks not json", metadata: `{"jwks_uri":"/keys"}`, keys: `nope`},
		{name: "no keys", metadata: `{"jwks_uri":"/keys"}`, keys: `{"keys":[]}`},
		{name: "only unusable keys", metadata: `{"jwks_uri":"/keys"}`, keys: `{"keys":[{"kty":"EC","kid":"a"},{"kty":"RSA","kid":"b","n":"AQAB","e":"AQAB"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /meta", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tt.metadata)) })
			mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tt.keys)) })
			srv := newServer(t, mux)
			v, err := botauth.NewVerifier(botauth.VerifierConfig{
				AppID: testAppID, MetadataURL: srv.URL + "/meta", HTTPClient: srv.Client(),
				Now: func() time.Time { return t0 },
			})
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			_, err = v.Verify(context.Background(), tok, teamsActivity())
			if !errors.Is(err, botauth.ErrMetadata) || botauth.IsTokenError(err) {
				t.Fatalf("Verify error = %v, want ErrMetadata only", err)
			}
		})
	}
}

// TestVerifyConcurrentColdStart: many verifications racing on an empty cache
// share one fetch.
func TestVerifyConcurrentColdStart(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	ks := newKeyServer(t, key)
	v := newVerifier(t, ks, func() time.Time { return t0 })
	tok := bearerOf(key.sign(t, key.kid, goodClaims(t0)))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok, teamsActivity())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if got := ks.keysCalls.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times, want 1", got)
	}
}

// TestVerifyContextCanceled: a canceled wait for keys is not a token error
// and is not remembered as a failed fetch.
func TestVerifyContextCanceled(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	ks := newKeyServer(t, key)
	v := newVerifier(t, ks, func() time.Time { return t0 })
	tok := bearerOf(key.sign(t, key.kid, goodClaims(t0)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(ctx, tok, teamsActivity())
	if !errors.Is(err, context.Canceled) || botauth.IsTokenError(err) {
		t.Fatalf("Verify with canceled context: %v", err)
	}
	if _, err := v.Verify(context.Background(), tok, teamsActivity()); err != nil {
		t.Fatalf("Verify after cancellation: %v", err)
	}
}

func TestVerifyNilActivity(t *testing.T) {
	t.Parallel()
	key := newTestKey(t, 0, "msteams")
	ks := newKeyServer(t, key)
	v := newVerifier(t, ks, func() time.Time { return t0 })
	_, err := v.Verify(context.Background(), bearerOf(key.sign(t, key.kid, goodClaims(t0))), nil)
	if err == nil || botauth.IsTokenError(err) || errors.Is(err, botauth.ErrMetadata) {
		t.Fatalf("Verify(nil activity) = %v, want a programming error", err)
	}
}

func TestNewVerifierValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   botauth.VerifierConfig
		field string
	}{
		{"no app id", botauth.VerifierConfig{}, "AppID"},
		{"relative metadata url", botauth.VerifierConfig{AppID: "a", MetadataURL: "/v1/keys"}, "MetadataURL"},
		{"ftp metadata url", botauth.VerifierConfig{AppID: "a", MetadataURL: "ftp://x/y"}, "MetadataURL"},
		{"negative refresh", botauth.VerifierConfig{AppID: "a", RefreshEvery: -time.Hour}, "RefreshEvery"},
		{"refetch above refresh", botauth.VerifierConfig{AppID: "a", RefreshEvery: time.Minute, MinRefetchInterval: time.Hour}, "MinRefetchInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := botauth.NewVerifier(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("NewVerifier error = %v, want one naming %s", err, tt.field)
			}
		})
	}
	if _, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: "a"}); err != nil {
		t.Fatalf("NewVerifier with defaults: %v", err)
	}
}

func TestIsTokenError(t *testing.T) {
	t.Parallel()
	tokenErrs := []error{
		botauth.ErrNoToken, botauth.ErrNotBearer, botauth.ErrMalformed, botauth.ErrAlgorithm,
		botauth.ErrUnknownKey, botauth.ErrSignature, botauth.ErrExpired, botauth.ErrNotYetValid,
		botauth.ErrIssuer, botauth.ErrAudience, botauth.ErrNoServiceURL, botauth.ErrServiceURLMismatch,
		botauth.ErrEndorsement,
	}
	for i, e := range tokenErrs {
		if !botauth.IsTokenError(e) {
			t.Errorf("IsTokenError(%v) = false", e)
		}
		for j, other := range tokenErrs {
			if i != j && errors.Is(e, other) {
				t.Errorf("%v matches %v", e, other)
			}
		}
	}
	for _, e := range []error{nil, botauth.ErrMetadata, errors.New("other"), context.Canceled} {
		if botauth.IsTokenError(e) {
			t.Errorf("IsTokenError(%v) = true", e)
		}
	}
}

// TestVerifyLogs: key refresh problems are logged, tokens never are.
func TestVerifyLogs(t *testing.T) {
	t.Parallel()
	key, stranger := newTestKey(t, 0, "msteams"), newTestKey(t, 1, "msteams")
	ks := newKeyServer(t, key)
	var buf syncBuffer
	clock := newTestClock(t0)
	v, err := botauth.NewVerifier(botauth.VerifierConfig{
		AppID: testAppID, MetadataURL: ks.metadataURL(), HTTPClient: ks.srv.Client(), Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	good := key.sign(t, key.kid, goodClaims(t0))
	unknown := stranger.sign(t, stranger.kid, goodClaims(t0))
	if _, err := v.Verify(context.Background(), bearerOf(good), teamsActivity()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	ks.setStatus(http.StatusInternalServerError)
	clock.Advance(time.Hour)
	if _, err := v.Verify(context.Background(), bearerOf(unknown), teamsActivity()); !errors.Is(err, botauth.ErrMetadata) {
		t.Fatalf("Verify during outage: %v, want ErrMetadata", err)
	}
	logs := buf.String()
	for _, want := range []string{"refreshed", "refresh failed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, tok := range []string{good, unknown} {
		sig := tok[strings.LastIndex(tok, ".")+1:]
		if strings.Contains(logs, sig) || strings.Contains(logs, tok[:strings.Index(tok, ".")]+".") {
			t.Errorf("logs contain a token:\n%s", logs)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
