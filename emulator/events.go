package emulator

import (
	"herald/botframework"
)

// The builders below make the activities Teams sends for install,
// uninstall and team events (teams-protocol.md §1.4). Callers hold e.mu.

func clientInfo(u *user) botframework.Entity {
	ent, _ := botframework.NewEntity(botframework.ClientInfo{
		Type: botframework.EntityClientInfo, Locale: u.locale, Country: country(u.locale),
		Platform: "Web", Timezone: u.timezone,
	})
	return ent
}

// country returns the region of a BCP-47 locale ("en-US" → "US").
func country(locale string) string {
	if len(locale) >= 5 && locale[2] == '-' {
		return locale[3:]
	}
	return ""
}

func tenantData(tenantID string) *botframework.ChannelData {
	return &botframework.ChannelData{Tenant: &botframework.TenantInfo{ID: tenantID}}
}

func (t *team) info() *botframework.TeamInfo {
	return &botframework.TeamInfo{ID: t.id, Name: t.name, AADGroupID: t.aadGroupID}
}

// personalInstall is what the bot gets when u installs it in personal scope.
func (e *Emulator) personalInstall(u *user, conv *conversation, action string) []inbound {
	from := u.account()
	ca := e.conversationAccount(conv)
	inst := &botframework.Activity{
		Type: botframework.TypeInstallationUpdate, ID: e.eventID(), Action: action, From: &from,
		Conversation: &ca, ChannelData: tenantData(u.tenantID), Entities: []botframework.Entity{clientInfo(u)},
		Locale: u.locale,
	}
	ca2 := ca
	upd := &botframework.Activity{
		Type: botframework.TypeConversationUpdate, ID: e.eventID(), From: &from, Conversation: &ca2,
		ChannelData: tenantData(u.tenantID),
	}
	if action == botframework.ActionAdd {
		upd.MembersAdded = []botframework.ChannelAccount{{ID: e.BotID()}, {ID: u.id, AADObjectID: u.aadObjectID}}
	} else {
		upd.MembersRemoved = []botframework.ChannelAccount{{ID: e.BotID()}}
	}
	return []inbound{{conv: conv, act: inst}, {conv: conv, act: upd}}
}

// teamInstall is what the bot gets when it is added to or removed from a
// team. On install the conversation is the channel the installer selected;
// on removal it is the team.
func (e *Emulator) teamInstall(t *team, by *user, channelID, action string) []inbound {
	from := by.account()
	conv := e.convs[t.id]
	if action == botframework.ActionAdd {
		conv = e.convs[channelID]
	}
	ca := e.conversationAccount(conv)
	ch := t.channel(conv.id)
	chInfo := &botframework.ChannelInfo{ID: ch.id}
	if ch.id != t.id {
		chInfo.Name = ch.name
	}
	inst := &botframework.Activity{
		Type: botframework.TypeInstallationUpdate, ID: e.eventID(), Action: action, From: &from, Conversation: &ca,
		ChannelData: &botframework.ChannelData{
			Settings: &botframework.ChannelSettings{SelectedChannel: &botframework.ChannelInfo{ID: conv.id}},
			Channel:  chInfo, Team: t.info(), Tenant: &botframework.TenantInfo{ID: t.tenantID},
			Source: &botframework.SourceInfo{Name: "message"},
		},
		Entities: []botframework.Entity{clientInfo(by)}, Locale: by.locale,
	}
	ca2 := ca
	upd := &botframework.Activity{
		Type: botframework.TypeConversationUpdate, ID: e.eventID(), From: &from, Conversation: &ca2,
		ChannelData: &botframework.ChannelData{Team: t.info(), Tenant: &botframework.TenantInfo{ID: t.tenantID}},
	}
	if action == botframework.ActionAdd {
		upd.ChannelData.Settings = &botframework.ChannelSettings{SelectedChannel: &botframework.ChannelInfo{ID: conv.id}}
		upd.ChannelData.EventType = botframework.EventTeamMemberAdded
		upd.MembersAdded = []botframework.ChannelAccount{{ID: e.BotID()}}
	} else {
		upd.ChannelData.EventType = botframework.EventTeamMemberRemoved
		upd.MembersRemoved = []botframework.ChannelAccount{{ID: e.BotID()}}
	}
	return []inbound{{conv: conv, act: inst}, {conv: conv, act: upd}}
}

// teamEvent is a conversationUpdate about team t, in the team's
// conversation (its id).
func (e *Emulator) teamEvent(t *team, from *user, eventType string) (inbound, *botframework.Activity) {
	conv := e.convs[t.id]
	ca := e.conversationAccount(conv)
	a := &botframework.Activity{
		Type: botframework.TypeConversationUpdate, ID: e.eventID(), Conversation: &ca,
		ChannelData: &botframework.ChannelData{Team: t.info(), EventType: eventType,
			Tenant: &botframework.TenantInfo{ID: t.tenantID}},
	}
	if from != nil {
		acc := from.account()
		a.From = &acc
	}
	return inbound{conv: conv, act: a}, a
}

// memberEvent is teamMemberAdded or teamMemberRemoved for u.
func (e *Emulator) memberEvent(t *team, u *user, added bool) []inbound {
	acc := botframework.ChannelAccount{ID: u.id, AADObjectID: u.aadObjectID}
	if added {
		in, a := e.teamEvent(t, u, botframework.EventTeamMemberAdded)
		a.MembersAdded = []botframework.ChannelAccount{acc}
		return []inbound{in}
	}
	in, a := e.teamEvent(t, u, botframework.EventTeamMemberRemoved)
	a.MembersRemoved = []botframework.ChannelAccount{acc}
	return []inbound{in}
}

// channelCreated announces a new channel of t.
func (e *Emulator) channelCreated(t *team, ch *channel) []inbound {
	in, a := e.teamEvent(t, e.teamOwner(t), botframework.EventChannelCreated)
	a.ChannelData.Channel = &botframework.ChannelInfo{ID: ch.id, Name: ch.name}
	return []inbound{in}
}

// teamRenamed announces t's new name.
func (e *Emulator) teamRenamed(t *team) []inbound {
	in, _ := e.teamEvent(t, e.teamOwner(t), botframework.EventTeamRenamed)
	return []inbound{in}
}

// teamOwner returns the team's first member, who acts for the team in
// events, or nil.
func (e *Emulator) teamOwner(t *team) *user {
	r := e.teamRoster(t)
	if r.n == 0 {
		return nil
	}
	return r.at(0)
}

// groupChatInstall is what the bot gets when it is added to a group chat.
func (e *Emulator) groupChatInstall(conv *conversation, by *user) []inbound {
	from := by.account()
	ca := e.conversationAccount(conv)
	inst := &botframework.Activity{
		Type: botframework.TypeInstallationUpdate, ID: e.eventID(), Action: botframework.ActionAdd, From: &from,
		Conversation: &ca, ChannelData: tenantData(conv.tenantID), Entities: []botframework.Entity{clientInfo(by)},
		Locale: by.locale,
	}
	ca2 := ca
	upd := &botframework.Activity{
		Type: botframework.TypeConversationUpdate, ID: e.eventID(), From: &from, Conversation: &ca2,
		ChannelData: tenantData(conv.tenantID), MembersAdded: []botframework.ChannelAccount{{ID: e.BotID()}},
	}
	return []inbound{{conv: conv, act: inst}, {conv: conv, act: upd}}
}
