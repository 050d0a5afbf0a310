package emulator

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Teams service plans (teams-protocol-2026.md §1.4).
const (
	// TeamsServicePlanID is the commercial Teams plan (TEAMS1), service
	// TeamspaceAPI, in assignedPlans of licensed users.
	TeamsServicePlanID    = "57ff2da0-773e-42df-b2af-ffb7a2317929"
	exchangeServicePlanID = "efb87545-963c-4e0d-99df-69c6916d9eb0"
	planAssigned          = "2025-01-06T09:00:00Z"
)

// User properties: the defaults Graph returns, the others it returns only
// on $select, and those it returns only when one user is read.
var (
	userDefaults = []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
		"officeLocation", "preferredLanguage", "surname", "userPrincipalName"}
	userKnown      = append(slices.Clone(userDefaults), "accountEnabled", "userType", "assignedPlans", "usageLocation", "otherMails", "proxyAddresses")
	userSingleOnly = []string{"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
		"responsibilities", "schools", "skills", "mailboxSettings"}
)

// graphUserObject is every property of u the emulator models, in Graph's
// shapes (arrays as []any, so $filter lambdas can walk them).
func graphUserObject(u *user) map[string]any {
	userType := "Member"
	if u.dir.Guest {
		userType = "Guest"
	}
	plans := []any{map[string]any{"assignedDateTime": planAssigned, "capabilityStatus": "Enabled",
		"service": "exchange", "servicePlanId": exchangeServicePlanID}}
	if !u.dir.NoTeamsLicense {
		plans = append(plans, map[string]any{"assignedDateTime": planAssigned, "capabilityStatus": "Enabled",
			"service": "TeamspaceAPI", "servicePlanId": TeamsServicePlanID})
	}
	var usage any
	if c := country(u.locale); c != "" {
		usage = c
	}
	return map[string]any{
		"id": u.aadObjectID, "displayName": u.name, "givenName": u.givenName, "surname": u.surname,
		"mail": u.email, "userPrincipalName": u.upn, "preferredLanguage": u.locale, "businessPhones": []any{},
		"jobTitle": nil, "mobilePhone": nil, "officeLocation": nil, "usageLocation": usage,
		"accountEnabled": !u.dir.AccountDisabled, "userType": userType, "assignedPlans": plans,
		"otherMails": []any{}, "proxyAddresses": []any{"SMTP:" + u.email},
	}
}

// projectUser is u as a request's $select asks for it.
func projectUser(q odataQuery, u *user, collection bool) (map[string]any, error) {
	return q.project(graphUserObject(u), "user", userDefaults, userKnown, userSingleOnly, collection)
}

// checkUserQuery refuses $select and $filter naming unknown properties.
func checkUserQuery(q odataQuery, collection bool) error {
	if err := q.checkSelect("user", userKnown, userSingleOnly, collection); err != nil {
		return err
	}
	for _, p := range q.filter.properties() {
		if _, ok := propName(p, userKnown); !ok {
			return gErr(http.StatusBadRequest, "Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.user'.", p)
		}
	}
	return nil
}

// graphUser finds a user of the call's tenant by Entra object id or UPN,
// as /users/{id | userPrincipalName} does. Caller holds e.mu.
func (e *Emulator) graphUser(c *graphCall, key string) (*user, error) {
	u := e.findUser(key)
	if u == nil || u.tenantID != c.tenant.id || u.dir.deleted ||
		!strings.EqualFold(key, u.aadObjectID) && !strings.EqualFold(key, u.upn) {
		return nil, gNotFound(key)
	}
	return u, nil
}

// gGetUser is GET /users/{id | userPrincipalName}.
func (e *Emulator) gGetUser(c *graphCall) (graphResult, error) {
	key := c.r.PathValue("id")
	if key == "$count" {
		return e.gCountUsers(c)
	}
	if err := c.q.only("$select"); err != nil {
		return graphResult{}, err
	}
	if err := checkUserQuery(c.q, false); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.graphUser(c, key)
	if err != nil {
		return graphResult{}, err
	}
	obj, err := projectUser(c.q, u, false)
	if err != nil {
		return graphResult{}, err
	}
	obj["@odata.context"] = e.odataContext("users/$entity")
	return graphResult{status: http.StatusOK, body: obj}, nil
}

