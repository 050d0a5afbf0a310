package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"herald"
	"herald/api"
)

// API keys: those given in Config.APIKeys (full access, compared in
// memory) and those in the store (scoped, looked up by the id the key
// carries and compared by hash). Each /v1 route needs one scope; sending
// also checks the key's limits.

// configKey is a key of Config.APIKeys: its digest and the admin record
// it stands for.
type configKey struct {
	sum [sha256.Size]byte
	key herald.APIKey
}

// configKeys returns the records of Config.APIKeys: admin keys named by
// their position ("config:1").
func configKeys(keys []string) []configKey {
	out := make([]configKey, len(keys))
	for i, k := range keys {
		out[i] = configKey{sum: sha256.Sum256([]byte(k)), key: herald.APIKey{
			ID: fmt.Sprintf("config:%d", i+1), Name: fmt.Sprintf("api-key %d", i+1), Scopes: []herald.Scope{herald.ScopeAdmin}}}
	}
	return out
}

// touchEvery is how often a key's last use is written to the store.
const touchEvery = time.Minute

// unauthorized is the answer to a missing, unknown or revoked key: 401.
func unauthorized() *api.Error {
	return &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
		Message: "a valid API key is required as a bearer token (Authorization: Bearer <key>)"}
}

// authenticate returns the key r carries: one of Config.APIKeys (compared
// in constant time over fixed-size digests, so lengths do not leak
// either), or a live key of the store whose hash matches. A missing,
// unknown or revoked key is unauthorized(); a store failure passes.
func (s *Server) authenticate(r *http.Request) (herald.APIKey, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return herald.APIKey{}, unauthorized()
	}
	token = strings.TrimSpace(token)
	got := sha256.Sum256([]byte(token))
	found := -1
	for i, k := range s.keys {
		if subtle.ConstantTimeCompare(got[:], k.sum[:]) == 1 {
			found = i
		}
	}
	if found >= 0 {
		return s.keys[found].key, nil
	}
	id, ok := herald.APIKeyID(token)
	if !ok {
		return herald.APIKey{}, unauthorized()
	}
	k, err := s.store.APIKeyGet(r.Context(), id)
	switch {
	case errors.Is(err, herald.ErrNotFound):
		return herald.APIKey{}, unauthorized()
	case err != nil:
		return herald.APIKey{}, fmt.Errorf("authenticate: %w", err)
	case k.Revoked() || !k.Matches(token):
		return herald.APIKey{}, unauthorized()
	}
	s.touch(r.Context(), k.ID)
	return k, nil
}

// touch records a key's use, at most once per touchEvery per key and
// server. A failure is logged (by id: never the key) and ignored.
func (s *Server) touch(ctx context.Context, id string) {
	now := time.Now()
	if last, ok := s.touched.Load(id); ok && now.Sub(last.(time.Time)) < touchEvery {
		return
	}
	s.touched.Store(id, now)
	if err := s.store.APIKeyTouch(ctx, id, now); err != nil {
		s.log.Warn("recording an API key's use failed", "key_id", id, "err", err)
	}
}

// routeScope is the scope a /v1 route needs: sending, cancelling and
// retrying need send; reading notifications, deliveries, the directory
// and topics needs read; changing people's preferences and managing keys
// needs admin. A route it does not name needs admin.
func routeScope(method, path string) herald.Scope {
	switch {
	case method == http.MethodPost && (path == "/v1/notifications" || strings.HasPrefix(path, "/v1/send/")),
		method == http.MethodPost && strings.HasPrefix(path, "/v1/notifications/"):
		return herald.ScopeSend
	case method == http.MethodGet && !strings.HasPrefix(path, "/v1/keys"):
		return herald.ScopeRead
	}
	return herald.ScopeAdmin
}

// permitRoute refuses a key that lacks the scope of route rt. Any key
// may learn that a route does not exist (404, 405).
func permitRoute(k herald.APIKey, rt route) error {
	if rt.method == "" {
		return nil
	}
	if sc := routeScope(rt.method, rt.path); !k.Has(sc) {
		return herald.MissingScope(sc, rt.method+" "+rt.path)
	}
	return nil
}

// keyCtx is the context key of the request's API key.
type keyCtx struct{}

// withKey returns ctx carrying the request's API key.
func withKey(ctx context.Context, k herald.APIKey) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// requestKey returns the API key of the request (the zero key, which
// grants nothing, on a public route).
func requestKey(ctx context.Context) herald.APIKey {
	k, _ := ctx.Value(keyCtx{}).(herald.APIKey)
	return k
}

// mayChange refuses to let a key without admin cancel or retry a
// notification another key sent (404 when there is no such notification).
func (s *Server) mayChange(ctx context.Context, id string) error {
	n, err := s.store.NotificationGet(ctx, id)
	if err != nil {
		return lookup(err, "notification", id, "")
	}
	k := requestKey(ctx)
	if slices.Contains(k.Scopes, herald.ScopeAdmin) || (k.ID != "" && n.CreatedBy.KeyID == k.ID) {
		return nil
	}
	return &herald.ForbiddenError{Message: "this key may cancel and retry only the notifications it sent; ask an admin key"}
}
