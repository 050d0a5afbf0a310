package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"herald"

	"herald/botframework"
)

// Group chat welcomes. When Herald is added to a group chat it fetches
// the chat's members and posts one card in the chat saying who added it,
// what it offers and what to do next (WelcomeGroupChat, once per chat
// within the welcome window). When people are added later it posts one
// card per event in the chat naming each of them with a Teams mention
// (WelcomeGroupChatMember), and welcomes personally those it can reach
// personally (WelcomeMemberPersonal).
//
// Whom Herald can reach personally: Microsoft's proactive-messaging guide
// says a user receives proactive messages when the app is installed for
// them or they are in a team where it is installed; a group chat install
// is not among them, and creating a 1:1 chat by Entra id fails with 403
// unless the app is installed personally (teams-protocol.md §2.2). So a
// new group chat member is welcomed personally only when Herald has a
// personal install or a personal chat with them already; the others get
// the card in the chat alone.

// groupChatAddedTask is queued when the bot joins a group chat.
type groupChatAddedTask struct {
	ChatID        string `json:"chatId"`
	TenantID      string `json:"tenantId"`
	ServiceURL    string `json:"serviceUrl"`
	InstallerID   string `json:"installerId,omitempty"`
	InstallerName string `json:"installerName,omitempty"`
	BotName       string `json:"botName,omitempty"`
	Welcome       bool   `json:"welcome"`
}

// groupChatMembersTask is queued when people join a group chat the bot is
// in: one card names them all.
type groupChatMembersTask struct {
	ChatID     string   `json:"chatId"`
	UserIDs    []string `json:"userIds"`
	TenantID   string   `json:"tenantId"`
	ServiceURL string   `json:"serviceUrl"`
	AddedBy    string   `json:"addedBy,omitempty"`
	BotName    string   `json:"botName,omitempty"`
}

// maxMentions bounds the people one member card mentions by name; the
// rest are counted.
const maxMentions = 20

// queueGroupChatWelcomes queues the card naming the people just added to
// a group chat and their personal welcomes.
func (b *Bot) queueGroupChatWelcomes(ctx context.Context, a *botframework.Activity, chat, tenantID string, added []herald.User) error {
	p := groupChatMembersTask{ChatID: chat, TenantID: tenantID, ServiceURL: a.ServiceURL, BotName: recipientName(a)}
	for _, u := range added {
		p.UserIDs = append(p.UserIDs, u.ID)
	}
	if a.From != nil && !slices.Contains(p.UserIDs, a.From.ID) {
		p.AddedBy = a.From.Name
	}
	if !b.welcome.disabled(WelcomeGroupChatMember) {
		sorted := slices.Sorted(slices.Values(p.UserIDs))
		sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
		if err := b.addTask(ctx, taskGroupChatMembers, chat+" "+hex.EncodeToString(sum[:12]), p); err != nil {
			return err
		}
	}
	if b.welcome.disabled(WelcomeMemberPersonal) {
		return nil
	}
	for _, u := range added {
		m := memberWelcomeTask{ChatID: chat, UserID: u.ID, TenantID: tenantID, ServiceURL: a.ServiceURL, BotName: p.BotName}
		if a.From != nil && a.From.ID != u.ID {
			m.AddedBy = a.From.Name
		}
		if err := b.addTask(ctx, taskMemberPersonal, chat+" "+u.ID, m); err != nil {
			return err
		}
	}
	return nil
}

// groupChat loads a group chat, with the task's serviceUrl and tenant
// where the record lacks them, and reports false when the bot is no
// longer in it.
func (b *Bot) groupChat(ctx context.Context, id, serviceURL, tenantID string) (herald.Conversation, bool, error) {
	c, err := b.store.ConversationGet(ctx, id)
	if errors.Is(err, herald.ErrNotFound) {
		return c, false, fmt.Errorf("group chat %s: %w: %w", id, err, errDrop)
	}
	if err != nil {
		return c, false, err
	}
	c.ServiceURL, c.TenantID = firstNonEmpty(c.ServiceURL, serviceURL), firstNonEmpty(c.TenantID, tenantID)
	return c, !c.Removed, nil
}

// groupChatAdded fetches the new group chat's members, then posts the
// group chat welcome. Teams sends two activities per install: the second
// one's job finds the members just fetched and the welcome recorded.
func (b *Bot) groupChatAdded(ctx context.Context, p groupChatAddedTask) error {
	c, ok, err := b.groupChat(ctx, p.ChatID, p.ServiceURL, p.TenantID)
	if err != nil || !ok {
		return err
	}
	key := "chat-roster\x00" + c.ID
	if !b.recent.fresh(key, b.now()) {
		if err := b.syncGroupChat(ctx, c); err != nil {
			return err
		}
		b.recent.wrote(key, b.now())
	}
	if !p.Welcome {
		return nil
	}
	if limit := b.welcome.cfg.LargeTeam; limit > 0 {
		members, err := b.store.UserList(ctx, herald.UserListParams{TeamID: c.ID, Limit: limit + 1})
		if err != nil {
			return err
		}
		if n := len(members); n > limit {
			b.log.Info("group chat welcome skipped: large chat", "chat", c.ID, "members", n, "limit", limit)
			return nil
		}
	}
	return b.welcomeOnce(ctx, WelcomeGroupChat, c.ID, func(opts SendOptions) error {
		msg, err := b.render(WelcomeGroupChat, WelcomeData{BotName: b.botName(p.BotName), ChatName: c.Name,
			InstallerName: p.InstallerName, GroupChat: true})
		if err != nil {
			return err
		}
		_, err = b.sender.SendToConversation(ctx, c, msg, opts)
		return err
	})
}

