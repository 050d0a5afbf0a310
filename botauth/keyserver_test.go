package botauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testAppID      = "11111111-2222-3333-4444-555555555555"
	testIssuer     = "https://api.botframework.com"
	testServiceURL = "https://smba.trafficmanager.net/amer/"
	metadataPath   = "/v1/.well-known/openidconfiguration"
	keysPath       = "/v1/.well-known/keys"
)

// t0 is the fixed "now" of the verifier tests.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// testKey is an RSA key published (or not) by a keyServer, shaped like
// Microsoft's: kid = x5t = base64url SHA-1 of a self-signed certificate.
type testKey struct {
	kid          string
	priv         *rsa.PrivateKey
	cert         []byte
	endorsements []string
}

// rsaKeys are generated once per test binary, because RSA key generation
// would otherwise dominate the run time. Nothing modifies them.
var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

// newTestKey returns the n-th (0, 1 or 2) test key; within a test, distinct
// n give distinct keys and kids.
func newTestKey(t testing.TB, n int, endorsements ...string) *testKey {
	t.Helper()
	keys, err := rsaKeys()
	if err != nil {
		t.Fatalf("generate keys: %v", err)
	}
	priv := keys[n]
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "login.botframework.com"},
		NotBefore:    t0.Add(-24 * time.Hour),
		NotAfter:     t0.Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	sum := sha1.Sum(der)
	return &testKey{
		kid:          base64.RawURLEncoding.EncodeToString(sum[:]),
		priv:         priv,
		cert:         der,
		endorsements: endorsements,
	}
}

// jwk renders the key as a Bot Framework JWKS entry: no alg, x5t and x5c
// present, endorsements when set.
func (k *testKey) jwk() map[string]any {
	m := map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": k.kid,
		"x5t": k.kid,
		"n":   base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()),
		"x5c": []string{base64.StdEncoding.EncodeToString(k.cert)},
	}
	if k.endorsements != nil {
		m["endorsements"] = k.endorsements
	}
	return m
}

// sign signs claims with RS256 under this key, naming kid in the header.
func (k *testKey) sign(t testing.TB, kid string, claims jwt.MapClaims) string {
	t.Helper()
	return signWith(t, jwt.SigningMethodRS256, kid, claims, k.priv)
}

func signWith(t testing.TB, method jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// goodClaims returns the claims of a valid channel token at now.
func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":        testIssuer,
		"aud":        testAppID,
		"serviceurl": testServiceURL,
		"nbf":        now.Add(-time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"iat":        now.Add(-time.Minute).Unix(),
	}
}

// keyServer serves OpenID metadata and a JWKS like login.botframework.com,
// counting requests. Its key list and failure mode can change at any time.
type keyServer struct {
	srv           *httptest.Server
	metadataCalls atomic.Int64
	keysCalls     atomic.Int64

	mu     sync.Mutex
	keys   []*testKey
	status int // when non-zero, every response has this status
}

func newKeyServer(t testing.TB, keys ...*testKey) *keyServer {
	t.Helper()
	ks := &keyServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+metadataPath, func(w http.ResponseWriter, r *http.Request) {
		ks.metadataCalls.Add(1)
		if ks.failing(w) {
			return
		}
		writeJSON(w, map[string]any{
			"issuer":                                testIssuer,
			"authorization_endpoint":                "https://invalid.botframework.com",
			"jwks_uri":                              ks.srv.URL + keysPath,
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		})
	})
	mux.HandleFunc("GET "+keysPath, func(w http.ResponseWriter, r *http.Request) {
		ks.keysCalls.Add(1)
		if ks.failing(w) {
			return
		}
		ks.mu.Lock()
		set := make([]map[string]any, 0, len(ks.keys))
		for _, k := range ks.keys {
			set = append(set, k.jwk())
		}
		ks.mu.Unlock()
		writeJSON(w, map[string]any{"keys": set})
	})
	ks.srv = httptest.NewServer(mux)
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) failing(w http.ResponseWriter) bool {
	ks.mu.Lock()
	status := ks.status
	ks.mu.Unlock()
	if status == 0 {
		return false
	}
	http.Error(w, "unavailable", status)
	return true
}

func (ks *keyServer) setKeys(keys ...*testKey) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.keys = keys
}

func (ks *keyServer) setStatus(status int) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.status = status
}

func (ks *keyServer) metadataURL() string { return ks.srv.URL + metadataPath }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(now time.Time) *testClock { return &testClock{now: now} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
