package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"herald"

	"herald/botframework"
)

// capture records what a verified activity says about tenants, users,
// teams, channels, memberships and conversations, and queues the
// background work it calls for (roster fetches, welcomes). Everything it
// queues is in the store before Teams gets its answer.
func (b *Bot) capture(ctx context.Context, t *Turn) error {
	a := t.Activity
	now := b.now()
	tenantID := a.TenantID()
	if key := "tenant\x00" + tenantID + "\x00" + a.ServiceURL; tenantID != "" && !b.recent.fresh(key, now) {
		if err := b.store.TenantUpsert(ctx, herald.Tenant{ID: tenantID, ServiceURL: a.ServiceURL, LastSeen: now}); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		b.recent.wrote(key, now)
	}
	team := a.Team()
	if team != nil && team.ID == "" {
		team = nil
	}
	if team != nil {
		if err := b.captureTeam(ctx, a, team, tenantID); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	if err := b.captureConversation(ctx, a, team, tenantID); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	sender, err := b.captureSender(ctx, a, team, tenantID)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	for _, m := range a.Mentions() {
		if !herald.IsUserID(m.Mentioned.ID) {
			continue
		}
		_, err := b.store.UserUpsert(ctx, herald.UserUpsertParams{ID: m.Mentioned.ID, Name: m.Mentioned.Name,
			AADObjectID: m.Mentioned.AADObjectID, TenantID: tenantID, ServiceURL: a.ServiceURL})
		if err != nil {
			return fmt.Errorf("capture mention: %w", err)
		}
	}
	switch a.Type {
	case botframework.TypeInstallationUpdate:
		err = b.captureInstallation(ctx, a, team, tenantID, sender)
	case botframework.TypeConversationUpdate:
		err = b.captureConversationUpdate(ctx, a, team, tenantID, sender)
	}
	if err != nil {
		return fmt.Errorf("capture %s: %w", a.Type, err)
	}
	// A personal install or message carries no email or UPN: fetch them
	// once, so the user can be reached by either.
	if sender.ID != "" && isPersonal(a, team) && !b.batchesInstall(a) {
		if err := b.queueUserDetails(ctx, a, sender, tenantID); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	return nil
}

// isPersonal reports whether the activity comes from a 1:1 chat.
func isPersonal(a *botframework.Activity, team *botframework.TeamInfo) bool {
	c := a.Conversation
	if c.ConversationType != "" {
		return c.ConversationType == botframework.ConversationPersonal
	}
	return team == nil && !c.IsGroup
}

// channelOf returns the channel a team activity concerns: the channel in
// channelData, else the conversation's channel (without a thread suffix).
func channelOf(a *botframework.Activity, team *botframework.TeamInfo) string {
	if cd := a.ChannelData; cd != nil {
		if cd.Channel != nil && cd.Channel.ID != "" {
			return cd.Channel.ID
		}
		if cd.Settings != nil && cd.Settings.SelectedChannel != nil && cd.Settings.SelectedChannel.ID != "" {
			return cd.Settings.SelectedChannel.ID
		}
	}
	if id, _, _ := strings.Cut(a.Conversation.ID, ";"); strings.HasPrefix(id, "19:") {
		return id
	}
	return team.ID
}

func (b *Bot) captureTeam(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string) error {
	p := herald.TeamUpsertParams{ID: team.ID, TenantID: tenantID, AADGroupID: team.AADGroupID, Name: team.Name,
		GeneralChannelID: team.ID, ServiceURL: a.ServiceURL}
	yes, no := true, false
	if a.Type == botframework.TypeConversationUpdate {
		switch a.EventType() {
		case botframework.EventTeamArchived:
			p.Archived = &yes
		case botframework.EventTeamUnarchived:
			p.Archived = &no
		case botframework.EventTeamDeleted, botframework.EventTeamHardDeleted:
			p.Deleted = &yes
		case botframework.EventTeamRestored:
			p.Deleted = &no
		}
	}
	if _, err := b.store.TeamUpsert(ctx, p); err != nil {
		return err
	}
	if cd := a.ChannelData; cd != nil && cd.Channel != nil && cd.Channel.ID != "" {
		ch := herald.Channel{ID: cd.Channel.ID, TeamID: team.ID, Name: cd.Channel.Name, Type: cd.Channel.Type}
		if ch.ID == team.ID && ch.Name == "" {
			ch.Name = herald.GeneralName
		}
		ch.Deleted = a.EventType() == botframework.EventChannelDeleted
		if err := b.store.ChannelUpsert(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bot) captureConversation(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string) error {
	c := herald.Conversation{ID: a.Conversation.ID, Type: a.Conversation.ConversationType, TenantID: tenantID, ServiceURL: a.ServiceURL}
	if a.Recipient != nil {
		c.BotID = a.Recipient.ID
	}
	switch {
	case team != nil:
		c.TeamID, c.ChannelID = team.ID, channelOf(a, team)
		if c.Type == "" {
			c.Type = botframework.ConversationChannel
		}
	case isPersonal(a, team):
		if c.Type == "" {
			c.Type = botframework.ConversationPersonal
		}
		if a.From != nil && herald.IsUserID(a.From.ID) {
			c.UserID = a.From.ID
		}
	case isGroupChat(a, team):
		c.ID, c.Type, c.Name = chatID(a), botframework.ConversationGroupChat, strings.TrimSpace(a.Conversation.Name)
	}
	key := strings.Join([]string{"conversation", c.ID, c.Type, c.TenantID, c.ServiceURL, c.TeamID, c.ChannelID, c.UserID, c.BotID, c.Name}, "\x00")
	if b.recent.fresh(key, b.now()) {
		return nil
	}
	if err := b.store.ConversationUpsert(ctx, c); err != nil {
		return err
	}
	b.recent.wrote(key, b.now())
	return nil
}

// captureSender records the activity's sender, when it is a user, and
// returns the recorded user (the zero User when there is none).
func (b *Bot) captureSender(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string) (herald.User, error) {
	if a.From == nil || !herald.IsUserID(a.From.ID) {
		return herald.User{}, nil
	}
	p := herald.UserUpsertParams{ID: a.From.ID, TenantID: tenantID, AADObjectID: a.From.AADObjectID, Name: a.From.Name,
		ServiceURL: a.ServiceURL, Locale: a.Locale, TimeZone: a.LocalTimezone, LastSeen: b.now()}
	if ci, ok := a.ClientInfo(); ok {
		if ci.Locale != "" {
			p.Locale = ci.Locale
		}
		if ci.Timezone != "" {
			p.TimeZone = ci.Timezone
		}
	}
	if isPersonal(a, team) {
		p.ConversationID = a.Conversation.ID
	}
	u, err := b.store.UserUpsert(ctx, p)
	if err != nil {
		return herald.User{}, err
	}
	switch a.Type {
	case botframework.TypeMessage, botframework.TypeInvoke, botframework.TypeMessageReaction:
	default:
		return u, nil // not something the user did
	}
	// Someone who writes to the bot, clicks its cards or reacts to its
	// messages has not blocked it (any more).
	if u.Blocked {
		if err := b.store.UserSetBlocked(ctx, u.ID, false); err != nil {
			return herald.User{}, err
		}
		b.details.forget(u.ID)
	}
	if u.Uninstalled && isPersonal(a, team) {
		if err := b.store.UserSetInstalled(ctx, u.ID, true, b.now()); err != nil {
			return herald.User{}, err
		}
		if err := b.setRemoved(ctx, a.Conversation.ID, false); err != nil {
			return herald.User{}, err
		}
	}
	if group := groupOf(a, team); group != "" {
		if err := b.store.MembershipAdd(ctx, group, u.ID); err != nil {
			return herald.User{}, err
		}
	}
	return u, nil
}

func (b *Bot) captureInstallation(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string, sender herald.User) error {
	switch a.Action {
	case botframework.ActionAdd, botframework.ActionAddUpgrade:
		return b.installed(ctx, a, team, tenantID, a.Action == botframework.ActionAdd, sender)
	case botframework.ActionRemove, botframework.ActionRemoveUpgrade:
		return b.uninstalled(ctx, a, team)
	}
	return nil
}

func (b *Bot) captureConversationUpdate(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string, sender herald.User) error {
	botAdded := a.BotAdded()
	if botAdded {
		if err := b.installed(ctx, a, team, tenantID, true, sender); err != nil {
			return err
		}
	}
	if a.BotRemoved() {
		if err := b.uninstalled(ctx, a, team); err != nil {
			return err
		}
	}
	group := groupOf(a, team)
	var added []herald.User
	for _, m := range a.MembersAdded {
		if !herald.IsUserID(m.ID) {
			continue
		}
		u, err := b.store.UserUpsert(ctx, herald.UserUpsertParams{ID: m.ID, AADObjectID: m.AADObjectID, Name: m.Name,
			TenantID: tenantID, ServiceURL: a.ServiceURL})
		if err != nil {
			return err
		}
		if group == "" {
			continue
		}
		if err := b.store.MembershipAdd(ctx, group, m.ID); err != nil {
			return err
		}
		added = append(added, u)
		if team != nil && !botAdded {
			if err := b.queueMemberWelcome(ctx, a, team, tenantID, m); err != nil {
				return err
			}
		}
	}
	if group != "" && !botAdded && len(added) > 0 {
		if err := b.membersJoined(ctx, a, team, group, tenantID, added); err != nil {
			return err
		}
	}
	if group != "" {
		for _, m := range a.MembersRemoved {
			if herald.IsUserID(m.ID) {
				if err := b.store.MembershipRemove(ctx, group, m.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// installed records the bot's addition to a team, a group chat or a
// personal chat and queues the roster fetch and (for a fresh install, not
// an upgrade) the welcome.
// sender is the sender as just recorded (the zero User when none).
func (b *Bot) installed(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, tenantID string, fresh bool, sender herald.User) error {
	now := b.now()
	if team != nil {
		if err := b.store.TeamSetInstalled(ctx, team.ID, true, now); err != nil {
			return err
		}
		if err := b.setTeamRemoved(ctx, a, team, false); err != nil {
			return err
		}
		p := teamAddedTask{TeamID: team.ID, ChannelID: channelOf(a, team), TenantID: tenantID,
			ServiceURL: a.ServiceURL, Welcome: fresh, BotName: recipientName(a)}
		if a.From != nil && herald.IsUserID(a.From.ID) {
			p.InstallerID, p.InstallerName = a.From.ID, a.From.Name
		}
		return b.addTask(ctx, taskTeamAdded, team.ID, p)
	}
	if isGroupChat(a, team) {
		return b.groupChatInstalled(ctx, a, tenantID, fresh)
	}
	if !isPersonal(a, team) || a.From == nil || !herald.IsUserID(a.From.ID) {
		return nil
	}
	// Teams sends two activities per install: the second finds the user
	// installed already.
	if sender.ID != a.From.ID || !sender.Installed || sender.Uninstalled {
		if err := b.store.UserSetInstalled(ctx, a.From.ID, true, now); err != nil {
			return err
		}
		if err := b.setRemoved(ctx, a.Conversation.ID, false); err != nil {
			return err
		}
	}
	if !fresh {
		return nil
	}
	b.details.reopen(a.From.ID, now) // a new install may fetch the details again at once
	p := personalWelcomeTask{UserID: a.From.ID, ConversationID: a.Conversation.ID, TenantID: tenantID,
		ServiceURL: a.ServiceURL, BotName: recipientName(a)}
	if b.notifier != nil {
		// The welcome is stored as a notification of the delivery engine
		// before Teams gets its answer, in a batch with the welcomes of
		// installs arriving meanwhile: one durable hop, no task.
		return b.welcomes.add(ctx, b, b.notifier, p)
	}
	return b.addTask(ctx, taskWelcomePersonal, a.From.ID, p)
}

// uninstalled records the bot's removal from a team, a group chat or a
// personal chat, and marks the conversation removed.
func (b *Bot) uninstalled(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo) error {
	now := b.now()
	if team != nil {
		if err := b.store.TeamSetInstalled(ctx, team.ID, false, now); err != nil {
			return err
		}
		return b.setTeamRemoved(ctx, a, team, true)
	}
	if isGroupChat(a, team) {
		return b.setRemoved(ctx, chatID(a), true)
	}
	if !isPersonal(a, team) || a.From == nil || !herald.IsUserID(a.From.ID) {
		return nil
	}
	if err := b.setRemoved(ctx, a.Conversation.ID, true); err != nil {
		return err
	}
	return b.store.UserSetInstalled(ctx, a.From.ID, false, now)
}

func recipientName(a *botframework.Activity) string {
	if a.Recipient != nil {
		return a.Recipient.Name
	}
	return ""
}

// batchesInstall reports whether a is a personal install whose welcome
// and member fetch go into a batch (welcome_batch.go).
func (b *Bot) batchesInstall(a *botframework.Activity) bool {
	install := a.Type == botframework.TypeInstallationUpdate && a.Action == botframework.ActionAdd ||
		a.Type == botframework.TypeConversationUpdate && a.BotAdded()
	return b.notifier != nil && install
}

// addTask queues background work as a durable job, unique by kind and
// key while it waits or runs.
func (b *Bot) addTask(ctx context.Context, kind, key string, payload any) error {
	return b.addJob(ctx, herald.Job{Kind: kind, Key: key}, payload)
}

// addJob queues j with payload as its arguments.
func (b *Bot) addJob(ctx context.Context, j herald.Job, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s task: %w", j.Kind, err)
	}
	j.Args = data
	if j.MaxAttempts == 0 {
		j.MaxAttempts = b.cfg.TaskAttempts
	}
	if _, err := b.cfg.Jobs.Enqueue(ctx, j); err != nil {
		return fmt.Errorf("queue %s task: %w", j.Kind, err)
	}
	return nil
}
