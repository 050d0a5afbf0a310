package bot

import (
	"context"
	"errors"
	"strings"

	"herald"

	"herald/botframework"
)

// A group chat ("19:…@thread.v2", conversationType groupChat) is a
// conversation of its own: Herald records it with its topic, its members
// (memberships under the chat's id, as a team's are under the team's),
// and whether the bot is in it (Conversation.Removed). Teams tells the bot
// of an install with an installationUpdate and a conversationUpdate naming
// the bot (both handled, the welcome goes once), of people joining and
// leaving with a conversationUpdate (membersAdded, membersRemoved) and of
// the bot's removal with an installationUpdate (remove) and a
// conversationUpdate naming the bot (teams-protocol.md §1.4).

// isGroupChat reports whether the activity comes from a group chat.
func isGroupChat(a *botframework.Activity, team *botframework.TeamInfo) bool {
	c := a.Conversation
	if c.ConversationType != "" {
		return c.ConversationType == botframework.ConversationGroupChat
	}
	return team == nil && c.IsGroup
}

// chatID returns the group chat an activity comes from: its conversation
// id without a message suffix.
func chatID(a *botframework.Activity) string {
	id, _, _ := strings.Cut(a.Conversation.ID, ";")
	return id
}

// groupOf returns the id the memberships of the activity's conversation
// are recorded under: the team's, or the group chat's; "" for a personal
// chat.
func groupOf(a *botframework.Activity, team *botframework.TeamInfo) string {
	switch {
	case team != nil:
		return team.ID
	case isGroupChat(a, team):
		return chatID(a)
	}
	return ""
}

// setRemoved records that the bot was removed from (true) or added back
// to (false) a conversation; one never recorded is left alone.
func (b *Bot) setRemoved(ctx context.Context, id string, removed bool) error {
	err := b.store.ConversationSetRemoved(ctx, id, removed)
	if errors.Is(err, herald.ErrNotFound) {
		return nil
	}
	return err
}

// setTeamRemoved marks the conversations a team install or uninstall
// names: the team's (its General channel) and the activity's (the channel
// selected at install). The team's other channels and threads keep their
// mark; the team's own Installed flag is what sends go by.
func (b *Bot) setTeamRemoved(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, removed bool) error {
	if err := b.setRemoved(ctx, team.ID, removed); err != nil {
		return err
	}
	if id := a.Conversation.ID; id != team.ID {
		return b.setRemoved(ctx, id, removed)
	}
	return nil
}

// groupChatInstalled records the bot's addition to a group chat and
// queues the fetch of the chat's members and (for a fresh install, not an
// upgrade) the welcome. Both activities of an install queue the same job,
// which the job queue keeps once while it waits.
func (b *Bot) groupChatInstalled(ctx context.Context, a *botframework.Activity, tenantID string, fresh bool) error {
	id := chatID(a)
	if err := b.setRemoved(ctx, id, false); err != nil {
		return err
	}
	p := groupChatAddedTask{ChatID: id, TenantID: tenantID, ServiceURL: a.ServiceURL, BotName: recipientName(a), Welcome: fresh}
	if a.From != nil && herald.IsUserID(a.From.ID) {
		p.InstallerID, p.InstallerName = a.From.ID, a.From.Name
	}
	return b.addTask(ctx, taskGroupChatAdded, id, p)
}

// membersJoined queues what people added to a team or a group chat call
// for: one fetch of their email, UPN and Entra id (so they can be
// addressed by email within seconds, not at the next roster refresh) and,
// in a group chat, the welcomes (a team's are queued per member by
// queueMemberWelcome).
func (b *Bot) membersJoined(ctx context.Context, a *botframework.Activity, team *botframework.TeamInfo, group, tenantID string, added []herald.User) error {
	if err := b.queueMemberDetails(ctx, a, group, tenantID, added); err != nil {
		return err
	}
	if team != nil {
		return nil
	}
	return b.queueGroupChatWelcomes(ctx, a, group, tenantID, added)
}
