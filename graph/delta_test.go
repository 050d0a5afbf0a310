package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestUsersDeltaRound(t *testing.T) {
	t.Parallel()
	var base string
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("$deltatoken") == "old":
			w.Header().Set("Location", base+"/users/delta?$deltatoken=")
			writeRaw(w, 410, `{"error":{"code":"resyncRequired","message":"Resync required. Replace any local cached copies."}}`)
		case q.Get("$deltatoken") == "d1":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u2","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"%s/users/delta?$deltatoken=d2"}`, base))
		case q.Get("$skiptoken") == "s2":
			writeRaw(w, 200, fmt.Sprintf(`{"value":[{"id":"u3","displayName":"Cy","accountEnabled":false},{"id":"u4","@removed":{"reason":"changed"}}],"@odata.deltaLink":"%s/users/delta?$deltatoken=d1"}`, base))
		default:
			writeRaw(w, 200, fmt.Sprintf(`{"@odata.context":"x","value":[{"id":"u1","displayName":"Ann","accountEnabled":true,"userType":"Member"},{"id":"u2","@removed":{"reason":"changed"}}],"@odata.nextLink":"%s/users/delta?$skiptoken=s2"}`, base))
		}
	})
	base = f.base()
	ctx := context.Background()

	// A full round: two pages, the caller keeping the links.
	p1, err := c.UsersDelta(ctx, "", DeltaQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Done() || len(p1.Users) != 1 || p1.Users[0].ID != "u1" || len(p1.Removed) != 1 || p1.Removed[0] != (RemovedUser{ID: "u2", Reason: RemovedChanged}) {
		t.Fatalf("page 1 = %+v", p1)
	}
	p2, err := c.UsersDelta(ctx, p1.NextLink, DeltaQuery{Select: []string{"ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Done() || p2.DeltaLink != base+"/users/delta?$deltatoken=d1" || len(p2.Users) != 1 || !p2.Users[0].Disabled() {
		t.Fatalf("page 2 = %+v", p2)
	}
	// The next round from the stored deltaLink.
	p3, err := c.UsersDelta(ctx, p2.DeltaLink, DeltaQuery{})
	if err != nil || len(p3.Removed) != 1 || p3.Removed[0].Reason != RemovedDeleted {
		t.Fatalf("next round = %+v, %v", p3, err)
	}
	reqs := f.requests()
	if reqs[0].Query != "$select="+DefaultUserSelect {
		t.Errorf("first request query = %q", reqs[0].Query)
	}
	for _, r := range reqs[1:] {
		if strings.Contains(r.Query, "$select") {
			t.Errorf("a later request carries $select: %q", r.Query)
		}
	}

	// An expired token: start over.
	_, err = c.UsersDelta(ctx, base+"/users/delta?$deltatoken=old", DeltaQuery{})
	if !errors.Is(err, ErrResyncRequired) || Classify(err).Kind != KindResyncRequired || Classify(err).Retryable {
		t.Errorf("410: err = %v, want ErrResyncRequired, not retryable", err)
	}
	// A link to another host is refused before sending.
	n := len(f.requests())
	if _, err := c.UsersDelta(ctx, "https://evil.example/v1.0/users/delta?$deltatoken=x", DeltaQuery{}); !errors.Is(err, ErrUntrustedLink) {
		t.Errorf("foreign deltaLink: err = %v", err)
	}
	if len(f.requests()) != n {
		t.Error("a request went out for a foreign deltaLink")
	}
}

func TestParseDeltaPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantErr string
		users, removed      int
	}{
		{"ok", `{"value":[{"id":"a"},{"id":"b","@removed":{}}],"@odata.deltaLink":"x"}`, "", 1, 1},
		{"no id", `{"value":[{"displayName":"a"}],"@odata.deltaLink":"x"}`, "no id", 0, 0},
		{"bad item", `{"value":[{"id":1}],"@odata.deltaLink":"x"}`, "value[0]", 0, 0},
		{"not json", `<html>`, "invalid", 0, 0},
	}
	for _, tt := range tests {
		p, err := parseDeltaPage([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(p.Users) != tt.users || len(p.Removed) != tt.removed {
			t.Errorf("%s: page %+v, err %v", tt.name, p, err)
		}
	}
}
