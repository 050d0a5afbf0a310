package emulator

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Roster paging, as Teams does it: page sizes are clamped to [50, 500].
const (
	defaultPageSize = 200
	minPageSize     = 50
	maxPageSize     = 500
	maxMembers      = 10000 // the non-paged roster is capped
)

// member is a roster entry on the wire: Teams calls the Entra object id
// "objectId" here.
type member struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	ObjectID          string `json:"objectId"`
	GivenName         string `json:"givenName,omitempty"`
	Surname           string `json:"surname,omitempty"`
	Email             string `json:"email,omitempty"`
	UserPrincipalName string `json:"userPrincipalName"`
	TenantID          string `json:"tenantId"`
	UserRole          string `json:"userRole"`
}

func (u *user) member() member {
	return member{ID: u.id, Name: u.name, ObjectID: u.aadObjectID, GivenName: u.givenName, Surname: u.surname,
		Email: u.email, UserPrincipalName: u.upn, TenantID: u.tenantID, UserRole: "user"}
}

type pagedMembers struct {
	ContinuationToken string   `json:"continuationToken,omitempty"`
	Members           []member `json:"members"`
}

// roster is the members of a conversation, by position, without building
// the whole list (a generated team has a million members).
type roster struct {
	w        *world
	explicit []string
	synth    *synthUsers
	out      []int // generated users left out, ascending
	n        int
}

// rosterOf returns conv's roster, after checking the bot may read it.
// Caller holds e.mu.
func (e *Emulator) rosterOf(conv *conversation) (*roster, error) {
	if t := e.tenants[conv.tenantID]; t != nil && t.disabled {
		return nil, errDisabled()
	}
	switch conv.kind {
	case kindPersonal:
		if u := e.findUser(conv.userID); u == nil || !e.reachable(u) {
			return nil, errNotInRoster()
		}
		return &roster{w: &e.world, explicit: []string{conv.userID}, n: 1}, nil
	case kindGroupChat:
		if !conv.botInstalled {
			return nil, errNotInRoster()
		}
		return &roster{w: &e.world, explicit: conv.members, n: len(conv.members)}, nil
	}
	t := e.teams[conv.teamID]
	if t == nil || !t.installed {
		return nil, errNotInRoster()
	}
	return e.teamRoster(t), nil
}

func (e *Emulator) teamRoster(t *team) *roster {
	r := &roster{w: &e.world, explicit: t.members, n: len(t.members)}
	if tn := e.tenants[t.tenantID]; t.allSynth && tn != nil && tn.synth != nil {
		r.synth = tn.synth
		for i := range t.synthOut {
			r.out = append(r.out, i)
		}
		slices.Sort(r.out)
		r.n += tn.synth.n - len(r.out)
	}
	return r
}

// at returns the member at position i (0 <= i < r.n).
func (r *roster) at(i int) *user {
	if i < len(r.explicit) {
		return r.w.findUser(r.explicit[i])
	}
	idx := i - len(r.explicit)
	for _, o := range r.out {
		if o <= idx {
			idx++
		}
	}
	id := r.synth.userID(idx)
	if u := r.w.users[id]; u != nil {
		return u
	}
	return r.synth.user(idx)
}

func (r *roster) page(from, size int) []member {
	out := make([]member, 0, max(0, min(size, r.n-from)))
	for i := from; i < r.n && len(out) < size; i++ {
		if u := r.at(i); u != nil {
			out = append(out, u.member())
		}
	}
	return out
}

// getMembers is GET /v3/conversations/{id}/members (and the members of an
// activity, which in Teams are the conversation's).
func (e *Emulator) getMembers(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, r, err := e.readRoster(c)
	if err != nil {
		return result{}, err
	}
	return result{http.StatusOK, r.page(0, maxMembers)}, nil
}

