package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"herald"

	"herald/botframework"
)

// freshRoster is how old a team's roster may be and still count as just
// fetched.
const freshRoster = 5 * time.Minute

// teamAddedTask is queued when the bot joins a team.
type teamAddedTask struct {
	TeamID        string `json:"teamId"`
	ChannelID     string `json:"channelId"`
	TenantID      string `json:"tenantId"`
	ServiceURL    string `json:"serviceUrl"`
	InstallerID   string `json:"installerId,omitempty"`
	InstallerName string `json:"installerName,omitempty"`
	BotName       string `json:"botName,omitempty"`
	Welcome       bool   `json:"welcome"`
}

// personalWelcomeTask is queued when someone installs the bot personally.
type personalWelcomeTask struct {
	UserID         string `json:"userId"`
	ConversationID string `json:"conversationId"`
	TenantID       string `json:"tenantId"`
	ServiceURL     string `json:"serviceUrl"`
	BotName        string `json:"botName,omitempty"`
}

// memberWelcomeTask is queued (twice: channel card and personal message)
// when someone joins a team the bot is in, and (the personal message) when
// someone joins a group chat it is in: then ChatID is set, not TeamID.
type memberWelcomeTask struct {
	TeamID     string `json:"teamId,omitempty"`
	ChatID     string `json:"chatId,omitempty"`
	UserID     string `json:"userId"`
	TenantID   string `json:"tenantId"`
	ServiceURL string `json:"serviceUrl"`
	AddedBy    string `json:"addedBy,omitempty"`
	BotName    string `json:"botName,omitempty"`
}

func (b *Bot) botName(fromActivity string) string {
	switch {
	case b.cfg.BotName != "":
		return b.cfg.BotName
	case fromActivity != "":
		return fromActivity
	}
	return "This bot"
}

// welcomeOnce sends one welcome unless it is disabled or one of the same
// kind went to subject within the window. send does the sending with the
// welcome's identity as SendOptions; the welcome is recorded after it
// succeeds, so a crash in between sends it again rather than never (at
// least once) — unless the Sender deduplicates by key, as the engine
// sender does: the key stays the same until the welcome is recorded.
func (b *Bot) welcomeOnce(ctx context.Context, kind, subject string, send func(SendOptions) error) error {
	if b.welcome.disabled(kind) {
		return nil
	}
	last, err := b.store.WelcomeLast(ctx, kind, subject)
	if err != nil {
		return err
	}
	if b.welcome.recent(last, b.now()) {
		return nil
	}
	if err := send(SendOptions{Key: welcomeKey(kind, subject, last)}); err != nil {
		return err
	}
	return b.store.WelcomeMark(ctx, kind, subject, b.now())
}

// welcomeKey identifies one welcome: its kind, its subject and when the
// previous welcome of that kind went to the subject (zero for the first),
// so a retry or a duplicate event gets the same key and a welcome after
// the window a new one.
func welcomeKey(kind, subject string, last time.Time) string {
	stamp := int64(0)
	if !last.IsZero() {
		stamp = last.UnixMicro()
	}
	return "herald-welcome:" + kind + ":" + subject + ":" + strconv.FormatInt(stamp, 10)
}

// render fills in a welcome template and wraps it in a message.
func (b *Bot) render(kind string, d WelcomeData) (*botframework.Activity, error) {
	d.GuideURL, d.Command = b.welcome.cfg.GuideURL, b.welcome.cfg.Command
	att, err := b.welcome.templates[kind].Render(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errDrop)
	}
	return &botframework.Activity{Type: botframework.TypeMessage, Summary: "Welcome",
		Attachments: []botframework.Attachment{att}}, nil
}

// teamAdded fetches the new team's channels and roster, then posts the
// team welcome in the channel the bot was added to.
func (b *Bot) teamAdded(ctx context.Context, p teamAddedTask) error {
	t, err := b.store.TeamGet(ctx, p.TeamID)
	if err != nil {
		return err
	}
	// Teams sends two or more events per install: the roster fetched for
	// the first one is still true for the others.
	if b.now().Sub(t.RosterAt) > freshRoster {
		if _, err := b.syncTeam(ctx, p.TeamID); err != nil {
			return err
		}
		if t, err = b.store.TeamGet(ctx, p.TeamID); err != nil {
			return err
		}
	}
	if !p.Welcome || !t.Installed || t.Deleted || t.Archived {
		return nil
	}
	if limit := b.welcome.cfg.LargeTeam; limit > 0 {
		members, err := b.store.UserList(ctx, herald.UserListParams{TeamID: t.ID, Limit: limit + 1})
		if err != nil {
			return err
		}
		if n := len(members); n > limit {
			b.log.Info("team welcome skipped: large team", "team", t.ID, "members", n, "limit", limit)
			return nil
		}
	}
	return b.welcomeOnce(ctx, WelcomeTeam, t.ID, func(opts SendOptions) error {
		channelID, channelName := p.ChannelID, ""
		if channelID == "" {
			channelID = t.ID
		}
		if c, err := b.store.ChannelFind(ctx, t.ID, channelID); err == nil {
			channelName = c.Name
		}
		msg, err := b.render(WelcomeTeam, WelcomeData{BotName: b.botName(p.BotName), TeamName: t.Name,
			ChannelName: channelName, InstallerName: p.InstallerName})
		if err != nil {
			return err
		}
		_, err = b.sender.SendToConversation(ctx, herald.Conversation{ID: channelID, Type: botframework.ConversationChannel,
			TenantID: t.TenantID, ServiceURL: firstNonEmpty(t.ServiceURL, p.ServiceURL), TeamID: t.ID, ChannelID: channelID}, msg, opts)
		return err
	})
}