// gCountUsers is GET /users/$count, an advanced query only.
func (e *Emulator) gCountUsers(c *graphCall) (graphResult, error) {
	if !strings.EqualFold(c.r.Header.Get("ConsistencyLevel"), "eventual") {
		return graphResult{}, gErr(http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
	}
	e.mu.Lock()
	n := e.countUsers(c, c.q)
	e.mu.Unlock()
	return graphResult{status: http.StatusOK, text: strconv.Itoa(n)}, nil
}

// gListUsers is GET /users: pages of $top (default 100, at most 999)
// linked by @odata.nextLink, $select, $filter, $search and $count as
// Graph allows them without and with advanced queries.
func (e *Emulator) gListUsers(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select", "$top", "$filter", "$search"); err != nil {
		return graphResult{}, err
	}
	if err := checkUserQuery(c.q, true); err != nil {
		return graphResult{}, err
	}
	st := pageState{}
	if c.q.skipToken != "" {
		var ok bool
		if st, ok = decodePageState(c.q.skipToken); !ok || st.Tenant != c.tenant.id || st.Key != "users" {
			return graphResult{}, gErr(http.StatusBadRequest, "Request_BadRequest", "The skip token is not valid for this request.")
		}
	}
	size := c.q.pageSize(defaultGraphPage)
	e.mu.Lock()
	defer e.mu.Unlock()
	it := e.userIterator(c.tenant, c.q)
	var page []any
	pos := st.Pos
	for ; pos < it.n && len(page) < size; pos++ {
		u := it.at(pos)
		if u == nil || !e.userMatches(u, c.q) {
			continue
		}
		obj, err := projectUser(c.q, u, true)
		if err != nil {
			return graphResult{}, err
		}
		page = append(page, obj)
	}
	body := map[string]any{"@odata.context": e.odataContext("users"), "value": nonNil(page)}
	if c.q.advanced {
		body["@odata.count"] = e.countUsers(c, c.q)
	}
	if pos < it.n {
		body["@odata.nextLink"] = e.linkWith(c.r, true, "$skiptoken", pageState{Tenant: c.tenant.id, Key: "users", Pos: pos}.encode())
	}
	return graphResult{status: http.StatusOK, body: body}, nil
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// userMatches applies $filter and $search to u (not deleted). Caller holds
// e.mu.
func (e *Emulator) userMatches(u *user, q odataQuery) bool {
	if u.dir.deleted {
		return false
	}
	if q.filter == nil && q.search == "" {
		return true
	}
	obj := graphUserObject(u)
	return (q.filter == nil || q.filter.match(obj, nil)) && searchMatch(obj, q.search)
}

// countUsers counts the users of the call's tenant a query matches.
// Caller holds e.mu.
func (e *Emulator) countUsers(c *graphCall, q odataQuery) int {
	it := e.userIterator(c.tenant, q)
	n := 0
	for i := range it.n {
		if u := it.at(i); u != nil && e.userMatches(u, q) {
			n++
		}
	}
	return n
}

// userIterator walks the users a query can match, by position: the
// tenant's users in creation order (generated ones after the others), or,
// for a filter that only names ids, mails and UPNs, just those users.
type userIterator struct {
	n  int
	at func(i int) *user
}

func (e *Emulator) userIterator(t *tenant, q odataQuery) userIterator {
	if keys, ok := directKeys(q.filter); ok {
		var users []*user
		for _, k := range keys {
			if u := e.findUser(k); u != nil && u.tenantID == t.id && !slices.Contains(users, u) {
				users = append(users, u)
			}
		}
		return userIterator{n: len(users), at: func(i int) *user { return users[i] }}
	}
	return userIterator{n: t.userCount(), at: func(i int) *user { return e.tenantUser(t, i) }}
}

// directKeys returns the ids, mails and UPNs a filter made only of "eq"
// and "in" on id, mail and userPrincipalName, joined by or, names.
func directKeys(n *filterNode) ([]string, bool) {
	if n == nil {
		return nil, false
	}
	switch n.kind {
	case "or":
		l, ok := directKeys(n.left)
		r, ok2 := directKeys(n.right)
		return append(l, r...), ok && ok2
	case "cmp", "in":
		if n.kind == "cmp" && n.cmp != "eq" {
			return nil, false
		}
		if _, ok := propName(n.path, []string{"id", "mail", "userPrincipalName"}); !ok {
			return nil, false
		}
		var out []string
		for _, l := range append([]any{n.lit}, n.lits...) {
			if s, ok := l.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}

// searchMatch applies an advanced $search ("displayName:ali" clauses
// joined by AND and OR; each matches a word prefix or a substring) to obj.
func searchMatch(obj map[string]any, search string) bool {
	search = strings.TrimSpace(search)
	if search == "" {
		return true
	}
	for _, alt := range strings.Split(search, " OR ") {
		all := true
		for _, term := range strings.Split(alt, " AND ") {
			prop, val, ok := strings.Cut(strings.Trim(strings.TrimSpace(term), `"`), ":")
			s, _ := lookup(obj, nil, prop).(string)
			all = all && ok && strings.Contains(strings.ToLower(s), strings.ToLower(val))
		}
		if all {
			return true
		}
	}
	return false
}

// gOrganization is GET /organization: the token's tenant with its verified
// domains (the mail domain, default, and the initial onmicrosoft.com one).
func (e *Emulator) gOrganization(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select"); err != nil {
		return graphResult{}, err
	}
	known := []string{"id", "displayName", "verifiedDomains", "tenantType", "countryLetterCode", "createdDateTime"}
	org := map[string]any{"id": c.tenant.id, "displayName": c.tenant.name, "verifiedDomains": verifiedDomains(c.tenant),
		"tenantType": "AAD", "countryLetterCode": "US", "createdDateTime": planAssigned}
	obj, err := c.q.project(org, "organization", known, known, nil, true)
	if err != nil {
		return graphResult{}, err
	}
	return graphResult{status: http.StatusOK, body: map[string]any{"@odata.context": e.odataContext("organization"), "value": []any{obj}}}, nil
}

func verifiedDomains(t *tenant) []any {
	initial := InitialDomain(t.domain)
	out := []any{map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true,
		"isInitial": t.domain == initial, "name": t.domain, "type": "Managed"}}
	if t.domain != initial {
		out = append(out, map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false,
			"isInitial": true, "name": initial, "type": "Managed"})
	}
	return out
}

// InitialDomain returns a tenant's initial domain ("contoso.onmicrosoft.com"),
// where guests' UPNs live.
func InitialDomain(mailDomain string) string {
	return strings.Split(strings.ToLower(mailDomain), ".")[0] + ".onmicrosoft.com"
}
