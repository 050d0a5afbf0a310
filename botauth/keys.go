package botauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"herald/botframework"
)

// maxDocumentSize bounds the metadata and JWKS documents read.
const maxDocumentSize = 1 << 20

// minKeyBits is the smallest RSA modulus accepted for a signing key.
const minKeyBits = 2048

// signingKey is one published key: the RSA public key and the channels it is
// endorsed for (empty means no endorsement restriction).
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// keySet caches the signing keys published through an OpenID metadata
// document. Keys are refetched when older than refreshEvery and when an
// unknown key id shows up, but never more than once per minRefetch; while a
// refresh fails, the previous keys stay in use for up to another
// refreshEvery. Only one fetch runs at a time.
type keySet struct {
	metadataURL  string
	client       *http.Client
	logger       *slog.Logger
	now          func() time.Time
	refreshEvery time.Duration
	minRefetch   time.Duration

	fetching chan struct{} // holds one element while a fetch is in flight

	mu        sync.Mutex
	keys      map[string]signingKey // nil until the first successful fetch
	fetchedAt time.Time             // last successful fetch
	triedAt   time.Time             // last completed fetch attempt; zero: never
	lastErr   error                 // outcome of the last attempt
}

// key returns the signing key named kid, fetching the keys when the rules
// above allow and require it.
func (ks *keySet) key(ctx context.Context, kid string) (signingKey, error) {
	k, fetch, err := ks.plan(kid, true)
	if !fetch {
		return k, err
	}
	select {
	case ks.fetching <- struct{}{}:
	case <-ctx.Done():
		return signingKey{}, fmt.Errorf("%w: %w", ErrMetadata, ctx.Err())
	}
	defer func() { <-ks.fetching }()
	// A fetch we waited for may have settled the question.
	if k, fetch, err = ks.plan(kid, true); !fetch {
		return k, err
	}
	if err := ks.refresh(ctx); err != nil && ctx.Err() != nil {
		return signingKey{}, fmt.Errorf("%w: %w", ErrMetadata, ctx.Err())
	}
	k, _, err = ks.plan(kid, false)
	return k, err
}

// plan decides from the cached state: either it returns the key (or the
// reason there is none), or fetch is true and the caller should refresh the
// keys and ask again. allowFetch false means answer from the cache only.
func (ks *keySet) plan(kid string, allowFetch bool) (k signingKey, fetch bool, err error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.now()
	mayFetch := allowFetch && (ks.triedAt.IsZero() || now.Sub(ks.triedAt) >= ks.minRefetch)
	age := now.Sub(ks.fetchedAt)
	switch {
	case ks.keys != nil && age < ks.refreshEvery:
		// Fresh keys.
	case mayFetch:
		return signingKey{}, true, nil
	case ks.keys != nil && age < 2*ks.refreshEvery:
		// Stale, and the last refresh failed: keep the old keys a while.
	case ks.lastErr != nil:
		return signingKey{}, false, fmt.Errorf("%w: %w", ErrMetadata, ks.lastErr)
	default:
		return signingKey{}, false, fmt.Errorf("%w: keys older than %v", ErrMetadata, 2*ks.refreshEvery)
	}
	if k, ok := ks.keys[kid]; ok {
		return k, false, nil
	}
	if mayFetch {
		return signingKey{}, true, nil
	}
	if ks.lastErr != nil {
		// The key may well exist; we could not find out.
		return signingKey{}, false, fmt.Errorf("%w: key %q: %w", ErrMetadata, botframework.Clip(kid, 64), ks.lastErr)
	}
	return signingKey{}, false, fmt.Errorf("%w: %q", ErrUnknownKey, botframework.Clip(kid, 64))
}

// refresh fetches the metadata and the keys and records the outcome. An
// attempt cut short by ctx is not recorded, so the next caller retries.
func (ks *keySet) refresh(ctx context.Context) error {
	keys, err := ks.fetch(ctx)
	if err != nil && ctx.Err() != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.now()
	ks.triedAt = now
	ks.lastErr = err
	if err != nil {
		ks.logger.WarnContext(ctx, "bot framework signing keys: refresh failed", "url", ks.metadataURL, "err", err)
		return err
	}
	ks.keys = keys
	ks.fetchedAt = now
	ks.logger.DebugContext(ctx, "bot framework signing keys: refreshed", "url", ks.metadataURL, "keys", len(keys))
	return nil
}

