package server

import (
	"fmt"
	"net/http"
	"time"

	"herald"
	"herald/api"
)

// Key management (admin keys only): make a key, shown once; list them;
// revoke one. Keys given in Config.APIKeys are not in the store: they are
// neither listed nor revoked here.

// apiKey is the API's view of a stored key.
func apiKey(k herald.APIKey) api.Key { return api.Key{APIKey: k, Revoked: k.Revoked()} }

// createKey is POST /v1/keys: 201 with the key's record and, once, the
// key itself.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req api.KeyRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	k := herald.APIKey{Name: req.Name, Scopes: req.Scopes, Topics: req.Topics, Audiences: req.Audiences, Critical: req.Critical}
	if err := k.Validate(); err != nil {
		return invalidFrom(err)
	}
	k, secret, err := herald.NewAPIKey(k, time.Now())
	if err != nil {
		return err
	}
	if err := s.store.APIKeyCreate(r.Context(), k); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	s.log.Info("API key created", "key_id", k.ID, "name", k.Name, "by", requestKey(r.Context()).ID)
	return writeJSON(w, http.StatusCreated, api.NewKey{Key: apiKey(k), Secret: secret})
}

// listKeys is GET /v1/keys: every stored key, revoked ones included.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	ks, err := s.store.APIKeyList(r.Context())
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	return writeJSON(w, http.StatusOK, api.KeyList{Keys: mapSlice(ks, apiKey)})
}

// revokeKey is DELETE /v1/keys/{id}: the key is refused from then on.
// Revoking a revoked key answers it unchanged.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	k, err := s.store.APIKeyRevoke(r.Context(), id, time.Now())
	if err != nil {
		return lookup(err, "key", id, "")
	}
	s.log.Info("API key revoked", "key_id", k.ID, "name", k.Name, "by", requestKey(r.Context()).ID)
	return writeJSON(w, http.StatusOK, apiKey(k))
}
