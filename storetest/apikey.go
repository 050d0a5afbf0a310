package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
)

// RunKeys runs the API key part of the suite: keys kept by hash with
// their scopes and limits, revoked and touched, and the key recorded on
// the notifications it sent.
func RunKeys(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"create, get and list", testKeyRoundTrip},
		{"revoke keeps the first time", testKeyRevoke},
		{"touch only moves later", testKeyTouch},
		{"notification records its creator", testNotificationCreator},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// newKey makes and stores a key with mod applied.
func newKey(t *testing.T, s herald.Store, at time.Time, mod func(*herald.APIKey)) (herald.APIKey, string) {
	t.Helper()
	k := herald.APIKey{Name: "deploy bot", Scopes: []herald.Scope{herald.ScopeSend}}
	if mod != nil {
		mod(&k)
	}
	k, secret, err := herald.NewAPIKey(k, at)
	must(t, err)
	must(t, s.APIKeyCreate(context.Background(), k))
	return k, secret
}

func testKeyRoundTrip(t *testing.T, s herald.Store) {
	ctx := context.Background()
	if ks, err := s.APIKeyList(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("empty store lists %v, %v", ks, err)
	}
	plain, _ := newKey(t, s, t0, nil)
	limited, secret := newKey(t, s, t0.Add(time.Second), func(k *herald.APIKey) {
		k.Name, k.Scopes = "ops", []herald.Scope{herald.ScopeSend, herald.ScopeRead}
		k.Topics, k.Audiences, k.Critical = []string{"outages"}, []string{"team:Ops", "channel:Ops/*"}, true
	})
	got, err := s.APIKeyGet(ctx, limited.ID)
	must(t, err)
	if diff := cmp.Diff(limited, got); diff != "" {
		t.Errorf("APIKeyGet (-made +stored):\n%s", diff)
	}
	if !got.Matches(secret) || got.Matches(secret+"x") {
		t.Errorf("stored hash does not match the key exactly")
	}
	list, err := s.APIKeyList(ctx)
	must(t, err)
	if diff := cmp.Diff([]herald.APIKey{plain, limited}, list); diff != "" {
		t.Errorf("APIKeyList (-want +got):\n%s", diff)
	}
	if err := s.APIKeyCreate(ctx, plain); !errors.Is(err, herald.ErrConflict) {
		t.Errorf("second create of %s: %v, want ErrConflict", plain.ID, err)
	}
	if _, err := s.APIKeyGet(ctx, "k_missing"); !errors.Is(err, herald.ErrNotFound) {
		t.Errorf("get missing: %v, want ErrNotFound", err)
	}
}

func testKeyRevoke(t *testing.T, s herald.Store) {
	ctx := context.Background()
	k, _ := newKey(t, s, t0, nil)
	other, _ := newKey(t, s, t0, nil)
	for i, at := range []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		got, err := s.APIKeyRevoke(ctx, k.ID, at)
		must(t, err)
		if !got.RevokedAt.Equal(t0.Add(time.Hour)) || !got.Revoked() {
			t.Errorf("revoke %d: RevokedAt = %v, want the first revocation's", i, got.RevokedAt)
		}
	}
	if got, err := s.APIKeyGet(ctx, other.ID); err != nil || got.Revoked() {
		t.Errorf("the other key: %+v, %v; want it untouched", got, err)
	}
	if _, err := s.APIKeyRevoke(ctx, "k_missing", t0); !errors.Is(err, herald.ErrNotFound) {
		t.Errorf("revoke missing: %v, want ErrNotFound", err)
	}
}

func testKeyTouch(t *testing.T, s herald.Store) {
	ctx := context.Background()
	k, _ := newKey(t, s, t0, nil)
	tests := []struct {
		at, want time.Time
	}{
		{t0.Add(time.Minute), t0.Add(time.Minute)},
		{t0.Add(time.Second), t0.Add(time.Minute)},
		{t0.Add(time.Hour), t0.Add(time.Hour)},
	}
	for _, tt := range tests {
		must(t, s.APIKeyTouch(ctx, k.ID, tt.at))
		got, err := s.APIKeyGet(ctx, k.ID)
		must(t, err)
		if !got.LastUsedAt.Equal(tt.want) {
			t.Errorf("touch at %v: LastUsedAt = %v, want %v", tt.at, got.LastUsedAt, tt.want)
		}
	}
}

func testNotificationCreator(t *testing.T, s herald.Store) {
	ctx := context.Background()
	by := herald.Creator{KeyID: "k_0123456789abcdefghjkmnpqrs", KeyName: "deploy bot"}
	_, _, err := s.NotificationCreate(ctx, herald.Notification{ID: "n_by", Request: herald.NotificationRequest{
		Audience: herald.Audience{Users: []string{"a@x"}}, Content: herald.Content{Text: "hi"}},
		State: herald.NotificationExpanding, CreatedBy: by, CreatedAt: t0, UpdatedAt: t0}, nil)
	must(t, err)
	newNotification(t, s, "n_anon", nil)
	tests := []struct {
		id   string
		want herald.Creator
	}{{"n_by", by}, {"n_anon", herald.Creator{}}}
	for _, tt := range tests {
		n, err := s.NotificationGet(ctx, tt.id)
		must(t, err)
		if n.CreatedBy != tt.want {
			t.Errorf("%s: CreatedBy = %+v, want %+v", tt.id, n.CreatedBy, tt.want)
		}
	}
	list, err := s.NotificationList(ctx, herald.NotificationListParams{})
	must(t, err)
	if len(list) != 2 || list[0].CreatedBy != (herald.Creator{}) || list[1].CreatedBy != by {
		t.Errorf("listed %+v, want n_anon without a creator, then n_by with its own", list)
	}
}
