package emulator

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"herald/botframework"
)

// Group chats after they were added (AddGroupChat): members join and
// leave, the bot is removed and added back, the topic changes. While the
// bot is in the chat it gets what Teams sends (teams-protocol.md §1.4): a
// conversationUpdate with membersAdded or membersRemoved in the chat
// (conversationType groupChat, no eventType), and for its own removal or
// re-addition an installationUpdate and a conversationUpdate naming the
// bot.

// GroupChatMembersSpec says who adds whom to a group chat.
type GroupChatMembersSpec struct {
	// Members are the users added (any key), in one event.
	Members []string `json:"members"`
	// By is the member who adds them; empty means the chat's first member.
	By string `json:"by,omitempty"`
}

// groupChatFor finds a group chat by id. Caller holds e.mu.
func (e *Emulator) groupChatFor(id string) (*conversation, error) {
	c := e.convs[id]
	if c == nil || c.kind != kindGroupChat {
		return nil, notFound("chatId", "no group chat %s", id)
	}
	return c, nil
}

// chatActor returns the member acting in a chat: the one named, or the
// first. Caller holds e.mu.
func (e *Emulator) chatActor(c *conversation, key string) (*user, error) {
	if key == "" {
		for _, id := range c.members {
			if u := e.findUser(id); u != nil {
				return u, nil
			}
		}
		return nil, invalid("by", "group chat %s has no members: name who acts", c.id)
	}
	u, err := e.userFor("by", key)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.members, u.id) {
		return nil, invalid("by", "user %s is not a member of group chat %s", key, c.id)
	}
	return u, nil
}

// AddGroupChatMembers adds users to a group chat in one event; if the bot
// is in the chat it gets one conversationUpdate naming them all.
func (e *Emulator) AddGroupChatMembers(ctx context.Context, chatID string, s GroupChatMembersSpec) (Delivery, error) {
	e.mu.Lock()
	acts, err := e.addChatMembersLocked(chatID, s)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: chatID, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) addChatMembersLocked(chatID string, s GroupChatMembersSpec) ([]inbound, error) {
	c, err := e.groupChatFor(chatID)
	if err != nil {
		return nil, err
	}
	by, err := e.chatActor(c, s.By)
	if err != nil {
		return nil, err
	}
	if len(s.Members) == 0 {
		return nil, invalid("members", "name at least one user to add")
	}
	var added []*user
	for _, key := range s.Members {
		u, err := e.userFor("members", key)
		if err != nil {
			return nil, err
		}
		switch {
		case u.tenantID != c.tenantID:
			return nil, invalid("members", "user %s is in another tenant", key)
		case slices.Contains(c.members, u.id) || slices.ContainsFunc(added, func(a *user) bool { return a.id == u.id }):
			return nil, conflict("members", "user %s is already a member", key)
		}
		added = append(added, e.keep(u))
	}
	for _, u := range added {
		c.members = append(c.members, u.id)
	}
	if !c.botInstalled {
		return nil, nil
	}
	return []inbound{e.chatMembersEvent(c, by, added, true)}, nil
}

// RemoveGroupChatMember removes a user from a group chat; if the bot is in
// the chat it gets a conversationUpdate (membersRemoved). by is who
// removes them; empty means the user leaves.
func (e *Emulator) RemoveGroupChatMember(ctx context.Context, chatID, userID, by string) (Delivery, error) {
	e.mu.Lock()
	acts, err := e.removeChatMemberLocked(chatID, userID, by)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: chatID, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) removeChatMemberLocked(chatID, userID, by string) ([]inbound, error) {
	c, err := e.groupChatFor(chatID)
	if err != nil {
		return nil, err
	}
	u, err := e.userFor("userId", userID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.members, u.id) {
		return nil, notFound("userId", "user %s is not a member of group chat %s", userID, chatID)
	}
	actor := u
	if by != "" {
		if actor, err = e.chatActor(c, by); err != nil {
			return nil, err
		}
	}
	c.members = slices.DeleteFunc(slices.Clone(c.members), func(id string) bool { return id == u.id })
	if !c.botInstalled {
		return nil, nil
	}
	return []inbound{e.chatMembersEvent(c, actor, []*user{u}, false)}, nil
}

// InstallGroupChatSpec says who adds the bot back to which group chat.
type InstallGroupChatSpec struct {
	// ChatID is the group chat (required).
	ChatID string `json:"chatId"`
	// InstallerID is the member who adds the bot; empty means the first.
	InstallerID string `json:"installerId,omitempty"`
}

// InstallGroupChat adds the bot to a group chat it is not in (one added
// WithoutBot, or one it was removed from): it gets installationUpdate
// (add) and conversationUpdate (membersAdded: bot).
func (e *Emulator) InstallGroupChat(ctx context.Context, s InstallGroupChatSpec) (Delivery, error) {
	return e.setChatBot(ctx, s.ChatID, s.InstallerID, true)
}