// welcomeGroupChatMembers posts the card naming the people of one
// membersAdded event in the chat, leaving out those welcomed there within
// the window and those who left again.
func (b *Bot) welcomeGroupChatMembers(ctx context.Context, p groupChatMembersTask) error {
	if b.welcome.disabled(WelcomeGroupChatMember) {
		return nil
	}
	c, ok, err := b.groupChat(ctx, p.ChatID, p.ServiceURL, p.TenantID)
	if err != nil || !ok {
		return err
	}
	now := b.now()
	var people []herald.User
	var marks []herald.WelcomeMark
	for _, id := range p.UserIDs {
		last, err := b.store.WelcomeLast(ctx, WelcomeGroupChatMember, c.ID+" "+id)
		if err != nil {
			return err
		}
		if b.welcome.recent(last, now) {
			continue
		}
		u, err := b.member(ctx, chatRoster(c), id)
		if botframework.Classify(err).Reason == botframework.ReasonMemberNotFound {
			continue // left again already
		}
		if err != nil {
			return err
		}
		people = append(people, u)
		marks = append(marks, herald.WelcomeMark{Subject: c.ID + " " + id, Last: last})
	}
	if len(people) == 0 {
		return nil
	}
	names, mentions := mentionList(people)
	msg, err := b.render(WelcomeGroupChatMember, WelcomeData{BotName: b.botName(p.BotName), ChatName: c.Name,
		UserName: names, InstallerName: p.AddedBy, GroupChat: true})
	if err != nil {
		return err
	}
	if err := withMentions(msg, mentions); err != nil {
		return fmt.Errorf("%w: %w", err, errDrop)
	}
	if _, err := b.sender.SendToConversation(ctx, c, msg, SendOptions{Key: welcomeKey(WelcomeGroupChatMember, marks[0].Subject, marks[0].Last)}); err != nil {
		return err
	}
	for _, m := range marks {
		if err := b.store.WelcomeMark(ctx, WelcomeGroupChatMember, m.Subject, now); err != nil {
			return err
		}
	}
	return nil
}

// mentionList returns the text naming people with Teams mentions ("<at>Ann
// Lee</at>, <at>Ben Ode</at> and <at>Cat Ray</at>"; past maxMentions, "and
// N others") and the mention entities it uses.
func mentionList(people []herald.User) (string, []botframework.Entity) {
	var parts []string
	var ents []botframework.Entity
	for _, u := range people[:min(len(people), maxMentions)] {
		e, text := botframework.NewMention(botframework.ChannelAccount{ID: u.ID, Name: firstNonEmpty(u.Name, "a new member")})
		parts, ents = append(parts, text), append(ents, e)
	}
	if rest := len(people) - len(parts); rest > 0 {
		parts = append(parts, strconv.Itoa(rest)+" others")
	}
	if len(parts) == 1 {
		return parts[0], ents
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1], ents
}

// withMentions makes the <at>Name</at> texts of a welcome card mentions:
// Teams reads the mentions of an Adaptive Card from its msteams.entities;
// the activity carries them too, as a message with mentions does.
func withMentions(msg *botframework.Activity, ents []botframework.Entity) error {
	for i, att := range msg.Attachments {
		if att.ContentType != botframework.ContentTypeAdaptiveCard {
			continue
		}
		var card map[string]json.RawMessage
		if err := json.Unmarshal(att.Content, &card); err != nil {
			return fmt.Errorf("add mentions: %w", err)
		}
		ms, err := json.Marshal(map[string]any{"entities": ents})
		if err != nil {
			return fmt.Errorf("add mentions: %w", err)
		}
		card["msteams"] = ms
		if msg.Attachments[i].Content, err = json.Marshal(card); err != nil {
			return fmt.Errorf("add mentions: %w", err)
		}
	}
	msg.Entities = append(msg.Entities, ents...)
	return nil
}

// welcomeChatMemberPersonal sends a new group chat member the personal
// welcome, when Herald can reach them personally (see the top of this
// file).
func (b *Bot) welcomeChatMemberPersonal(ctx context.Context, p memberWelcomeTask) error {
	c, ok, err := b.groupChat(ctx, p.ChatID, p.ServiceURL, p.TenantID)
	if err != nil || !ok {
		return err
	}
	u, err := b.member(ctx, chatRoster(c), p.UserID)
	if botframework.Classify(err).Reason == botframework.ReasonMemberNotFound {
		return nil // left again already
	}
	if err != nil {
		return err
	}
	if !u.Reachable() || (!u.Installed && u.ConversationID == "") {
		return nil
	}
	return b.welcomeOnce(ctx, WelcomeMemberPersonal, c.ID+" "+u.ID, func(opts SendOptions) error {
		msg, err := b.render(WelcomeMemberPersonal, WelcomeData{BotName: b.botName(p.BotName), ChatName: c.Name,
			GroupChat: true, UserName: u.Name, InstallerName: p.AddedBy})
		if err != nil {
			return err
		}
		u.ServiceURL, u.TenantID = firstNonEmpty(u.ServiceURL, c.ServiceURL), firstNonEmpty(u.TenantID, c.TenantID)
		_, err = b.sender.SendToUser(ctx, u, msg, opts)
		return err
	})
}
