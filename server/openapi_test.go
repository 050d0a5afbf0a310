package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/emulator"
)

// oasDoc is the parsed OpenAPI document with a small checker of JSON
// values against its schemas: types, required properties, enums, const,
// additionalProperties, items and date-time formats.
type oasDoc struct {
	root map[string]any
}

func loadOAS(t *testing.T) *oasDoc {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(openAPIDoc, &root); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &oasDoc{root: root}
}

// resolve follows a local $ref.
func (d *oasDoc) resolve(node map[string]any) (map[string]any, error) {
	for i := 0; i < 10; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("non-local $ref %q", ref)
		}
		var cur any = d.root
		for _, p := range strings.Split(ref[2:], "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
			if cur, ok = m[p]; !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
		}
		if node, ok = cur.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %q is not an object", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// check validates v (decoded with UseNumber) against schema.
func (d *oasDoc) check(schemaNode any, v any, path string) []string {
	sm, ok := schemaNode.(map[string]any)
	if !ok {
		return []string{path + ": schema is not an object"}
	}
	s, err := d.resolve(sm)
	if err != nil {
		return []string{path + ": " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if types := schemaTypes(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		fail("is %s, want %v", jsonType(v), types)
		return errs
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v is not %v", v, c)
	}
	if s["format"] == "date-time" {
		if str, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := x[r]; !ok {
				fail("lacks required %q", r)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := path + "." + k
			if ps, ok := props[k]; ok {
				errs = append(errs, d.check(ps, x[k], sub)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, sub+": not documented")
				}
			case map[string]any:
				errs = append(errs, d.check(ap, x[k], sub)...)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range x {
				errs = append(errs, d.check(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func schemaTypes(t any) []string {
	switch x := t.(type) {
	case string:
		return []string{x}
	case []any:
		return asStrings(x)
	}
	return nil
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// operations lists the document's operations as "METHOD /path".
func (d *oasDoc) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := d.root["paths"].(map[string]any)
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			out[strings.ToUpper(m)+" "+p] = op.(map[string]any)
		}
	}
	return out
}

// docKey turns a mux pattern ("POST /v1/send/{target...}") into the
// document's key ("POST /v1/send/{target}").
func docKey(pattern string) string { return strings.ReplaceAll(pattern, "...}", "}") }

// TestOpenAPIRoutes checks that the document and the route table describe
// the same operations, with the same authentication, and that every $ref
// of the document resolves.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	d := loadOAS(t)
	if d.root["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", d.root["openapi"])
	}
	s, _ := idleServer(t, Config{})
	ops := d.operations()
	routed := map[string]bool{}
	for _, rt := range s.routes {
		key := docKey(rt.method + " " + rt.path)
		routed[key] = true
		op, ok := ops[key]
		if !ok {
			t.Errorf("route %s is not documented", key)
			continue
		}
		sec, hasSec := op["security"].([]any)
		public := hasSec && len(sec) == 0
		if public != rt.public {
			t.Errorf("%s: documented public=%v, routed public=%v", key, public, rt.public)
		}
	}
	var ids []string
	for key, op := range ops {
		if !routed[key] {
			t.Errorf("documented %s is not routed", key)
		}
		id, _ := op["operationId"].(string)
		if id == "" || slices.Contains(ids, id) {
			t.Errorf("%s: operationId %q missing or repeated", key, id)
		}
		ids = append(ids, id)
		if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
			t.Errorf("%s documents no responses", key)
		}
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["$ref"]; ok {
				if _, err := d.resolve(x); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, e := range x {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d.root, "#")
}

// conformanceCase is one request of TestOpenAPIConformance.
type conformanceCase struct {
	req
	setup, teardown func()
}

// TestOpenAPIConformance sends requests that together produce every
// documented status of every operation, and checks each answer against
// the document: the status is documented for the operation the mux routed
// the request to, and the body validates against the documented schema
// of its media type.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	d := loadOAS(t)
	b := newBundle(t)
	alice, bob := b.user("Alice Oas"), b.user("Bob Oas")
	b.team("Research", []person{alice, bob}, "Papers")
	other, err := b.emu.AddTenant(emulator.TenantSpec{Name: "Fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	// The emulator refuses a second user with the same email, but a
	// directory spanning tenants can hold one.
	if _, err := b.store.UserUpsert(b.ctx, herald.UserUpsertParams{ID: "29:twin", TenantID: other.ID, Name: "Bob Twin", Email: bob.Email}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"19:d1@thread.tacv2", "19:d2@thread.tacv2"} {
		if _, err := b.store.TeamUpsert(b.ctx, herald.TeamUpsertParams{ID: id, TenantID: b.tenant, Name: "Dup"}); err != nil {
			t.Fatal(err)
		}
	}
	n := b.sendJSON(fmt.Sprintf(`{"audience":{"users":[%q,"ghost@nowhere.example"]},"content":{"text":"hi"},"title":"t"}`, alice.Email))
	b.wait(n.ID)
	id := n.ID
	ae := url.PathEscape(alice.Email)
	be := url.PathEscape(bob.Email)
	js := map[string]string{"Content-Type": "application/json"}
	xml := map[string]string{"Content-Type": "application/xml"}
	big := strings.Repeat("x", 1<<20+10)
	notStarted := func() { b.started.Store(false) }
	started := func() { b.started.Store(true) }
	good := fmt.Sprintf(`{"audience":{"users":[%q]},"content":{"structured":{"title":"Deploy"}},"topic":"deploys"}`, alice.Email)
	cases := []conformanceCase{
		{req: req{method: "GET", path: "/healthz", noAuth: true}},
		{req: req{method: "GET", path: "/readyz", noAuth: true}},
		{req: req{method: "GET", path: "/readyz", noAuth: true}, setup: notStarted, teardown: started},
		{req: req{method: "GET", path: "/metrics", noAuth: true}},
		{req: req{method: "GET", path: "/v1/openapi.json", noAuth: true}},

		{req: req{method: "POST", path: "/v1/notifications", body: good, header: js}},
		{req: req{method: "POST", path: "/v1/notifications", body: `{"content":{}}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications", body: good, noAuth: true}},
		{req: req{method: "POST", path: "/v1/notifications", body: `{"x":"` + big + `"}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications", body: good, header: xml}},
		{req: req{method: "POST", path: "/v1/notifications", body: strings.Replace(good, `"topic"`, `"strict":true,"topic"`, 1), header: js}},
		{req: req{method: "GET", path: "/v1/notifications"}},
		{req: req{method: "GET", path: "/v1/notifications?state=done"}},
		{req: req{method: "GET", path: "/v1/notifications?order=newest&welcomes=false"}},
		{req: req{method: "GET", path: "/v1/notifications", noAuth: true}},
		{req: req{method: "GET", path: "/v1/notifications/" + id}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "?wait=1s"}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "?wait=1h"}},
		{req: req{method: "GET", path: "/v1/notifications/" + id, noAuth: true}},
		{req: req{method: "GET", path: "/v1/notifications/n_missing"}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "/deliveries?limit=1"}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "/deliveries", header: map[string]string{"Accept": "text/csv"}}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "/deliveries?state=x"}},
		{req: req{method: "GET", path: "/v1/notifications/" + id + "/deliveries", noAuth: true}},
		{req: req{method: "GET", path: "/v1/notifications/n_missing/deliveries"}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/cancel"}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/cancel?x=1"}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/cancel", noAuth: true}},
		{req: req{method: "POST", path: "/v1/notifications/n_missing/cancel"}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/retry", body: `{"uncertain":true}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/retry", body: `{"all":true}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/retry", noAuth: true}},
		{req: req{method: "POST", path: "/v1/notifications/n_missing/retry"}},
		{req: req{method: "POST", path: "/v1/notifications/" + id + "/retry", body: `<all/>`, header: xml}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: "hello", header: map[string]string{"X-Title": "T"}}},
		{req: req{method: "POST", path: "/v1/send/channel:Research/Papers?priority=high", body: "to the channel"}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: ""}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: "x", noAuth: true}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: big}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: "first", header: map[string]string{"Idempotency-Key": "oas-reuse"}}},
		{req: req{method: "POST", path: "/v1/send/" + ae, body: "second", header: map[string]string{"Idempotency-Key": "oas-reuse"}}},
		{req: req{method: "POST", path: "/v1/send/teams:Research", body: "x"}},
		{req: req{method: "POST", path: "/v1/send/conversation:19:nowhere@thread.v2", body: "x"}},
		{req: req{method: "POST", path: "/v1/notifications", body: `{"audience":{"conversations":["19:nowhere@thread.v2","a:1gone"]},"content":{"text":"x"}}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications", body: `{"audience":{"conversations":["Research"]},"content":{"text":"x"}}`, header: js}},
		{req: req{method: "POST", path: "/v1/notifications", body: good, header: map[string]string{"Content-Type": "application/json", "Idempotency-Key": "oas-reuse"}}},

		{req: req{method: "GET", path: "/v1/users?q=oas"}},
		{req: req{method: "GET", path: "/v1/users?limit=0"}},
		{req: req{method: "GET", path: "/v1/users", noAuth: true}},
		{req: req{method: "GET", path: "/v1/users?team=Nope"}},
		{req: req{method: "GET", path: "/v1/users/" + ae}},
		{req: req{method: "GET", path: "/v1/users/" + ae + "?x=1"}},
		{req: req{method: "GET", path: "/v1/users/" + ae, noAuth: true}},
		{req: req{method: "GET", path: "/v1/users/nobody"}},
		{req: req{method: "GET", path: "/v1/users/" + be}},
		{req: req{method: "PATCH", path: "/v1/users/" + ae + "/preferences", body: `{"preferences":[{"topic":"deploys","optedOut":true}]}`, header: js}},
		{req: req{method: "GET", path: "/v1/users/" + ae + "/preferences"}},
		{req: req{method: "GET", path: "/v1/users/" + ae + "/preferences?x=1"}},
		{req: req{method: "GET", path: "/v1/users/" + ae + "/preferences", noAuth: true}},
		{req: req{method: "GET", path: "/v1/users/nobody/preferences"}},
		{req: req{method: "PATCH", path: "/v1/users/" + ae + "/preferences", body: `{"preferences":[]}`, header: js}},
		{req: req{method: "PATCH", path: "/v1/users/" + ae + "/preferences", body: `{}`, noAuth: true}},
		{req: req{method: "PATCH", path: "/v1/users/nobody/preferences", body: `{"preferences":[{"topic":"a","optedOut":true}]}`, header: js}},
		{req: req{method: "PATCH", path: "/v1/users/" + ae + "/preferences", body: `<p/>`, header: xml}},
		{req: req{method: "GET", path: "/v1/topics"}},
		{req: req{method: "GET", path: "/v1/topics?x=1"}},
		{req: req{method: "GET", path: "/v1/topics", noAuth: true}},
		{req: req{method: "GET", path: "/v1/teams"}},
		{req: req{method: "GET", path: "/v1/teams?limit=x"}},
		{req: req{method: "GET", path: "/v1/teams", noAuth: true}},
		{req: req{method: "GET", path: "/v1/teams/Research"}},
		{req: req{method: "GET", path: "/v1/teams/Research?x=1"}},
		{req: req{method: "GET", path: "/v1/teams/Research", noAuth: true}},
		{req: req{method: "GET", path: "/v1/teams/Nope"}},
		{req: req{method: "GET", path: "/v1/teams/Dup"}},
		{req: req{method: "GET", path: "/v1/teams/Research/channels"}},
		{req: req{method: "GET", path: "/v1/teams/Research/channels?x=1"}},
		{req: req{method: "GET", path: "/v1/teams/Research/channels", noAuth: true}},
		{req: req{method: "GET", path: "/v1/teams/Nope/channels"}},
		{req: req{method: "GET", path: "/v1/teams/Dup/channels"}},
		{req: req{method: "GET", path: "/v1/conversations"}},
		{req: req{method: "GET", path: "/v1/conversations?type=x"}},
		{req: req{method: "GET", path: "/v1/conversations", noAuth: true}},
		{req: req{method: "GET", path: "/v1/directory/health"}},
		{req: req{method: "GET", path: "/v1/directory/health?team=Research&problem=stale&limit=1&staleDays=1"}},
		{req: req{method: "GET", path: "/v1/directory/health?staleDays=0"}},
		{req: req{method: "GET", path: "/v1/directory/health", noAuth: true}},
		{req: req{method: "GET", path: "/v1/directory/health?team=Nope"}},
		{req: req{method: "GET", path: "/v1/directory/health?team=Dup"}},
	}
	ops := d.operations()
	covered := map[string]bool{}
	for _, c := range cases {
		name := c.method + " " + c.path
		if len(name) > 80 {
			name = name[:80]
		}
		if c.setup != nil {
			c.setup()
		}
		r := b.do(c.req)
		if c.teardown != nil {
			c.teardown()
		}
		probe := httptest.NewRequest(c.method, c.path, nil)
		_, pattern := b.srv.mux.Handler(probe)
		key := docKey(pattern)
		op, ok := ops[key]
		if !ok {
			t.Errorf("%s: routed to %q, which is not documented", name, pattern)
			continue
		}
		status := strconv.Itoa(r.status)
		responses, _ := op["responses"].(map[string]any)
		resp, ok := responses[status].(map[string]any)
		if !ok {
			t.Errorf("%s: status %s is not documented for %s: %s", name, status, key, r.body)
			continue
		}
		covered[key+" "+status] = true
		resp, err := d.resolve(resp)
		if err != nil {
			t.Fatal(err)
		}
		mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
		if err != nil {
			t.Errorf("%s: Content-Type %q: %v", name, r.header.Get("Content-Type"), err)
			continue
		}
		content, _ := resp["content"].(map[string]any)
		media, ok := content[mt].(map[string]any)
		if !ok {
			t.Errorf("%s: media type %s is not documented for %s %s", name, mt, key, status)
			continue
		}
		var v any
		if mt == "application/json" {
			dec := json.NewDecoder(bytes.NewReader(r.body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Errorf("%s: answer is not JSON: %v", name, err)
				continue
			}
		} else {
			v = string(r.body)
		}
		for _, e := range d.check(media["schema"], v, "body") {
			t.Errorf("%s (%s): %s", name, status, e)
		}
	}
	var missing []string
	for key, op := range ops {
		for status := range op["responses"].(map[string]any) {
			if !covered[key+" "+status] {
				missing = append(missing, key+" "+status)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no request answered %s", m)
	}
}

// TestOASChecker makes sure the schema checker can fail.
func TestOASChecker(t *testing.T) {
	t.Parallel()
	d := loadOAS(t)
	ref := map[string]any{"$ref": "#/components/schemas/Channel"}
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		body string
		errs int
	}{
		{`{"id":"c","teamId":"t","name":"General","deleted":false}`, 0},
		{`{"id":"c","teamId":"t","name":"General"}`, 1},
		{`{"id":1,"teamId":"t","name":"General","deleted":false}`, 1},
		{`{"id":"c","teamId":"t","name":"General","deleted":false,"extra":1}`, 1},
		{`[]`, 1},
	}
	for _, tt := range tests {
		if got := d.check(ref, decode(tt.body), "body"); len(got) != tt.errs {
			t.Errorf("%s: %v, want %d errors", tt.body, got, tt.errs)
		}
	}
	n := map[string]any{"$ref": "#/components/schemas/Notification"}
	if got := d.check(n, decode(`{"id":"n","request":{"audience":{},"content":{}},"state":"lost","expanded":true,"createdAt":"x","updatedAt":"2026-01-01T00:00:00Z","counts":{},"progress":{"total":1.5,"done":1,"remainingSeconds":0}}`), "body"); len(got) < 4 {
		t.Errorf("bad notification: %v", got)
	}
}
