package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/api"
)

// storeKey makes a key in st and returns its record and the key.
func storeKey(t *testing.T, st herald.KeyStore, k herald.APIKey) (herald.APIKey, string) {
	t.Helper()
	if k.Name == "" {
		k.Name = "test"
	}
	k, secret, err := herald.NewAPIKey(k, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.APIKeyCreate(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// scopes is a shorthand for a key's scopes.
func scopes(s ...herald.Scope) []herald.Scope { return s }

// TestRouteScopes checks, for every /v1 route and every kind of key,
// that the route answers 403 naming the scope exactly when the key lacks
// the route's scope.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	s, st := idleServer(t, Config{})
	_, send := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeSend), Critical: true})
	_, read := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	_, sendRead := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeSend, herald.ScopeRead)})
	_, admin := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeAdmin)})
	keys := []struct {
		name, key string
		has       []herald.Scope
	}{
		{"send", send, scopes(herald.ScopeSend)},
		{"read", read, scopes(herald.ScopeRead)},
		{"send+read", sendRead, scopes(herald.ScopeSend, herald.ScopeRead)},
		{"stored admin", admin, scopes(herald.ScopeSend, herald.ScopeRead, herald.ScopeAdmin)},
		{"configured", testKey, scopes(herald.ScopeSend, herald.ScopeRead, herald.ScopeAdmin)},
	}
	routes := []struct {
		method, path string
		scope        herald.Scope
	}{
		{"POST", "/v1/notifications", herald.ScopeSend},
		{"GET", "/v1/notifications", herald.ScopeRead},
		{"GET", "/v1/notifications/{id}", herald.ScopeRead},
		{"GET", "/v1/notifications/{id}/deliveries", herald.ScopeRead},
		{"POST", "/v1/notifications/{id}/cancel", herald.ScopeSend},
		{"POST", "/v1/notifications/{id}/retry", herald.ScopeSend},
		{"POST", "/v1/send/{target...}", herald.ScopeSend},
		{"GET", "/v1/users", herald.ScopeRead},
		{"GET", "/v1/users/{user}", herald.ScopeRead},
		{"GET", "/v1/users/{user}/preferences", herald.ScopeRead},
		{"PATCH", "/v1/users/{user}/preferences", herald.ScopeAdmin},
		{"GET", "/v1/teams", herald.ScopeRead},
		{"GET", "/v1/teams/{team}", herald.ScopeRead},
		{"GET", "/v1/teams/{team}/channels", herald.ScopeRead},
		{"GET", "/v1/conversations", herald.ScopeRead},
		{"GET", "/v1/directory/health", herald.ScopeRead},
		{"GET", "/v1/topics", herald.ScopeRead},
		{"POST", "/v1/keys", herald.ScopeAdmin},
		{"GET", "/v1/keys", herald.ScopeAdmin},
		{"DELETE", "/v1/keys/{id}", herald.ScopeAdmin},
	}
	table := map[string]bool{}
	for _, rt := range routes {
		table[rt.method+" "+rt.path] = true
	}
	for _, rt := range s.routes {
		if !rt.public && !table[rt.method+" "+rt.path] {
			t.Errorf("route %s %s has no row in this table", rt.method, rt.path)
		}
	}
	fill := strings.NewReplacer("{id}", "n_missing", "{target...}", "nobody@example.com", "{user}", "nobody", "{team}", "Nope")
	for _, rt := range routes {
		for _, k := range keys {
			t.Run(rt.method+" "+rt.path+" "+k.name, func(t *testing.T) {
				t.Parallel()
				w := call(s, rt.method, fill.Replace(rt.path), "Bearer "+k.key)
				allowed := false
				for _, h := range k.has {
					allowed = allowed || h == rt.scope
				}
				switch {
				case allowed && (w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden):
					t.Errorf("status %d, want the route's own answer: %s", w.Code, w.Body)
				case !allowed && (w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"code":"forbidden"`) ||
					!strings.Contains(w.Body.String(), "the "+string(rt.scope)+" scope")):
					t.Errorf("status %d, want 403 naming the %s scope: %s", w.Code, rt.scope, w.Body)
				}
			})
		}
	}
}

// TestUnroutedScoped checks that a key of any scope gets 404 and 405
// for routes that do not exist, not 403.
func TestUnroutedScoped(t *testing.T) {
	t.Parallel()
	s, st := idleServer(t, Config{})
	_, read := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/nothing", http.StatusNotFound},
		{http.MethodDelete, "/v1/notifications/n_1", http.StatusMethodNotAllowed},
		{http.MethodPut, "/v1/keys", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		if w := call(s, tt.method, tt.path, "Bearer "+read); w.Code != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, w.Code, tt.status, w.Body)
		}
	}
}

// TestStoredKeyAuth checks the 401s of stored keys: unknown, wrong
// secret, revoked, and not Herald's format.
func TestStoredKeyAuth(t *testing.T) {
	t.Parallel()
	s, st := idleServer(t, Config{})
	k, good := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	gone, revoked := storeKey(t, st, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	if _, err := st.APIKeyRevoke(context.Background(), gone.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, other, _ := herald.NewAPIKey(herald.APIKey{}, time.Now())
	tests := []struct {
		name, key string
		want      int
	}{
		{"live", good, 200},
		{"wrong secret, right id", good[:len(good)-4] + "AAAA", 401},
		{"never stored", other, 401},
		{"revoked", revoked, 401},
		{"truncated", good[:40], 401},
	}
	for _, tt := range tests {
		w := call(s, http.MethodGet, "/v1/teams", "Bearer "+tt.key)
		if w.Code != tt.want || (tt.want == 401 && w.Header().Get("WWW-Authenticate") == "") {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
		}
	}
	got, err := st.APIKeyGet(context.Background(), k.ID)
	if err != nil || got.LastUsedAt.IsZero() {
		t.Errorf("last use not recorded: %+v, %v", got, err)
	}
}

// TestKeyManagement makes, lists and revokes keys through the API.
func TestKeyManagement(t *testing.T) {
	t.Parallel()
	s, st := idleServer(t, Config{})
	do := func(method, path, auth, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+auth)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := do("POST", "/v1/keys", testKey, `{"name":"ci","scopes":["send","read"],"topics":["deploys"],"audiences":["team:Eng"]}`)
	var made api.NewKey
	if w.Code != http.StatusCreated || decodeInto(t, w, &made) != nil || !strings.HasPrefix(made.Secret, herald.APIKeyPrefix) ||
		made.Name != "ci" || len(made.Topics) != 1 || made.Revoked {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/v1/keys", made.Secret, ""); w.Code != http.StatusForbidden {
		t.Errorf("a send+read key listed keys: %d", w.Code)
	}
	if w := do("GET", "/v1/notifications", made.Secret, ""); w.Code != http.StatusOK {
		t.Errorf("the new key cannot read: %d %s", w.Code, w.Body)
	}
	list := do("GET", "/v1/keys", testKey, "")
	if list.Code != 200 || !strings.Contains(list.Body.String(), made.ID) || strings.Contains(list.Body.String(), made.Secret) ||
		strings.Contains(list.Body.String(), "hash") {
		t.Errorf("list: %d %s", list.Code, list.Body)
	}
	for i := 0; i < 2; i++ {
		w := do("DELETE", "/v1/keys/"+made.ID, testKey, "")
		var k api.Key
		if w.Code != 200 || decodeInto(t, w, &k) != nil || !k.Revoked {
			t.Errorf("revoke %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := do("GET", "/v1/notifications", made.Secret, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("revoked key still works: %d", w.Code)
	}
	refused := []struct{ name, body, field string }{
		{"no scopes", `{"name":"x"}`, "scopes"},
		{"unknown scope", `{"name":"x","scopes":["write"]}`, "scopes[0]"},
		{"critical on a read key", `{"name":"x","scopes":["read"],"critical":true}`, "scopes"},
		{"unknown member", `{"name":"x","scopes":["read"],"expires":"1d"}`, "expires"},
	}
	for _, tt := range refused {
		w := do("POST", "/v1/keys", testKey, tt.body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %d %s", tt.name, w.Code, w.Body)
		}
	}
	if w := do("DELETE", "/v1/keys/k_missing", testKey, ""); w.Code != 404 {
		t.Errorf("revoke missing: %d", w.Code)
	}
	if ks, _ := st.APIKeyList(context.Background()); len(ks) != 1 {
		t.Errorf("refused requests stored keys: %d keys", len(ks))
	}
}

// decodeInto decodes a recorded JSON answer.
func decodeInto(t *testing.T, w *httptest.ResponseRecorder, v any) error {
	t.Helper()
	reply{status: w.Code, body: w.Body.Bytes()}.decode(t, v)
	return nil
}

// keyConformanceCases are the requests of TestOpenAPIConformance about
// keys: a 403 from every route for a key without its scope, and every
// answer of the key routes. id is a stored notification.
func keyConformanceCases(t *testing.T, b *bundle, id string) []conformanceCase {
	t.Helper()
	_, send := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeSend)})
	_, read := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	victim, _ := storeKey(t, b.store, herald.APIKey{Scopes: scopes(herald.ScopeRead)})
	as := func(key string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	}
	js := map[string]string{"Content-Type": "application/json"}
	var cases []conformanceCase
	for _, rt := range b.srv.routes {
		if rt.public {
			continue
		}
		key := read
		if routeScope(rt.method, rt.path) == herald.ScopeRead {
			key = send
		}
		path := strings.NewReplacer("{id}", id, "{target...}", "nobody@example.com", "{user}", "nobody", "{team}", "Nope").Replace(rt.path)
		cases = append(cases, conformanceCase{req: req{method: rt.method, path: path, body: "{}", header: as(key)}})
	}
	return append(cases,
		conformanceCase{req: req{method: "POST", path: "/v1/keys", body: `{"name":"oas","scopes":["send"],"topics":["deploys"],"critical":true}`, header: js}},
		conformanceCase{req: req{method: "POST", path: "/v1/keys", body: `{"name":"oas","scopes":["sudo"]}`, header: js}},
		conformanceCase{req: req{method: "POST", path: "/v1/keys", body: `{}`, noAuth: true}},
		conformanceCase{req: req{method: "POST", path: "/v1/keys", body: `<k/>`, header: map[string]string{"Content-Type": "application/xml"}}},
		conformanceCase{req: req{method: "GET", path: "/v1/keys"}},
		conformanceCase{req: req{method: "GET", path: "/v1/keys?x=1"}},
		conformanceCase{req: req{method: "GET", path: "/v1/keys", noAuth: true}},
		conformanceCase{req: req{method: "DELETE", path: "/v1/keys/" + victim.ID}},
		conformanceCase{req: req{method: "DELETE", path: "/v1/keys/" + victim.ID + "?x=1"}},
		conformanceCase{req: req{method: "DELETE", path: "/v1/keys/" + victim.ID, noAuth: true}},
		conformanceCase{req: req{method: "DELETE", path: "/v1/keys/k_missing"}},
	)
}

// TestOpenAPIScopes checks that the document names, in each operation's
// security, the scope the route needs.
func TestOpenAPIScopes(t *testing.T) {
	t.Parallel()
	d := loadOAS(t)
	s, _ := idleServer(t, Config{})
	ops := d.operations()
	for _, rt := range s.routes {
		if rt.public {
			continue
		}
		key := docKey(rt.method + " " + rt.path)
		sec, _ := ops[key]["security"].([]any)
		var got []any
		if len(sec) == 1 {
			req, _ := sec[0].(map[string]any)
			got, _ = req["bearer"].([]any)
		}
		if want := routeScope(rt.method, rt.path); len(got) != 1 || got[0] != string(want) {
			t.Errorf("%s: documented security %v, want bearer [%s]", key, sec, want)
		}
	}
}
