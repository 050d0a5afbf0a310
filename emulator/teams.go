package emulator

import (
	"context"
	"slices"
	"strings"
)

// TeamSpec describes a team to add.
type TeamSpec struct {
	// TenantID is the team's tenant; empty means the only tenant.
	TenantID string `json:"tenantId,omitempty"`
	// Name is the team's name (required).
	Name string `json:"name"`
	// Members are users by 29: id, Entra object id, UPN or email.
	Members []string `json:"members,omitempty"`
	// Channels are the names of channels besides General.
	Channels []string `json:"channels,omitempty"`
}

// Team is a team of the emulator. Its id is also its General channel's id.
type Team struct {
	ID               string    `json:"id"`               // "19:…@thread.tacv2"
	Name             string    `json:"name"`             // the team's name
	AADGroupID       string    `json:"aadGroupId"`       // the Microsoft 365 group id
	TenantID         string    `json:"tenantId"`         // the team's tenant
	GeneralChannelID string    `json:"generalChannelId"` // equals ID
	Channels         []Channel `json:"channels"`         // General first
	// Members lists members' 29: ids (at most the first 1000); MemberCount
	// counts them all.
	Members     []string `json:"members"`
	MemberCount int      `json:"memberCount"` // see Members
	// Installed reports the bot installed in the team.
	Installed bool `json:"installed"`
}

// Channel is a channel of a team.
type Channel struct {
	ID   string `json:"id"`   // the team id for General
	Name string `json:"name"` // "General" for General
}

// listCap bounds the lists the state shows (a generated tenant has a
// million users).
const listCap = 1000

func (e *Emulator) exportTeam(t *team) Team {
	out := Team{ID: t.id, Name: t.name, AADGroupID: t.aadGroupID, TenantID: t.tenantID, GeneralChannelID: t.id,
		Installed: t.installed, MemberCount: t.memberCount(&e.world), Members: []string{}}
	for _, c := range t.channels {
		out.Channels = append(out.Channels, Channel{ID: c.id, Name: c.name})
	}
	r := e.teamRoster(t)
	for i := 0; i < r.n && i < listCap; i++ {
		out.Members = append(out.Members, r.at(i).id)
	}
	return out
}

// AddTeam adds a team with a General channel and the given channels and
// members. The bot is not installed in it (see InstallTeam).
func (e *Emulator) AddTeam(s TeamSpec) (Team, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	t, err := e.addTeam(s, e.ids)
	if err != nil {
		return Team{}, err
	}
	return e.exportTeam(t), nil
}

func (e *Emulator) addTeam(s TeamSpec, ids idgen) (*team, error) {
	tn, err := e.tenantFor(s.TenantID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s.Name) == "" {
		return nil, invalid("name", "name is required")
	}
	var members []*user
	for _, key := range s.Members {
		u, err := e.userFor("members", key)
		if err != nil {
			return nil, err
		}
		if u.tenantID != tn.id {
			return nil, invalid("members", "user %s is in another tenant", key)
		}
		members = append(members, u)
	}
	t := &team{id: ids.channelID(), name: s.Name, aadGroupID: ids.guid(), tenantID: tn.id, memberSet: map[string]bool{}}
	e.teams[t.id] = t
	e.teamOrder = append(e.teamOrder, t.id)
	e.addChannel(t, t.id, "General")
	for _, name := range s.Channels {
		e.addChannel(t, ids.channelID(), name)
	}
	for _, u := range members {
		e.addTeamMember(t, u)
	}
	return t, nil
}

func (e *Emulator) addChannel(t *team, id, name string) *channel {
	ch := &channel{id: id, name: name}
	t.channels = append(t.channels, ch)
	e.channels[id] = t
	e.addConversation(&conversation{id: id, kind: kindChannel, tenantID: t.tenantID, teamID: t.id, channelID: id, created: e.now()})
	return ch
}

