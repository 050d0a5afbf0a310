package emulator

import (
	"cmp"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// propMask says which user properties a directory change touched; delta
// queries surface a change only when it touched a $select'ed property.
type propMask uint16

// propBits maps each tracked user property to its bit.
var propBits = map[string]propMask{
	"displayName": 1 << 0, "givenName": 1 << 0, "surname": 1 << 0,
	"mail": 1 << 1, "userPrincipalName": 1 << 2, "proxyAddresses": 1 << 1, "otherMails": 1 << 1,
	"accountEnabled": 1 << 3, "userType": 1 << 4, "assignedPlans": 1 << 5,
	"preferredLanguage": 1 << 6, "usageLocation": 1 << 6,
}

// propsAll marks a change that touched everything (a new or restored user).
const propsAll propMask = 0xffff

// dirChange is one change of the directory: a user added, updated,
// deleted or restored.
type dirChange struct {
	seq      uint64
	tenantID string
	userID   string // the 29: id
	props    propMask
}

// deltaTokenLife is how long directory delta tokens stay valid.
const deltaTokenLife = 7 * 24 * time.Hour

// dirChanged records a change of u's directory entry. Caller holds e.mu.
func (e *Emulator) dirChanged(u *user, props propMask) {
	g := &e.directory
	g.seq++
	g.log = append(g.log, dirChange{seq: g.seq, tenantID: u.tenantID, userID: u.id, props: props})
}

// selectedMask is the properties a delta round tracks: the first call's
// $select, or Graph's default properties.
func selectedMask(sel []string) propMask {
	if sel == nil {
		sel = userDefaults
	}
	var m propMask
	for _, p := range sel {
		if name, ok := propName(p, userKnown); ok {
			m |= propBits[name]
		}
	}
	return m
}

// gUsersDelta is GET /users/delta: the first round lists every user, page
// by page (@odata.nextLink), and ends with an @odata.deltaLink; a round
// from a deltaLink lists the users added, changed (in a $select'ed
// property) or deleted since, deleted ones as {"id","@removed":{"reason"}}.
// "$deltatoken=latest" starts from now with no users. A token from before
// ResetDelta answers 410 Gone with a Location to start over; one older than
// seven days 410 syncStateNotFound.
func (e *Emulator) gUsersDelta(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select", "$top", "$filter", "$deltatoken"); err != nil {
		return graphResult{}, err
	}
	if err := checkUserQuery(c.q, true); err != nil {
		return graphResult{}, err
	}
	for _, p := range c.q.filter.properties() {
		if !strings.EqualFold(p, "id") || c.q.filter.advancedOnly() {
			return graphResult{}, gErr(http.StatusBadRequest, "Request_UnsupportedQuery", "Delta queries on users support only $filter=id eq '…'.")
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.deltaState(c)
	if err != nil {
		return graphResult{}, err
	}
	q := c.q
	q.selected = st.Select
	var page []any
	var done bool
	if st.Since == 0 && st.Key == "delta-initial" {
		page, st.Pos, done, err = e.deltaInitial(c.tenant, q, st.Pos)
	} else {
		minimal := strings.Contains(strings.ToLower(c.r.Header.Get("Prefer")), "return=minimal")
		page, st.Pos, done, err = e.deltaChanges(c.tenant, q, st, minimal)
	}
	if err != nil {
		return graphResult{}, err
	}
	body := map[string]any{"@odata.context": e.odataContext("users"), "value": nonNil(page)}
	if done {
		next := pageState{Tenant: c.tenant.id, Key: "delta", Since: st.Upto, Epoch: st.Epoch, Select: st.Select, At: e.now().Unix()}
		body["@odata.deltaLink"] = e.linkWith(c.r, false, "$deltatoken", next.encode())
	} else {
		body["@odata.nextLink"] = e.linkWith(c.r, false, "$skiptoken", st.encode())
	}
	return graphResult{status: http.StatusOK, body: body}, nil
}

// deltaState is where a delta request starts: a fresh round, or the state
// its token carries. Caller holds e.mu.
func (e *Emulator) deltaState(c *graphCall) (pageState, error) {
	tid, epoch := c.tenant.id, e.directory.epoch[c.tenant.id]
	tok := c.q.skipToken
	if c.q.hasDelta {
		tok = c.q.deltaToken
	}
	switch {
	case tok == "":
		sel := c.q.selected
		return pageState{Tenant: tid, Key: "delta-initial", Upto: e.directory.seq, Epoch: epoch, Select: sel}, nil
	case c.q.hasDelta && tok == "latest":
		return pageState{Tenant: tid, Key: "delta", Since: e.directory.seq, Upto: e.directory.seq, Epoch: epoch,
			Select: c.q.selected, Pos: -1}, nil
	}
	st, ok := decodePageState(tok)
	if !ok || st.Tenant != tid || st.Key != "delta" && st.Key != "delta-initial" {
		return st, gErr(http.StatusBadRequest, "Request_BadRequest", "The delta or skip token is not valid for this request.")
	}
	restart := gErr(http.StatusGone, "resyncRequired", "The delta token is no longer valid: restart with a full synchronization.")
	switch {
	case st.Epoch != epoch:
	case c.q.hasDelta && e.now().Sub(time.Unix(st.At, 0)) > deltaTokenLife:
		restart.code, restart.message = "syncStateNotFound", "The sync state of this delta token expired: restart with a full synchronization."
	default:
		if c.q.hasDelta {
			st.Upto, st.Pos = e.directory.seq, 0
		}
		return st, nil
	}
	fresh := e.GraphURL() + "/users/delta"
	if st.Select != nil {
		fresh += "?$select=" + strings.Join(st.Select, ",")
	}
	restart.header = http.Header{"Location": {fresh}}
	return st, restart
}

// deltaInitial is one page of a first round: every user, from pos.
// Caller holds e.mu.
func (e *Emulator) deltaInitial(t *tenant, q odataQuery, pos int) ([]any, int, bool, error) {
	it := e.userIterator(t, q)
	var page []any
	for ; pos < it.n && len(page) < q.pageSize(defaultGraphPage); pos++ {
		u := it.at(pos)
		if u == nil || !e.userMatches(u, q) {
			continue
		}
		obj, err := projectUser(q, u, true)
		if err != nil {
			return nil, 0, false, err
		}
		page = append(page, obj)
	}
	return page, pos, pos >= it.n, nil
}

// deltaEntry is a user with the properties its changes in a round touched.
type deltaEntry struct {
	userID string
	props  propMask
	last   uint64
}

// deltaChanges is one page of a round from a deltaLink: the users changed
// in (Since, Upto], each once, in the order of their last change. Caller
// holds e.mu.
func (e *Emulator) deltaChanges(t *tenant, q odataQuery, st pageState, minimal bool) ([]any, int, bool, error) {
	if st.Pos < 0 {
		return nil, 0, true, nil
	}
	log := e.directory.log
	from := sort.Search(len(log), func(i int) bool { return log[i].seq > st.Since })
	idx := map[string]int{}
	var entries []deltaEntry
	for _, ch := range log[from:] {
		if ch.seq > st.Upto {
			break
		}
		if ch.tenantID != t.id {
			continue
		}
		if i, ok := idx[ch.userID]; ok {
			entries[i].props |= ch.props
			entries[i].last = ch.seq
			continue
		}
		idx[ch.userID] = len(entries)
		entries = append(entries, deltaEntry{userID: ch.userID, props: ch.props, last: ch.seq})
	}
	slices.SortStableFunc(entries, func(a, b deltaEntry) int { return cmp.Compare(a.last, b.last) })
	sel := selectedMask(q.selected)
	var page []any
	pos := st.Pos
	for ; pos < len(entries) && len(page) < q.pageSize(defaultGraphPage); pos++ {
		en := entries[pos]
		u := e.users[en.userID]
		if u == nil || en.props&sel == 0 {
			continue
		}
		obj, err := e.deltaObject(u, q, en.props, minimal)
		if err != nil {
			return nil, 0, false, err
		}
		if obj != nil {
			page = append(page, obj)
		}
	}
	return page, pos, pos >= len(entries), nil
}

// deltaObject is one entry of a delta page: a removal, the user's selected
// properties, or (Prefer: return=minimal) the id and the changed ones.
func (e *Emulator) deltaObject(u *user, q odataQuery, changed propMask, minimal bool) (map[string]any, error) {
	if q.filter != nil && !q.filter.match(map[string]any{"id": u.aadObjectID}, nil) {
		return nil, nil
	}
	if u.dir.deleted {
		reason := "changed"
		if u.dir.permanent {
			reason = "deleted"
		}
		return map[string]any{"id": u.aadObjectID, "@removed": map[string]any{"reason": reason}}, nil
	}
	obj, err := projectUser(q, u, true)
	if err != nil || !minimal || changed == propsAll {
		return obj, err
	}
	for k := range obj {
		if bit, ok := propBits[k]; ok && bit&changed == 0 {
			delete(obj, k)
		}
	}
	return obj, nil
}
