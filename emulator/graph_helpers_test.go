package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/emulator"
)

// graphClient calls the emulator's Graph routes with an app-only token of
// one tenant.
type graphClient struct {
	b   *bundle
	tok string
}

// tokenFor runs the client-credentials grant for scope against tenant and
// returns the status and decoded body.
func (b *bundle) tokenFor(t *testing.T, tenant, scope string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(b.em.TokenURL(tenant), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {emulator.DefaultAppID},
		"client_secret": {emulator.DefaultAppSecret}, "scope": {scope},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// graphFor returns a client with a Graph token for tenant.
func (b *bundle) graphFor(t *testing.T, tenant string) *graphClient {
	t.Helper()
	status, body := b.tokenFor(t, tenant, "https://graph.microsoft.com/.default")
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("graph token: %d %v", status, body)
	}
	return &graphClient{b: b, tok: tok}
}

// demoGraph seeds the demo and returns it with a Graph client for Contoso.
func (b *bundle) demoGraph(t *testing.T) (emulator.DemoSeed, *graphClient) {
	t.Helper()
	d := b.demo(t)
	return d, b.graphFor(t, d.TenantID)
}

// do sends a Graph request; path is relative to the Graph root (or a full
// URL, as nextLinks are) and already escaped; hdr are name, value pairs.
func (g *graphClient) do(t *testing.T, method, path string, body any, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		j, _ := json.Marshal(v)
		rd = bytes.NewReader(j)
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = g.b.em.GraphURL() + path
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if g.tok != "" {
		req.Header.Set("Authorization", "Bearer "+g.tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// get insists on 200 and decodes the object.
func (g *graphClient) get(t *testing.T, path string, hdr ...string) map[string]any {
	t.Helper()
	r := g.do(t, "GET", path, nil, hdr...)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var v map[string]any
	r.decode(t, &v)
	return v
}

// pages follows @odata.nextLink from path and returns every value and the
// size of each page.
func (g *graphClient) pages(t *testing.T, path string, hdr ...string) ([]map[string]any, []int) {
	t.Helper()
	var all []map[string]any
	var sizes []int
	for next := path; next != ""; {
		page := g.get(t, next, hdr...)
		vals := values(t, page)
		all = append(all, vals...)
		sizes = append(sizes, len(vals))
		next, _ = page["@odata.nextLink"].(string)
		if len(sizes) > 1000 {
			t.Fatal("paging does not end")
		}
	}
	return all, sizes
}

// values returns a collection answer's value.
func values(t *testing.T, page map[string]any) []map[string]any {
	t.Helper()
	raw, ok := page["value"].([]any)
	if !ok {
		t.Fatalf("no value in %v", page)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// errorMessage returns error.message of a Graph error body.
func (r reply) errorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Message
}

// installBind is the body of an install of the tenant's catalog app.
func installBind(em *emulator.Emulator, tenantID string) map[string]any {
	return map[string]any{"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/" + em.CatalogAppID(tenantID)}
}

// ids returns the "id" of each object.
func ids(objs []map[string]any) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i], _ = o["id"].(string)
	}
	return out
}