func (e *Emulator) addTeamMember(t *team, u *user) {
	if e.inTeam(t, u) {
		return
	}
	if u.synth >= 0 && t.allSynth && u.tenantID == t.tenantID {
		delete(t.synthOut, u.synth)
		return
	}
	u = e.keep(u)
	t.members = append(t.members, u.id)
	t.memberSet[u.id] = true
}

// teamFor finds a team by id. Caller holds e.mu.
func (e *Emulator) teamFor(id string) (*team, error) {
	t := e.teams[id]
	if t == nil {
		return nil, notFound("teamId", "no team %s", id)
	}
	return t, nil
}

// AddChannel adds a channel to a team; if the bot is installed it gets a
// channelCreated event.
func (e *Emulator) AddChannel(ctx context.Context, teamID, name string) (Channel, Delivery, error) {
	e.mu.Lock()
	t, err := e.teamFor(teamID)
	if err == nil && strings.TrimSpace(name) == "" {
		err = invalid("name", "name is required")
	}
	if err != nil {
		e.mu.Unlock()
		return Channel{}, Delivery{}, err
	}
	ch := e.addChannel(t, e.ids.channelID(), name)
	var acts []inbound
	if t.installed {
		acts = e.channelCreated(t, ch)
	}
	e.notifyLocked()
	e.mu.Unlock()
	return Channel{ID: ch.id, Name: ch.name}, Delivery{ConversationID: t.id, BotStatus: e.deliver(ctx, acts)}, nil
}

// RenameTeam renames a team; if the bot is installed it gets a teamRenamed
// event.
func (e *Emulator) RenameTeam(ctx context.Context, teamID, name string) (Delivery, error) {
	e.mu.Lock()
	t, err := e.teamFor(teamID)
	if err == nil && strings.TrimSpace(name) == "" {
		err = invalid("name", "name is required")
	}
	if err != nil {
		e.mu.Unlock()
		return Delivery{}, err
	}
	t.name = name
	var acts []inbound
	if t.installed {
		acts = e.teamRenamed(t)
	}
	e.notifyLocked()
	e.mu.Unlock()
	return Delivery{ConversationID: t.id, BotStatus: e.deliver(ctx, acts)}, nil
}

// AddMember adds a user to a team; if the bot is installed it gets a
// conversationUpdate (teamMemberAdded) in the team's conversation.
func (e *Emulator) AddMember(ctx context.Context, teamID, userID string) (Delivery, error) {
	return e.changeMember(ctx, teamID, userID, true)
}

// RemoveMember removes a user from a team; if the bot is installed it gets
// a conversationUpdate (teamMemberRemoved).
func (e *Emulator) RemoveMember(ctx context.Context, teamID, userID string) (Delivery, error) {
	return e.changeMember(ctx, teamID, userID, false)
}

func (e *Emulator) changeMember(ctx context.Context, teamID, userID string, add bool) (Delivery, error) {
	e.mu.Lock()
	acts, err := e.changeMemberLocked(teamID, userID, add)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: teamID, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) changeMemberLocked(teamID, userID string, add bool) ([]inbound, error) {
	t, err := e.teamFor(teamID)
	if err != nil {
		return nil, err
	}
	u, err := e.userFor("userId", userID)
	if err != nil {
		return nil, err
	}
	switch {
	case u.tenantID != t.tenantID:
		return nil, invalid("userId", "user %s is in another tenant", userID)
	case add && e.inTeam(t, u):
		return nil, conflict("userId", "user %s is already a member", userID)
	case !add && !e.inTeam(t, u):
		return nil, notFound("userId", "user %s is not a member", userID)
	}
	if add {
		e.addTeamMember(t, u)
	} else if t.memberSet[u.id] {
		delete(t.memberSet, u.id)
		t.members = slices.DeleteFunc(slices.Clone(t.members), func(id string) bool { return id == u.id })
	} else {
		if t.synthOut == nil {
			t.synthOut = map[int]bool{}
		}
		t.synthOut[u.synth] = true
	}
	if !t.installed {
		return nil, nil
	}
	return e.memberEvent(t, u, add), nil
}
