package emulator

// State is a snapshot of the emulated organisation. Long lists are cut at
// 1000 entries; the counts are exact.
type State struct {
	// Tenants lists every tenant.
	Tenants []Tenant `json:"tenants"`
	// Users lists explicit users, then generated ones (at most 1000).
	Users      []User `json:"users"`
	UsersTotal int    `json:"usersTotal"` // every user, listed or not
	Teams      []Team `json:"teams"`      // every team
	// Conversations lists the conversations (at most 1000, the oldest).
	Conversations      []ConversationInfo `json:"conversations"`
	ConversationsTotal int                `json:"conversationsTotal"` // listed or not
}

// ConversationInfo summarises a conversation.
type ConversationInfo struct {
	ID       string `json:"id"`       // the conversation id
	Type     string `json:"type"`     // personal, channel or groupChat
	TenantID string `json:"tenantId"` // the conversation's tenant
	// Title is what Teams shows: the user's name, "Team › Channel", the
	// topic.
	Title string `json:"title"`
	// Members lists members' 29: ids (at most 1000).
	Members       []string `json:"members"`
	ActivityCount int      `json:"activityCount"`       // activities recorded
	TeamID        string   `json:"teamId,omitempty"`    // channels and threads: the team
	ChannelID     string   `json:"channelId,omitempty"` // channels and threads: the channel
	// RootID is a thread's root message id.
	RootID string `json:"rootId,omitempty"`
	// BotInstalled reports whether the bot can post in the conversation.
	BotInstalled bool `json:"botInstalled"`
}

// State returns a snapshot of tenants, users, teams and conversations.
func (e *Emulator) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := State{Tenants: []Tenant{}, Users: []User{}, Teams: []Team{}, Conversations: []ConversationInfo{}}
	for _, id := range e.tenantOrder {
		t := e.tenants[id]
		s.Tenants = append(s.Tenants, t.export())
		s.UsersTotal += t.userCount()
		for i := 0; i < t.userCount() && len(s.Users) < listCap; i++ {
			s.Users = append(s.Users, e.tenantUser(t, i).export())
		}
	}
	for _, id := range e.teamOrder {
		s.Teams = append(s.Teams, e.exportTeam(e.teams[id]))
	}
	s.ConversationsTotal = len(e.convOrder)
	for _, id := range e.convOrder[:min(len(e.convOrder), listCap)] {
		s.Conversations = append(s.Conversations, e.conversationInfo(e.convs[id]))
	}
	return s
}

// Conversations returns a summary of every conversation, oldest first.
func (e *Emulator) Conversations() []ConversationInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]ConversationInfo, 0, len(e.convOrder))
	for _, id := range e.convOrder {
		out = append(out, e.conversationInfo(e.convs[id]))
	}
	return out
}

// Conversation returns one conversation's summary.
func (e *Emulator) Conversation(id string) (ConversationInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convs[id]
	if c == nil {
		return ConversationInfo{}, false
	}
	return e.conversationInfo(c), true
}

// PersonalConversation returns the id of the user's personal chat with
// the bot, if there is one.
func (e *Emulator) PersonalConversation(userID string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.findUser(userID)
	if u == nil {
		return "", false
	}
	id := personalID(e.cfg.AppID, u.id)
	return id, e.convs[id] != nil
}

// conversationInfo summarises c. Caller holds e.mu.
func (e *Emulator) conversationInfo(c *conversation) ConversationInfo {
	info := ConversationInfo{ID: c.id, Type: c.kind, TenantID: c.tenantID, ActivityCount: len(c.records),
		TeamID: c.teamID, ChannelID: c.channelID, RootID: c.rootID, Members: []string{}}
	switch c.kind {
	case kindPersonal:
		info.Members = append(info.Members, c.userID)
		if u := e.findUser(c.userID); u != nil {
			info.Title = u.name
			info.BotInstalled = e.reachable(u)
		}
	case kindGroupChat:
		info.Members = append(info.Members, c.members[:min(len(c.members), listCap)]...)
		info.Title = c.topic
		if info.Title == "" {
			info.Title = "Group chat"
		}
		info.BotInstalled = c.botInstalled
	case kindChannel:
		t := e.teams[c.teamID]
		r := e.teamRoster(t)
		for i := 0; i < r.n && len(info.Members) < listCap; i++ {
			info.Members = append(info.Members, r.at(i).id)
		}
		info.Title = t.name + " › " + t.channel(c.channelID).name
		if c.rootID != "" {
			info.Title += " › thread " + c.rootID
		}
		info.BotInstalled = t.installed
	}
	return info
}

// Tenants returns every tenant.
func (e *Emulator) Tenants() []Tenant {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Tenant, 0, len(e.tenantOrder))
	for _, id := range e.tenantOrder {
		out = append(out, e.tenants[id].export())
	}
	return out
}

// Team returns a team by id.
func (e *Emulator) Team(id string) (Team, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.teamFor(id)
	if err != nil {
		return Team{}, err
	}
	return e.exportTeam(t), nil
}

// Teams returns every team.
func (e *Emulator) Teams() []Team {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Team, 0, len(e.teamOrder))
	for _, id := range e.teamOrder {
		out = append(out, e.exportTeam(e.teams[id]))
	}
	return out
}
