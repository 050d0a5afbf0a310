package sqlstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"herald"
)

// API keys: their hashes (hex), scopes and limits (JSON arrays).

const apiKeyCols = `id, name, hash, scopes, topics, audiences, critical, created_at, revoked_at, last_used_at`

func scanAPIKey(r rowScanner) (herald.APIKey, error) {
	var k herald.APIKey
	var hash, scopes, topics, audiences string
	var created, revoked, used int64
	if err := r.Scan(&k.ID, &k.Name, &hash, &scopes, &topics, &audiences, &k.Critical, &created, &revoked, &used); err != nil {
		return herald.APIKey{}, err
	}
	var err error
	if k.Hash, err = hex.DecodeString(hash); err != nil {
		return herald.APIKey{}, fmt.Errorf("decode key %s: %w", k.ID, err)
	}
	for _, f := range []struct {
		raw  string
		dest any
	}{{scopes, &k.Scopes}, {topics, &k.Topics}, {audiences, &k.Audiences}} {
		if err := json.Unmarshal([]byte(f.raw), f.dest); err != nil {
			return herald.APIKey{}, fmt.Errorf("decode key %s: %w", k.ID, err)
		}
	}
	if len(k.Topics) == 0 {
		k.Topics = nil
	}
	if len(k.Audiences) == 0 {
		k.Audiences = nil
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMicros(created), fromMicros(revoked), fromMicros(used)
	return k, nil
}

// jsonList encodes a list as a JSON array ([] for none).
func jsonList[T any](v []T) string {
	if v == nil {
		v = []T{}
	}
	return mustJSON(v)
}

// APIKeyCreate implements herald.KeyStore.
func (s *Store) APIKeyCreate(ctx context.Context, k herald.APIKey) error {
	if k.ID == "" || len(k.Hash) == 0 {
		return errors.New("api key create: empty id or hash")
	}
	_, err := s.exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.Name, hex.EncodeToString(k.Hash), jsonList(k.Scopes), jsonList(k.Topics), jsonList(k.Audiences), k.Critical,
		toMicros(k.CreatedAt), toMicros(k.RevokedAt), toMicros(k.LastUsedAt))
	if err != nil {
		return fmt.Errorf("api key create: %w", s.mapErr(err))
	}
	return nil
}

// APIKeyGet implements herald.KeyStore.
func (s *Store) APIKeyGet(ctx context.Context, id string) (herald.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return herald.APIKey{}, fmt.Errorf("api key get: %w", s.mapErr(err))
	}
	return k, nil
}

// APIKeyList implements herald.KeyStore.
func (s *Store) APIKeyList(ctx context.Context) ([]herald.APIKey, error) {
	rows, err := s.query(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("api key list: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("api key list: %w", s.mapErr(err))
	}
	return out, nil
}

// APIKeyRevoke implements herald.KeyStore.
func (s *Store) APIKeyRevoke(ctx context.Context, id string, now time.Time) (herald.APIKey, error) {
	if _, err := s.exec(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, toMicros(now)); err != nil {
		return herald.APIKey{}, fmt.Errorf("api key revoke: %w", s.mapErr(err))
	}
	k, err := s.APIKeyGet(ctx, id)
	if err != nil {
		return herald.APIKey{}, fmt.Errorf("api key revoke: %w", err)
	}
	return k, nil
}

// APIKeyTouch implements herald.KeyStore.
func (s *Store) APIKeyTouch(ctx context.Context, id string, t time.Time) error {
	if _, err := s.exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2`, id, toMicros(t)); err != nil {
		return fmt.Errorf("api key touch: %w", s.mapErr(err))
	}
	return nil
}
