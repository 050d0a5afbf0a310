package server

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"herald"
	"herald/api"
)

// listUsers is GET /v1/users?q=&tenant=&team=&cursor=&limit=.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "q", "tenant", "team", "cursor", "limit"); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	p := herald.UserSearchParams{Query: strings.TrimSpace(q.Get("q")), TenantID: q.Get("tenant"), After: q.Get("cursor"), Limit: limit}
	if len(p.Query) > 256 || !utf8.ValidString(p.Query) {
		return invalid("q", "at most 256 bytes of UTF-8")
	}
	if team := q.Get("team"); team != "" {
		t, err := s.store.TeamFind(r.Context(), team)
		if err != nil {
			return lookup(err, "team", team, "team")
		}
		p.TeamID = t.ID
	}
	users, err := s.store.UserSearch(r.Context(), p)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := api.UserList{Users: mapSlice(users, apiUser)}
	if len(users) == limit {
		out.Next = users[len(users)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// findUser resolves the {user} of a path (any identifier), narrowed by
// ?tenant= when given.
func (s *Server) findUser(r *http.Request) (herald.User, error) {
	id := r.PathValue("user")
	u, err := s.store.UserFind(r.Context(), r.URL.Query().Get("tenant"), id)
	if err != nil {
		return herald.User{}, lookup(err, "user", id, "user")
	}
	return u, nil
}

// getUser is GET /v1/users/{user}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant"); err != nil {
		return err
	}
	u, err := s.findUser(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiUser(u))
}

// getPreferences is GET /v1/users/{user}/preferences.
func (s *Server) getPreferences(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant"); err != nil {
		return err
	}
	u, err := s.findUser(r)
	if err != nil {
		return err
	}
	return s.writePreferences(w, r, u.ID)
}

func (s *Server) writePreferences(w http.ResponseWriter, r *http.Request, userID string) error {
	ps, err := s.store.PreferenceList(r.Context(), userID)
	if err != nil {
		return fmt.Errorf("list preferences: %w", err)
	}
	return writeJSON(w, http.StatusOK, apiPreferences(userID, ps))
}

// maxPreferenceChanges bounds one PATCH of preferences.
const maxPreferenceChanges = 100

// setPreferences is PATCH /v1/users/{user}/preferences: each listed topic
// is set, the others keep their setting.
func (s *Server) setPreferences(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant"); err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in api.PreferencesUpdate
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	switch {
	case len(in.Preferences) == 0:
		return invalid("preferences", "list at least one topic to set")
	case len(in.Preferences) > maxPreferenceChanges:
		return invalid("preferences", "at most %d changes at once", maxPreferenceChanges)
	}
	for i, p := range in.Preferences {
		if t := strings.TrimSpace(p.Topic); t == "" || len(t) > 512 || !utf8.ValidString(t) || herald.HasControl(t) {
			return invalid(fmt.Sprintf("preferences[%d].topic", i), "a topic (or \"*\" for every non-critical topic) of at most 512 bytes of printable text is required")
		}
	}
	u, err := s.findUser(r)
	if err != nil {
		return err
	}
	for _, p := range in.Preferences {
		if err := s.store.PreferenceSet(r.Context(), u.ID, strings.TrimSpace(p.Topic), p.OptedOut); err != nil {
			return fmt.Errorf("set preference: %w", err)
		}
	}
	return s.writePreferences(w, r, u.ID)
}

// listTeams is GET /v1/teams?tenant=&cursor=&limit=.
func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant", "cursor", "limit"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	teams, err := s.store.TeamList(r.Context(), herald.TeamListParams{TenantID: q.Get("tenant"), After: q.Get("cursor"), Limit: limit})
	if err != nil {
		return fmt.Errorf("list teams: %w", err)
	}
	out := api.TeamList{Teams: mapSlice(teams, apiTeam)}
	if len(teams) == limit {
		out.Next = teams[len(teams)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// findTeam resolves the {team} of a path: id, Entra group id or name.
func (s *Server) findTeam(r *http.Request) (herald.Team, error) {
	id := r.PathValue("team")
	t, err := s.store.TeamFind(r.Context(), id)
	if err != nil {
		return herald.Team{}, lookup(err, "team", id, "team")
	}
	return t, nil
}

// getTeam is GET /v1/teams/{team}.
func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	t, err := s.findTeam(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiTeam(t))
}

// listChannels is GET /v1/teams/{team}/channels.
func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	t, err := s.findTeam(r)
	if err != nil {
		return err
	}
	cs, err := s.store.ChannelList(r.Context(), t.ID)
	if err != nil {
		return fmt.Errorf("list channels: %w", err)
	}
	return writeJSON(w, http.StatusOK, api.ChannelList{Channels: mapSlice(cs, apiChannel)})
}

// listConversations is GET /v1/conversations?tenant=&type=&cursor=&limit=.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant", "type", "cursor", "limit"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch q.Get("type") {
	case "", "personal", "channel", "groupChat":
	default:
		return invalid("type", "%q is not personal, channel or groupChat", q.Get("type"))
	}
	cs, err := s.store.ConversationList(r.Context(), herald.ConversationListParams{
		TenantID: q.Get("tenant"), Type: q.Get("type"), After: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return fmt.Errorf("list conversations: %w", err)
	}
	out := api.ConversationList{Conversations: mapSlice(cs, apiConversation)}
	if len(cs) == limit {
		out.Next = cs[len(cs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}
