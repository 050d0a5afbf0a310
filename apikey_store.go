package herald

import (
	"context"
	"time"
)

// KeyStore keeps the API keys made with `herald keys create` or POST
// /v1/keys: their hashes, scopes and limits, never the keys themselves.
// Lookups of missing keys return ErrNotFound.
type KeyStore interface {
	// APIKeyCreate stores a new key (ID, Hash and CreatedAt set by the
	// caller); an id already used is an ErrConflict.
	APIKeyCreate(ctx context.Context, k APIKey) error
	// APIKeyGet returns one key, revoked or not.
	APIKeyGet(ctx context.Context, id string) (APIKey, error)
	// APIKeyList lists every key, revoked ones included, ordered by id
	// (creation time).
	APIKeyList(ctx context.Context) ([]APIKey, error)
	// APIKeyRevoke marks a key revoked at now, keeping the first
	// revocation's time if it was revoked already, and returns it.
	APIKeyRevoke(ctx context.Context, id string, now time.Time) (APIKey, error)
	// APIKeyTouch records that a key was used at t; an earlier t than the
	// one recorded changes nothing.
	APIKeyTouch(ctx context.Context, id string, t time.Time) error
}
