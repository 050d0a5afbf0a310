package emulator

import (
	"net/http"
	"strings"
	"unicode"
)

// group is an Entra group that is not a team's: a security group or a
// distribution list, whose members are users and other groups.
type group struct {
	id, tenantID, name, mail, description string
	security                              bool
	members                               []string // users' 29: ids and groups' ids (explicit or teams')
}

// groupView is a group as Graph shows it: an explicit group, or the
// Microsoft 365 group behind a team.
type groupView struct {
	g *group
	t *team
}

func (v groupView) id() string {
	if v.t != nil {
		return v.t.aadGroupID
	}
	return v.g.id
}

// mailNickname is a group's mail local part made from its name.
func mailNickname(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, name)
}

// object is the group in Graph's shape.
func (e *Emulator) groupObject(v groupView) map[string]any {
	if v.t != nil {
		dom := e.tenants[v.t.tenantID].domain
		nick := mailNickname(v.t.name)
		return map[string]any{"id": v.t.aadGroupID, "displayName": v.t.name, "description": v.t.name, "mail": nick + "@" + dom,
			"mailNickname": nick, "mailEnabled": true, "securityEnabled": false, "groupTypes": []any{"Unified"},
			"resourceProvisioningOptions": []any{"Team"}, "proxyAddresses": []any{"SMTP:" + nick + "@" + dom}, "visibility": "Private",
			"createdDateTime": planAssigned}
	}
	g := v.g
	nick, _, _ := strings.Cut(g.mail, "@")
	var mail any
	proxies := []any{}
	if g.mail != "" {
		mail = g.mail
		proxies = append(proxies, "SMTP:"+g.mail)
	}
	return map[string]any{"id": g.id, "displayName": g.name, "description": g.description, "mail": mail,
		"mailNickname": cmpOr(nick, mailNickname(g.name)), "mailEnabled": g.mail != "", "securityEnabled": g.security,
		"groupTypes": []any{}, "resourceProvisioningOptions": []any{}, "proxyAddresses": proxies, "visibility": nil,
		"createdDateTime": planAssigned}
}

var groupProps = []string{"id", "displayName", "description", "mail", "mailNickname", "mailEnabled", "securityEnabled",
	"groupTypes", "resourceProvisioningOptions", "proxyAddresses", "visibility", "createdDateTime"}

// groupsOf lists a tenant's groups: explicit ones, then teams'. Caller
// holds e.mu.
func (e *Emulator) groupsOf(tenantID string) []groupView {
	var out []groupView
	for _, id := range e.directory.groupOrder {
		if g := e.directory.groups[id]; g.tenantID == tenantID {
			out = append(out, groupView{g: g})
		}
	}
	for _, id := range e.teamOrder {
		if t := e.teams[id]; t.tenantID == tenantID {
			out = append(out, groupView{t: t})
		}
	}
	return out
}

// groupByID finds a group of tenant by id, or by mail when byMail. Caller
// holds e.mu.
func (e *Emulator) groupByID(tenantID, key string, byMail bool) (groupView, bool) {
	for _, v := range e.groupsOf(tenantID) {
		if strings.EqualFold(v.id(), key) {
			return v, true
		}
		if m, _ := e.groupObject(v)["mail"].(string); byMail && m != "" && strings.EqualFold(m, key) {
			return v, true
		}
	}
	return groupView{}, false
}

func checkGroupQuery(q odataQuery) error {
	if err := q.checkSelect("group", groupProps, nil, true); err != nil {
		return err
	}
	for _, p := range q.filter.properties() {
		if _, ok := propName(p, groupProps); !ok {
			return gErr(http.StatusBadRequest, "Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.group'.", p)
		}
	}
	return nil
}

// gListGroups is GET /groups, with $filter (mail eq '…' and the other
// comparisons), $select and paging.
func (e *Emulator) gListGroups(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select", "$top", "$filter", "$search"); err != nil {
		return graphResult{}, err
	}
	if err := checkGroupQuery(c.q); err != nil {
		return graphResult{}, err
	}
	st, err := c.pageStart("groups")
	if err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	all := e.groupsOf(c.tenant.id)
	var page []any
	pos := st.Pos
	for ; pos < len(all) && len(page) < c.q.pageSize(defaultGraphPage); pos++ {
		obj := e.groupObject(all[pos])
		if c.q.filter != nil && !c.q.filter.match(obj, nil) || !searchMatch(obj, c.q.search) {
			continue
		}
		p, err := c.q.project(obj, "group", groupProps, groupProps, nil, true)
		if err != nil {
			return graphResult{}, err
		}
		page = append(page, p)
	}
	return e.pageResult(c, "groups", "groups", page, pos, len(all)), nil
}

// gGetGroup is GET /groups/{id}.
func (e *Emulator) gGetGroup(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select"); err != nil {
		return graphResult{}, err
	}
	if err := checkGroupQuery(c.q); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.groupByID(c.tenant.id, c.r.PathValue("id"), false)
	if !ok {
		return graphResult{}, gNotFound(c.r.PathValue("id"))
	}
	obj, err := c.q.project(e.groupObject(v), "group", groupProps, groupProps, nil, false)
	if err != nil {
		return graphResult{}, err
	}
	obj["@odata.context"] = e.odataContext("groups/$entity")
	return graphResult{status: http.StatusOK, body: obj}, nil
}

// memberIter walks n members by position.
type memberIter struct {
	n  int
	at func(int) memberRef
}

// memberRef is one transitive member: a user or a group.
type memberRef struct {
	u *user
	g groupView
}