// metadata is the part of the OpenID metadata document we use.
type metadata struct {
	JWKSURI string `json:"jwks_uri"`
}

// jwk is one JSON Web Key as the Bot Framework publishes it: RSA, no alg,
// optional x5t/x5c (ignored), plus endorsements.
type jwk struct {
	Kty          string   `json:"kty"`
	Use          string   `json:"use"`
	Alg          string   `json:"alg"`
	Kid          string   `json:"kid"`
	N            string   `json:"n"`
	E            string   `json:"e"`
	Endorsements []string `json:"endorsements"`
}

// fetch reads the metadata document, then the JWKS it names, and returns
// the usable keys by key id.
func (ks *keySet) fetch(ctx context.Context) (map[string]signingKey, error) {
	var md metadata
	if err := ks.getJSON(ctx, ks.metadataURL, &md); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if md.JWKSURI == "" {
		return nil, errors.New("openid metadata: no jwks_uri")
	}
	base, err := url.Parse(ks.metadataURL)
	if err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	ref, err := url.Parse(md.JWKSURI)
	if err != nil {
		return nil, fmt.Errorf("openid metadata: jwks_uri: %w", err)
	}
	jwksURL := base.ResolveReference(ref)
	if jwksURL.Scheme != "https" && jwksURL.Scheme != "http" {
		return nil, fmt.Errorf("openid metadata: jwks_uri %q is not http(s)", botframework.Clip(md.JWKSURI, 200))
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := ks.getJSON(ctx, jwksURL.String(), &set); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	keys := make(map[string]signingKey, len(set.Keys))
	for i, j := range set.Keys {
		k, err := j.signingKey()
		if err != nil {
			ks.logger.WarnContext(ctx, "bot framework signing keys: key skipped", "index", i, "kid", botframework.Clip(j.Kid, 64), "err", err)
			continue
		}
		if _, dup := keys[j.Kid]; dup {
			ks.logger.WarnContext(ctx, "bot framework signing keys: duplicate kid, first kept", "kid", botframework.Clip(j.Kid, 64))
			continue
		}
		keys[j.Kid] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("signing keys: none of %d keys usable", len(set.Keys))
	}
	return keys, nil
}

// signingKey converts a JWK into a key, refusing anything that cannot verify
// an RS256 signature safely.
func (j jwk) signingKey() (signingKey, error) {
	switch {
	case j.Kid == "":
		return signingKey{}, errors.New("no kid")
	case j.Kty != "RSA":
		return signingKey{}, fmt.Errorf("kty %q is not RSA", botframework.Clip(j.Kty, 16))
	case j.Use != "" && j.Use != "sig":
		return signingKey{}, fmt.Errorf("use %q is not sig", botframework.Clip(j.Use, 16))
	case j.Alg != "" && j.Alg != "RS256":
		return signingKey{}, fmt.Errorf("alg %q is not RS256", botframework.Clip(j.Alg, 16))
	}
	n, err := decodeBase64URL(j.N)
	if err != nil {
		return signingKey{}, fmt.Errorf("modulus: %w", err)
	}
	e, err := decodeBase64URL(j.E)
	if err != nil {
		return signingKey{}, fmt.Errorf("exponent: %w", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	if bits := pub.N.BitLen(); bits < minKeyBits {
		return signingKey{}, fmt.Errorf("modulus of %d bits is too small", bits)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return signingKey{}, errors.New("exponent out of range")
	}
	pub.E = int(exp.Int64())
	return signingKey{pub: pub, endorsements: j.Endorsements}, nil
}

// decodeBase64URL decodes unpadded (or padded) base64url.
func decodeBase64URL(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// getJSON GETs url and decodes a JSON object from a 200 response.
func (ks *keySet) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentSize))
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxDocumentSize {
		return fmt.Errorf("GET %s: document larger than %d bytes", url, maxDocumentSize)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}