// welcomePersonal sends the personal-install welcome.
func (b *Bot) welcomePersonal(ctx context.Context, p personalWelcomeTask) error {
	u, err := b.store.UserGet(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !u.Installed || !u.Reachable() {
		return nil // uninstalled or blocked since: no welcome
	}
	return b.welcomeOnce(ctx, WelcomePersonal, u.ID, func(opts SendOptions) error {
		msg, err := b.render(WelcomePersonal, WelcomeData{BotName: b.botName(p.BotName), UserName: u.Name})
		if err != nil {
			return err
		}
		if u.ConversationID == "" {
			u.ConversationID = p.ConversationID
		}
		_, err = b.sender.SendToUser(ctx, u, msg, opts)
		return err
	})
}

// queueMemberWelcome queues the two welcomes of a new team member.
func (b *Bot) queueMemberWelcome(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string, m botframework.ChannelAccount) error {
	p := memberWelcomeTask{TeamID: team.ID, UserID: m.ID, TenantID: tenantID, ServiceURL: a.ServiceURL, BotName: recipientName(a)}
	if a.From != nil && a.From.ID != m.ID {
		p.AddedBy = a.From.Name
	}
	key := team.ID + " " + m.ID
	if !b.welcome.disabled(WelcomeMemberChannel) {
		if err := b.addTask(ctx, taskMemberChannel, key, p); err != nil {
			return err
		}
	}
	if !b.welcome.disabled(WelcomeMemberPersonal) {
		return b.addTask(ctx, taskMemberPersonal, key, p)
	}
	return nil
}

// member loads a new member with their name, fetching it from the team's
// or group chat's roster when the directory does not have it yet.
func (b *Bot) member(ctx context.Context, r rosterRef, userID string) (herald.User, error) {
	u, err := b.store.UserGet(ctx, userID)
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		return herald.User{}, err
	}
	if err == nil && u.Name != "" {
		return u, nil
	}
	cl, err := b.rosterClient(ctx, r)
	if err != nil {
		return herald.User{}, err
	}
	m, err := cl.GetMember(ctx, r.id, userID)
	if err != nil {
		return herald.User{}, fmt.Errorf("get member: %w", err)
	}
	tenant := firstNonEmpty(m.TenantID, r.tenantID)
	return b.store.UserUpsert(ctx, herald.UserUpsertParams{ID: userID, TenantID: tenant, AADObjectID: m.EntraID(),
		UPN: m.UserPrincipalName, Email: m.Email, Name: m.Name, GivenName: m.GivenName, Surname: m.Surname})
}

// memberContext loads what both member welcomes need, and reports false
// when the welcome no longer applies (team gone, member left).
func (b *Bot) memberContext(ctx context.Context, p memberWelcomeTask) (herald.Team, herald.User, bool, error) {
	t, err := b.store.TeamGet(ctx, p.TeamID)
	if err != nil {
		return herald.Team{}, herald.User{}, false, err
	}
	if !t.Installed || t.Deleted || t.Archived {
		return t, herald.User{}, false, nil
	}
	u, err := b.member(ctx, teamRoster(t), p.UserID)
	if err != nil {
		if botframework.Classify(err).Reason == botframework.ReasonMemberNotFound {
			return t, herald.User{}, false, nil // left again already
		}
		return t, herald.User{}, false, err
	}
	return t, u, true, nil
}

// welcomeMemberChannel posts the card welcoming a new member by name in
// the team's General channel.
func (b *Bot) welcomeMemberChannel(ctx context.Context, p memberWelcomeTask) error {
	t, u, ok, err := b.memberContext(ctx, p)
	if err != nil || !ok {
		return err
	}
	return b.welcomeOnce(ctx, WelcomeMemberChannel, t.ID+" "+u.ID, func(opts SendOptions) error {
		msg, err := b.render(WelcomeMemberChannel, WelcomeData{BotName: b.botName(p.BotName), TeamName: t.Name,
			UserName: firstNonEmpty(u.Name, "our new colleague"), InstallerName: p.AddedBy})
		if err != nil {
			return err
		}
		general := firstNonEmpty(t.GeneralChannelID, t.ID)
		_, err = b.sender.SendToConversation(ctx, herald.Conversation{ID: general, Type: botframework.ConversationChannel,
			TenantID: t.TenantID, ServiceURL: firstNonEmpty(t.ServiceURL, p.ServiceURL), TeamID: t.ID, ChannelID: general}, msg, opts)
		return err
	})
}

// welcomeMemberPersonal sends the new member a personal message with the
// guide link.
func (b *Bot) welcomeMemberPersonal(ctx context.Context, p memberWelcomeTask) error {
	if p.ChatID != "" {
		return b.welcomeChatMemberPersonal(ctx, p)
	}
	t, u, ok, err := b.memberContext(ctx, p)
	if err != nil || !ok {
		return err
	}
	if !u.Reachable() {
		return nil
	}
	return b.welcomeOnce(ctx, WelcomeMemberPersonal, t.ID+" "+u.ID, func(opts SendOptions) error {
		msg, err := b.render(WelcomeMemberPersonal, WelcomeData{BotName: b.botName(p.BotName), TeamName: t.Name,
			UserName: u.Name, InstallerName: p.AddedBy})
		if err != nil {
			return err
		}
		if u.ServiceURL == "" {
			u.ServiceURL = firstNonEmpty(t.ServiceURL, p.ServiceURL)
		}
		if u.TenantID == "" {
			u.TenantID = firstNonEmpty(t.TenantID, p.TenantID)
		}
		_, err = b.sender.SendToUser(ctx, u, msg, opts)
		return err
	})
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