// transitive lists a group's members and their groups' members, each once,
// depth first. A team's members come from its roster. Caller holds e.mu.
func (e *Emulator) transitive(v groupView, seen map[string]bool, out []memberRef) []memberRef {
	seen[v.id()] = true
	if v.t != nil {
		r := e.teamRoster(v.t)
		for i := range r.n {
			if u := r.at(i); u != nil && !seen[u.id] {
				seen[u.id] = true
				out = append(out, memberRef{u: u})
			}
		}
		return out
	}
	for _, m := range v.g.members {
		if seen[m] {
			continue
		}
		if u := e.findUser(m); u != nil && strings.HasPrefix(m, "29:") {
			seen[m] = true
			out = append(out, memberRef{u: u})
			continue
		}
		if sub, ok := e.groupByID(v.g.tenantID, m, false); ok {
			out = append(out, memberRef{g: sub})
			out = e.transitive(sub, seen, out)
		}
	}
	return out
}

// gTransitiveMembers is GET /groups/{id}/transitiveMembers and its casts
// (/microsoft.graph.user, /microsoft.graph.group): paged, $select, $top,
// $count with ConsistencyLevel. Without a permission to read users, users
// come with @odata.type and id only, as Graph gives limited information.
func (e *Emulator) gTransitiveMembers(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select", "$top", "$filter", "$search"); err != nil {
		return graphResult{}, err
	}
	cast := c.r.PathValue("cast")
	if cast != "" && cast != "microsoft.graph.user" && cast != "microsoft.graph.group" {
		return graphResult{}, gErr(http.StatusBadRequest, "Request_UnsupportedQuery", "The type cast '%s' is not supported here.", cast)
	}
	if err := checkUserQuery(c.q, true); err != nil && cast == "microsoft.graph.user" {
		return graphResult{}, err
	}
	key := "tm:" + c.r.PathValue("id") + "/" + cast
	st, err := c.pageStart(key)
	if err != nil {
		return graphResult{}, err
	}
	limited := c.settings.allow(permUsers) != nil
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.groupByID(c.tenant.id, c.r.PathValue("id"), false)
	if !ok {
		return graphResult{}, gNotFound(c.r.PathValue("id"))
	}
	it := e.memberIterator(v, cast)
	keep := func(m memberRef) bool { return m.u == nil || e.userMatches(m.u, c.q) }
	var page []any
	pos := st.Pos
	for ; pos < it.n && len(page) < c.q.pageSize(defaultGraphPage); pos++ {
		if m := it.at(pos); keep(m) {
			obj, err := e.memberObject(c, m, limited)
			if err != nil {
				return graphResult{}, err
			}
			page = append(page, obj)
		}
	}
	res := e.pageResult(c, "directoryObjects", key, page, pos, it.n)
	if c.q.advanced {
		n := 0
		for i := range it.n {
			if keep(it.at(i)) {
				n++
			}
		}
		res.body.(map[string]any)["@odata.count"] = n
	}
	return res, nil
}

// memberIterator walks a group's transitive members of a cast by
// position: a team's roster directly (a generated team has a million
// members), else the flattened membership. Caller holds e.mu.
func (e *Emulator) memberIterator(v groupView, cast string) memberIter {
	type iter = memberIter
	if v.t != nil {
		if cast == "microsoft.graph.group" {
			return iter{}
		}
		r := e.teamRoster(v.t)
		return iter{n: r.n, at: func(i int) memberRef { return memberRef{u: r.at(i)} }}
	}
	var all []memberRef
	for _, m := range e.transitive(v, map[string]bool{}, nil) {
		if cast == "" || (m.u != nil) == (cast == "microsoft.graph.user") {
			all = append(all, m)
		}
	}
	return iter{n: len(all), at: func(i int) memberRef { return all[i] }}
}

func (e *Emulator) memberObject(c *graphCall, m memberRef, limited bool) (map[string]any, error) {
	if m.u == nil {
		obj, err := c.q.project(e.groupObject(m.g), "group", groupProps, groupProps, nil, true)
		if obj != nil {
			obj["@odata.type"] = "#microsoft.graph.group"
		}
		return obj, err
	}
	if limited {
		return map[string]any{"@odata.type": "#microsoft.graph.user", "id": m.u.aadObjectID}, nil
	}
	obj, err := projectUser(c.q, m.u, true)
	if obj != nil {
		obj["@odata.type"] = "#microsoft.graph.user"
	}
	return obj, err
}

// pageStart decodes the call's $skiptoken for a listing of key.
func (c *graphCall) pageStart(key string) (pageState, error) {
	if c.q.skipToken == "" {
		return pageState{}, nil
	}
	st, ok := decodePageState(c.q.skipToken)
	if !ok || st.Tenant != c.tenant.id || st.Key != key {
		return st, gErr(http.StatusBadRequest, "Request_BadRequest", "The skip token is not valid for this request.")
	}
	return st, nil
}

// pageResult is a page of a listing (of key, for its $skiptoken) of n
// entries that stopped at pos.
func (e *Emulator) pageResult(c *graphCall, what, key string, page []any, pos, n int) graphResult {
	body := map[string]any{"@odata.context": e.odataContext(what), "value": nonNil(page)}
	if pos < n {
		body["@odata.nextLink"] = e.linkWith(c.r, true, "$skiptoken", pageState{Tenant: c.tenant.id, Key: key, Pos: pos}.encode())
	}
	return graphResult{status: http.StatusOK, body: body}
}

// groupMember resolves a member of a new group: a user or a group of
// tenant, by any key.
// Caller holds e.mu.
func (e *Emulator) groupMember(tenantID, key string) (string, error) {
	if u := e.findUser(key); u != nil && u.tenantID == tenantID {
		return e.keep(u).id, nil
	}
	if v, ok := e.groupByID(tenantID, key, true); ok {
		return v.id(), nil
	}
	return "", notFound("members", "no user or group %s in tenant %s", key, tenantID)
}
