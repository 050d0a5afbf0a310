package emulator

import (
	"context"

	"herald/botframework"
)

// Delivery reports the activities a scenario step posted to the bot.
type Delivery struct {
	// ConversationID is the conversation the step concerns (the personal
	// chat, the selected channel, the team).
	ConversationID string `json:"conversationId,omitempty"`
	// BotStatus lists the bot's HTTP status for each activity posted, in
	// order (0: no bot configured, or the post failed).
	BotStatus []int `json:"botStatus"`
}

// InstallPersonal installs the bot in the user's personal scope: the bot
// gets installationUpdate (add) and conversationUpdate (membersAdded: bot
// and user) in the user's personal chat. Installing again when installed
// posts nothing, as Teams sends the install event once.
func (e *Emulator) InstallPersonal(ctx context.Context, userID string) (Delivery, error) {
	e.mu.Lock()
	u, err := e.userFor("userId", userID)
	if err != nil {
		e.mu.Unlock()
		return Delivery{}, err
	}
	u = e.keep(u)
	conv := e.personalConv(u)
	var acts []inbound
	if !u.installed || u.removed {
		u.installed, u.removed = true, false
		acts = e.personalInstall(u, conv, botframework.ActionAdd)
	}
	e.notifyLocked()
	e.mu.Unlock()
	return Delivery{ConversationID: conv.id, BotStatus: e.deliver(ctx, acts)}, nil
}

// UninstallPersonal removes the bot from the user's personal scope: the bot
// gets installationUpdate (remove) and conversationUpdate (membersRemoved:
// bot), and its later sends to the chat get 403 BotNotInConversationRoster.
func (e *Emulator) UninstallPersonal(ctx context.Context, userID string) (Delivery, error) {
	e.mu.Lock()
	u, err := e.userFor("userId", userID)
	if err == nil && (!u.installed || u.removed) {
		err = invalid("userId", "the bot is not installed for user %s", userID)
	}
	if err != nil {
		e.mu.Unlock()
		return Delivery{}, err
	}
	u = e.keep(u)
	u.installed, u.removed = false, true
	conv := e.personalConv(u)
	acts := e.personalInstall(u, conv, botframework.ActionRemove)
	e.notifyLocked()
	e.mu.Unlock()
	return Delivery{ConversationID: conv.id, BotStatus: e.deliver(ctx, acts)}, nil
}

// InstallTeamSpec says who installs the bot in which team.
type InstallTeamSpec struct {
	// TeamID is the team (required).
	TeamID string `json:"teamId"`
	// InstallerID is the member who installs it; empty means the first
	// member.
	InstallerID string `json:"installerId,omitempty"`
	// ChannelID is the channel selected during install; empty means
	// General.
	ChannelID string `json:"channelId,omitempty"`
}

// InstallTeam installs the bot in a team: it gets installationUpdate (add)
// and conversationUpdate (membersAdded: bot, eventType teamMemberAdded) in
// the selected channel.
func (e *Emulator) InstallTeam(ctx context.Context, s InstallTeamSpec) (Delivery, error) {
	e.mu.Lock()
	acts, convID, err := e.installTeamLocked(s)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: convID, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) installTeamLocked(s InstallTeamSpec) ([]inbound, string, error) {
	t, err := e.teamFor(s.TeamID)
	if err != nil {
		return nil, "", err
	}
	if t.installed {
		return nil, "", conflict("teamId", "the bot is already installed in team %s", t.id)
	}
	by, err := e.actor(t, s.InstallerID, "installerId")
	if err != nil {
		return nil, "", err
	}
	chID := s.ChannelID
	if chID == "" {
		chID = t.id
	}
	if t.channel(chID) == nil {
		return nil, "", notFound("channelId", "team %s has no channel %s", t.id, chID)
	}
	t.installed = true
	return e.teamInstall(t, by, chID, botframework.ActionAdd), chID, nil
}

// actor returns the member acting for a team: the one named, or the first.
func (e *Emulator) actor(t *team, key, field string) (*user, error) {
	if key == "" {
		if u := e.teamOwner(t); u != nil {
			return u, nil
		}
		return nil, invalid(field, "team %s has no members: name the %s", t.id, field)
	}
	u, err := e.userFor(field, key)
	if err != nil {
		return nil, err
	}
	if !e.inTeam(t, u) {
		return nil, invalid(field, "user %s is not a member of team %s", key, t.id)
	}
	return u, nil
}

// UninstallTeam removes the bot from a team: it gets installationUpdate
// (remove) and conversationUpdate (membersRemoved: bot, eventType
// teamMemberRemoved) in the team's conversation, and its later calls about
// the team get 403 BotNotInConversationRoster.
func (e *Emulator) UninstallTeam(ctx context.Context, teamID string) (Delivery, error) {
	e.mu.Lock()
	t, err := e.teamFor(teamID)
	if err == nil && !t.installed {
		err = invalid("teamId", "the bot is not installed in team %s", teamID)
	}
	var by *user
	if err == nil {
		by, err = e.actor(t, "", "teamId")
	}
	if err != nil {
		e.mu.Unlock()
		return Delivery{}, err
	}
	t.installed = false
	acts := e.teamInstall(t, by, t.id, botframework.ActionRemove)
	e.notifyLocked()
	e.mu.Unlock()
	return Delivery{ConversationID: t.id, BotStatus: e.deliver(ctx, acts)}, nil
}

// GroupChatSpec describes a group chat to add.
type GroupChatSpec struct {
	// TenantID is the chat's tenant; empty means the only tenant.
	TenantID string `json:"tenantId,omitempty"`
	// Topic is the chat's name (may be empty).
	Topic string `json:"topic,omitempty"`
	// Members are two or more users; the first adds the bot.
	Members []string `json:"members"`
	// WithoutBot leaves the bot out of the chat.
	WithoutBot bool `json:"withoutBot,omitempty"`
}

// AddGroupChat adds a group chat ("19:…@thread.v2"). Unless WithoutBot, the
// bot is added to it by the first member and gets installationUpdate and
// conversationUpdate (membersAdded: bot).
func (e *Emulator) AddGroupChat(ctx context.Context, s GroupChatSpec) (Delivery, error) {
	e.mu.Lock()
	acts, id, err := e.addGroupChatLocked(s)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: id, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) addGroupChatLocked(s GroupChatSpec) ([]inbound, string, error) {
	tn, err := e.tenantFor(s.TenantID)
	if err != nil {
		return nil, "", err
	}
	if len(s.Members) < 2 {
		return nil, "", invalid("members", "a group chat has at least two members")
	}
	var members []*user
	for _, key := range s.Members {
		u, err := e.userFor("members", key)
		if err != nil {
			return nil, "", err
		}
		if u.tenantID != tn.id {
			return nil, "", invalid("members", "user %s is in another tenant", key)
		}
		members = append(members, e.keep(u))
	}
	conv := &conversation{id: e.ids.groupChatID(), kind: kindGroupChat, tenantID: tn.id, topic: s.Topic,
		botInstalled: !s.WithoutBot, created: e.now()}
	for _, u := range members {
		conv.members = append(conv.members, u.id)
	}
	e.addConversation(conv)
	if s.WithoutBot {
		return nil, conv.id, nil
	}
	return e.groupChatInstall(conv, members[0]), conv.id, nil
}