// UninstallGroupChat removes the bot from a group chat: it gets
// installationUpdate (remove) and conversationUpdate (membersRemoved: bot),
// and its later calls about the chat get 403 BotNotInConversationRoster.
// by is the member who removes it; empty means the first.
func (e *Emulator) UninstallGroupChat(ctx context.Context, chatID, by string) (Delivery, error) {
	return e.setChatBot(ctx, chatID, by, false)
}

func (e *Emulator) setChatBot(ctx context.Context, chatID, by string, add bool) (Delivery, error) {
	e.mu.Lock()
	acts, err := e.setChatBotLocked(chatID, by, add)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ConversationID: chatID, BotStatus: e.deliver(ctx, acts)}, nil
}

func (e *Emulator) setChatBotLocked(chatID, by string, add bool) ([]inbound, error) {
	c, err := e.groupChatFor(chatID)
	if err != nil {
		return nil, err
	}
	switch {
	case add && c.botInstalled:
		return nil, conflict("chatId", "the bot is already in group chat %s", chatID)
	case !add && !c.botInstalled:
		return nil, invalid("chatId", "the bot is not in group chat %s", chatID)
	}
	actor, err := e.chatActor(c, by)
	if err != nil {
		return nil, err
	}
	c.botInstalled = add
	if add {
		return e.groupChatInstall(c, actor), nil
	}
	return e.groupChatUninstall(c, actor), nil
}

// RenameGroupChat changes a group chat's topic. Teams sends the bot no
// event for it; the chat's later activities carry the new name.
func (e *Emulator) RenameGroupChat(chatID, topic string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.groupChatFor(chatID)
	if err != nil {
		return err
	}
	c.topic = strings.TrimSpace(topic)
	e.notifyLocked()
	return nil
}

// chatMembersEvent is the conversationUpdate for members joining (added)
// or leaving a group chat, sent by by.
func (e *Emulator) chatMembersEvent(c *conversation, by *user, members []*user, added bool) inbound {
	from := by.account()
	ca := e.conversationAccount(c)
	a := &botframework.Activity{Type: botframework.TypeConversationUpdate, ID: e.eventID(), From: &from,
		Conversation: &ca, ChannelData: tenantData(c.tenantID)}
	for _, u := range members {
		acc := botframework.ChannelAccount{ID: u.id, AADObjectID: u.aadObjectID}
		if added {
			a.MembersAdded = append(a.MembersAdded, acc)
		} else {
			a.MembersRemoved = append(a.MembersRemoved, acc)
		}
	}
	return inbound{conv: c, act: a}
}

// groupChatUninstall is what the bot gets when it is removed from a group
// chat.
func (e *Emulator) groupChatUninstall(c *conversation, by *user) []inbound {
	from := by.account()
	ca := e.conversationAccount(c)
	inst := &botframework.Activity{
		Type: botframework.TypeInstallationUpdate, ID: e.eventID(), Action: botframework.ActionRemove, From: &from,
		Conversation: &ca, ChannelData: tenantData(c.tenantID), Entities: []botframework.Entity{clientInfo(by)},
		Locale: by.locale,
	}
	ca2 := ca
	upd := &botframework.Activity{
		Type: botframework.TypeConversationUpdate, ID: e.eventID(), From: &from, Conversation: &ca2,
		ChannelData: tenantData(c.tenantID), MembersRemoved: []botframework.ChannelAccount{{ID: e.BotID()}},
	}
	return []inbound{{conv: c, act: inst}, {conv: c, act: upd}}
}

// Scenario API handlers of group chats.

func (e *Emulator) hAddGroupChatMembers(r *http.Request) (int, any, error) {
	var s GroupChatMembersSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.AddGroupChatMembers(r.Context(), r.PathValue("chatId"), s)
	return http.StatusOK, d, err
}

func (e *Emulator) hRemoveGroupChatMember(r *http.Request) (int, any, error) {
	d, err := e.RemoveGroupChatMember(r.Context(), r.PathValue("chatId"), r.PathValue("userId"), r.URL.Query().Get("by"))
	return http.StatusOK, d, err
}

func (e *Emulator) hRenameGroupChat(r *http.Request) (int, any, error) {
	var s struct {
		Topic string `json:"topic"`
	}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("chatId")
	if err := e.RenameGroupChat(id, s.Topic); err != nil {
		return 0, nil, err
	}
	c, _ := e.Conversation(id)
	return http.StatusOK, c, nil
}

func (e *Emulator) hInstallGroupChat(r *http.Request) (int, any, error) {
	var s InstallGroupChatSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.InstallGroupChat(r.Context(), s)
	return http.StatusOK, d, err
}

func (e *Emulator) hUninstallGroupChat(r *http.Request) (int, any, error) {
	var s struct {
		ChatID string `json:"chatId"`
		By     string `json:"by,omitempty"`
	}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.UninstallGroupChat(r.Context(), s.ChatID, s.By)
	return http.StatusOK, d, err
}
