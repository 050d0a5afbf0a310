package api

import (
	"context"
	"net/http"

	"herald"
)

// KeyRequest is the body of POST /v1/keys: a new key's name, scopes and
// send limits (see herald.APIKey).
type KeyRequest struct {
	// Name says whose or what the key is. Required.
	Name string `json:"name"`
	// Scopes are send, read and admin. Required.
	Scopes []herald.Scope `json:"scopes"`
	// Topics limit sending to notifications on these topics.
	Topics []string `json:"topics,omitempty"`
	// Audiences limit sending to these audience entries ("team:Ops",
	// "user:*", "channel:Ops/*").
	Audiences []string `json:"audiences,omitempty"`
	// Critical allows sending critical notifications.
	Critical bool `json:"critical,omitempty"`
}

// Key is an API key as the API shows it: never the key itself.
type Key struct {
	herald.APIKey
	// Revoked is true once the key was revoked.
	Revoked bool `json:"revoked"`
}

// NewKey is the answer to POST /v1/keys: the key's record and, once
// only, the key.
type NewKey struct {
	Key
	// Secret is the key to send as a bearer token. It is not kept: only
	// its SHA-256 is.
	Secret string `json:"secret"`
}

// KeyList is the answer of GET /v1/keys: every key in the store,
// revoked ones included, oldest first. Keys given to `herald serve`
// (--api-key) are not listed.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// CreateKey makes a key (POST /v1/keys; needs an admin key).
func (cl *Client) CreateKey(ctx context.Context, r KeyRequest) (NewKey, error) {
	body, err := jsonBody(r)
	if err != nil {
		return NewKey{}, err
	}
	var k NewKey
	err = cl.doJSON(ctx, call{method: http.MethodPost, path: "/v1/keys", body: body, ctype: "application/json"}, &k)
	return k, err
}

// Keys lists the keys in the store (GET /v1/keys; needs an admin key).
func (cl *Client) Keys(ctx context.Context) (KeyList, error) {
	var l KeyList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/keys"}, &l)
	return l, err
}

// RevokeKey revokes a key (DELETE /v1/keys/{id}; needs an admin key): it
// is refused from then on.
func (cl *Client) RevokeKey(ctx context.Context, id string) (Key, error) {
	var k Key
	err := cl.doJSON(ctx, call{method: http.MethodDelete, path: "/v1/keys/" + seg(id)}, &k)
	return k, err
}