// readRoster resolves the request's conversation, applies the read limits
// and returns its roster. Caller holds e.mu.
func (e *Emulator) readRoster(c *call) (*conversation, *roster, error) {
	conv, err := e.resolve(c.conv)
	if err != nil {
		return nil, nil, err
	}
	if err := e.rate(classRead, conv.tenantID, limitKey(conv)); err != nil {
		return nil, nil, err
	}
	r, err := e.rosterOf(conv)
	return conv, r, err
}

// getPagedMembers is GET /v3/conversations/{id}/pagedmembers.
func (e *Emulator) getPagedMembers(c *call) (result, error) {
	q := c.r.URL.Query()
	size := defaultPageSize
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return result{}, errBadArgument("pageSize must be a number.")
		}
		size = min(max(n, minPageSize), maxPageSize)
	}
	from := 0
	if tok := q.Get("continuationToken"); tok != "" {
		n, ok := parsePageToken(tok)
		if !ok {
			return result{}, errBadArgument("Invalid continuation token.")
		}
		from = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, r, err := e.readRoster(c)
	if err != nil {
		return result{}, err
	}
	res := pagedMembers{Members: r.page(from, size)}
	if next := from + size; next < r.n {
		res.ContinuationToken = pageToken(next)
	}
	return result{http.StatusOK, res}, nil
}

func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func parsePageToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "offset:")
	n, err := strconv.Atoi(s)
	return n, ok && err == nil && n >= 0
}

// getMember is GET /v3/conversations/{id}/members/{memberId}: the member by
// 29: id, UPN or Entra object id.
func (e *Emulator) getMember(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	conv, _, err := e.readRoster(c)
	if err != nil {
		return result{}, err
	}
	u := e.findUser(c.r.PathValue("memberId"))
	if u == nil || !e.isMember(conv, u) {
		return result{}, &apiError{status: http.StatusNotFound, code: "MemberNotFoundInConversation", message: "The member was not found in the conversation."}
	}
	return result{http.StatusOK, u.member()}, nil
}

// isMember reports whether u is in conv. Caller holds e.mu.
func (e *Emulator) isMember(conv *conversation, u *user) bool {
	switch conv.kind {
	case kindPersonal:
		return conv.userID == u.id
	case kindGroupChat:
		return slices.Contains(conv.members, u.id)
	}
	t := e.teams[conv.teamID]
	return t != nil && e.inTeam(t, u)
}

// teamDetails is GET /v3/teams/{teamId}.
type teamDetails struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	AADGroupID   string `json:"aadGroupId"`
	ChannelCount int    `json:"channelCount"`
	MemberCount  int    `json:"memberCount"`
	Type         string `json:"type"`
}

// installedTeam finds the request's team, applies the read limits and checks
// the bot is in it. Caller holds e.mu.
func (e *Emulator) installedTeam(c *call) (*team, error) {
	t := e.teams[c.r.PathValue("teamId")]
	if t == nil {
		return nil, errNotFound()
	}
	if err := e.rate(classRead, t.tenantID, t.id); err != nil {
		return nil, err
	}
	if tn := e.tenants[t.tenantID]; tn.disabled {
		return nil, errDisabled()
	}
	if !t.installed {
		return nil, errNotInRoster()
	}
	return t, nil
}

func (e *Emulator) getTeam(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.installedTeam(c)
	if err != nil {
		return result{}, err
	}
	return result{http.StatusOK, teamDetails{ID: t.id, Name: t.name, AADGroupID: t.aadGroupID,
		ChannelCount: len(t.channels), MemberCount: t.memberCount(&e.world), Type: "standard"}}, nil
}

// channelEntry is one channel of GET /v3/teams/{teamId}/conversations; the
// General channel's name is null.
type channelEntry struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

func (e *Emulator) getChannels(c *call) (result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.installedTeam(c)
	if err != nil {
		return result{}, err
	}
	var out struct {
		Conversations []channelEntry `json:"conversations"`
	}
	for _, ch := range t.channels {
		ent := channelEntry{ID: ch.id}
		if ch.id != t.id {
			name := ch.name
			ent.Name = &name
		}
		out.Conversations = append(out.Conversations, ent)
	}
	return result{http.StatusOK, out}, nil
}
