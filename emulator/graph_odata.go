package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// OData query options, as Graph reads them (teams-protocol-2026.md §1.2).
const (
	defaultGraphPage = 100
	maxGraphPage     = 999
)

// odataQuery is a request's parsed query options.
type odataQuery struct {
	selected   []string // $select, nil when absent
	top        int      // $top, 0 when absent
	filter     *filterNode
	filterText string
	expand     []string
	count      bool   // $count=true
	advanced   bool   // ConsistencyLevel: eventual with $count=true
	skipToken  string // $skiptoken
	deltaToken string // $deltatoken
	hasDelta   bool   // $deltatoken present (maybe empty)
	search     string
	orderBy    string
}

var odataOptions = []string{"$select", "$top", "$filter", "$expand", "$count", "$skiptoken", "$deltatoken", "$search", "$orderby", "$skip", "$format"}

// parseODataQuery reads the query options every Graph route shares;
// routes check which they support.
func parseODataQuery(r *http.Request) (odataQuery, error) {
	var q odataQuery
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, gBadRequest("Invalid query string: %v", err)
	}
	for k := range vals {
		if strings.HasPrefix(k, "$") && !slices.Contains(odataOptions, strings.ToLower(k)) {
			return q, gErr(http.StatusBadRequest, "BadRequest", "Query option '%s' is not allowed. Make sure that the query option name is spelled correctly.", k)
		}
	}
	get := func(k string) string {
		for name, v := range vals {
			if strings.EqualFold(name, k) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	has := func(k string) bool {
		for name := range vals {
			if strings.EqualFold(name, k) {
				return true
			}
		}
		return false
	}
	if has("$skip") {
		return q, gErr(http.StatusBadRequest, "Request_BadRequest", "'$skip' is not supported by the service.")
	}
	if s := get("$select"); s != "" {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				q.selected = append(q.selected, p)
			}
		}
	}
	if s := get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxGraphPage {
			return q, gErr(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", s, maxGraphPage)
		}
		q.top = n
	}
	if s := get("$expand"); s != "" {
		for _, p := range strings.Split(s, ",") {
			q.expand = append(q.expand, strings.TrimSpace(p))
		}
	}
	q.count = strings.EqualFold(get("$count"), "true")
	q.advanced = q.count && strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")
	q.skipToken, q.deltaToken, q.hasDelta = get("$skiptoken"), get("$deltatoken"), has("$deltatoken")
	q.search, q.orderBy = get("$search"), get("$orderby")
	if q.search != "" && !q.advanced {
		return q, gErr(http.StatusBadRequest, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	}
	if q.filterText = get("$filter"); q.filterText != "" {
		if q.filter, err = parseFilter(q.filterText); err != nil {
			return q, err
		}
		if q.filter.advancedOnly() && !q.advanced {
			return q, gErr(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Unsupported or invalid query filter clause specified for this resource: ne, not and endsWith need the advanced query capabilities ('ConsistencyLevel: eventual' and '$count=true').")
		}
	}
	return q, nil
}

// only refuses options a route does not support.
func (q odataQuery) only(allowed ...string) error {
	opts := []struct {
		name string
		set  bool
	}{{"$select", q.selected != nil}, {"$top", q.top > 0}, {"$filter", q.filter != nil}, {"$expand", q.expand != nil},
		{"$search", q.search != ""}, {"$orderby", q.orderBy != ""}, {"$deltatoken", q.hasDelta}}
	for _, o := range opts {
		if o.set && !slices.Contains(allowed, o.name) {
			return gErr(http.StatusBadRequest, "Request_BadRequest", "The query option '%s' is not supported on this resource.", o.name)
		}
	}
	return nil
}

// pageSize is $top, or def.
func (q odataQuery) pageSize(def int) int {
	if q.top > 0 {
		return q.top
	}
	return def
}

// project returns the properties of obj that $select names (id always),
// or the defaults when there is no $select. It refuses unknown properties
// and, on collections, properties Graph returns only for one object.
func (q odataQuery) project(obj map[string]any, typ string, defaults, known, singleOnly []string, collection bool) (map[string]any, error) {
	keep := defaults
	if q.selected != nil {
		keep = q.selected
	}
	out := map[string]any{}
	for k, v := range obj {
		if strings.HasPrefix(k, "@") {
			out[k] = v
		}
	}
	out["id"] = obj["id"]
	for _, p := range keep {
		name, ok := propName(p, known)
		switch {
		case !ok && slices.Contains(singleOnly, p):
			if collection {
				return nil, gErr(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported: the property '%s' is only returned when a single %s is read.", p, typ)
			}
			out[p] = nil
		case !ok:
			return nil, gErr(http.StatusBadRequest, "Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, typ)
		default:
			out[name] = obj[name]
		}
	}
	return out, nil
}

// propName finds p among known, ignoring case as Graph does.
func propName(p string, known []string) (string, bool) {
	for _, k := range known {
		if strings.EqualFold(k, p) {
			return k, true
		}
	}
	return "", false
}

// checkSelect refuses a $select naming properties the type lacks.
func (q odataQuery) checkSelect(typ string, known, singleOnly []string, collection bool) error {
	_, err := q.project(map[string]any{}, typ, nil, known, singleOnly, collection)
	return err
}

// pageState is what a $skiptoken or $deltatoken carries. Clients treat
// it as opaque; it is base64url JSON.
type pageState struct {
	Tenant string   `json:"t,omitempty"`
	Pos    int      `json:"p,omitempty"`   // next position in the listing
	Since  uint64   `json:"s,omitempty"`   // delta: changes after this seq…
	Upto   uint64   `json:"u,omitempty"`   // …up to this one
	Epoch  int      `json:"e,omitempty"`   // delta: the tenant's delta epoch
	Select []string `json:"sel,omitempty"` // delta: the first call's $select
	At     int64    `json:"at,omitempty"`  // delta: when the token was issued (Unix s)
	Key    string   `json:"k,omitempty"`   // what the listing is of
}

func (p pageState) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageState(tok string) (pageState, bool) {
	var p pageState
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Pos < 0 {
		return p, false
	}
	return p, true
}

// linkWith returns the request's URL on the emulator with param set to
// tok and the other paging tokens dropped: an @odata.nextLink or
// @odata.deltaLink. "$" stays literal and spaces are %20, as Graph writes
// its links.
func (e *Emulator) linkWith(r *http.Request, keep bool, param, tok string) string {
	vals, _ := url.ParseQuery(r.URL.RawQuery)
	var parts []string
	if keep {
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.EqualFold(k, "$skiptoken") || strings.EqualFold(k, "$deltatoken") {
				continue
			}
			for _, v := range vals[k] {
				parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
			}
		}
	}
	parts = append(parts, param+"="+tok)
	return e.BaseURL() + r.URL.Path + "?" + strings.Join(parts, "&")
}
