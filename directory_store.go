package herald

import (
	"context"
	"database/sql"
	"time"
)

// Tenant is a Microsoft Entra tenant the bot has heard from.
type Tenant struct {
	// ID is the tenant id (a GUID).
	ID string
	// ServiceURL is the last serviceUrl a verified activity of this tenant
	// carried; proactive sends to the tenant go there.
	ServiceURL string
	// LastSeen is when the last verified activity of the tenant arrived.
	LastSeen time.Time
}

// User is a person the bot can reach, identified by their Teams user id.
type User struct {
	// ID is the "29:…" Teams user id, unique per bot.
	ID string
	// TenantID is the user's Entra tenant.
	TenantID string
	// AADObjectID is the user's Entra object id.
	AADObjectID string
	// UPN is the user principal name (from a roster).
	UPN string
	// Email is the user's email address (from a roster).
	Email string
	// Name is the display name; GivenName and Surname come from a roster.
	Name, GivenName, Surname string
	// ConversationID is the personal (1:1) conversation id ("a:…"), or ""
	// when none is known yet.
	ConversationID string
	// ServiceURL is the last serviceUrl seen for this user; "" means use
	// the tenant's.
	ServiceURL string
	// Installed is true while the app is installed in the user's personal
	// scope.
	Installed bool
	// Blocked is true once a send failed because the user blocked the bot,
	// until the evidence says otherwise: the user writes to the bot again,
	// or a personal message to them is delivered.
	Blocked bool
	// Uninstalled is true once the app was removed from the user's personal
	// scope (or a send failed because the bot cannot reach them), until an
	// install covers them again: a personal install, or an install in a
	// team they are a known member of.
	Uninstalled bool
	// Locale and TimeZone come from the Teams client (clientInfo entity).
	Locale, TimeZone string
	// LastSeen is when the user last sent the bot an activity.
	LastSeen time.Time
	// InstalledAt is when the app was last installed for the user.
	InstalledAt time.Time
	// CreatedAt and UpdatedAt are the record's own timestamps.
	CreatedAt, UpdatedAt time.Time
}

// Reachable reports whether Herald may send to the user at all: not
// blocked and not uninstalled.
func (u User) Reachable() bool { return !u.Blocked && !u.Uninstalled }

// UserUpsertParams is the input of DirectoryStore.UserUpsert. Empty
// strings and zero times leave the stored value unchanged.
type UserUpsertParams struct {
	ID                                string
	TenantID, AADObjectID, UPN, Email string
	Name, GivenName, Surname          string
	ConversationID, ServiceURL        string
	Locale, TimeZone                  string
	// LastSeen moves the user's LastSeen forward (never back).
	LastSeen time.Time
}

// UserListParams selects users for DirectoryStore.UserList, ordered by id.
type UserListParams struct {
	// TenantID, when set, keeps users of that tenant.
	TenantID string
	// TeamID, when set, keeps members of that team.
	TeamID string
	// After is the keyset cursor: only users with an id greater than it.
	After string
	// Limit caps the result; 0 means 1000.
	Limit int
	// ReachableOnly drops blocked and uninstalled users.
	ReachableOnly bool
}

// Team is a Microsoft Teams team the bot was added to.
type Team struct {
	// ID is the team id ("19:…@thread.tacv2"), equal to its General
	// channel's id.
	ID string
	// TenantID is the team's tenant.
	TenantID string
	// AADGroupID is the Entra group (Microsoft 365 group) id.
	AADGroupID string
	// Name is the team's display name.
	Name string
	// GeneralChannelID is the General channel's id (the team id).
	GeneralChannelID string
	// ServiceURL is the last serviceUrl seen for the team.
	ServiceURL string
	// Installed is true while the bot is installed in the team.
	Installed bool
	// Archived and Deleted mirror the team's state in Teams.
	Archived, Deleted bool
	// InstalledAt is when the bot was last added to the team.
	InstalledAt time.Time
	// RosterAt is when the team's roster was last fetched in full.
	RosterAt time.Time
	// CreatedAt and UpdatedAt are the record's own timestamps.
	CreatedAt, UpdatedAt time.Time
}

// TeamUpsertParams is the input of DirectoryStore.TeamUpsert. Empty
// strings and nil flags leave the stored value unchanged.
type TeamUpsertParams struct {
	ID                           string
	TenantID, AADGroupID, Name   string
	GeneralChannelID, ServiceURL string
	Archived, Deleted            *bool
}

// TeamListParams selects teams for DirectoryStore.TeamList, ordered by id.
type TeamListParams struct {
	// TenantID, when set, keeps teams of that tenant.
	TenantID string
	// InstalledOnly keeps teams where the bot is installed and that are not
	// deleted.
	InstalledOnly bool
	// RosterBefore, when set, keeps teams whose roster was last fetched
	// before it (for periodic refreshes).
	RosterBefore time.Time
	// After is the keyset cursor on id.
	After string
	// Limit caps the result; 0 means 1000.
	Limit int
}

// Channel is a channel of a team.
type Channel struct {
	// ID is the channel id; the General channel's equals the team id.
	ID string
	// TeamID is the channel's team.
	TeamID string
	// Name is the channel name ("General" for the General channel, whose
	// name Teams sends as null).
	Name string
	// Type is "standard", "private" or "shared" ("" if unknown).
	Type string
	// Deleted is true once the channel was deleted.
	Deleted bool
}

// Conversation is a stored conversation reference: everything needed to
// post into a conversation later.
type Conversation struct {
	// ID is the conversation id.
	ID string
	// Type is "personal", "channel" or "groupChat".
	Type string
	// TenantID is the conversation's tenant.
	TenantID string
	// ServiceURL is the serviceUrl of the last verified activity from it.
	ServiceURL string
	// TeamID and ChannelID are set for channel conversations.
	TeamID, ChannelID string
	// UserID is set for personal conversations.
	UserID string
	// BotID is the bot's account id in it ("28:…").
	BotID string
	// Name is a group chat's topic (its title in Teams), when it has one.
	Name string
	// Removed is true once the bot was removed from the conversation (a
	// group chat's bot removal, or the conversation's team or personal
	// app uninstalled), until the bot is added again.
	Removed bool
	// UpdatedAt is when the reference was last refreshed.
	UpdatedAt time.Time
}

// Preference is one user's choice about one notification topic.
type Preference struct {
	// Topic is the topic name, or "*" for every non-critical topic.
	Topic string
	// OptedOut is true when the user does not want this topic.
	OptedOut bool
	// UpdatedAt is when the choice was made.
	UpdatedAt time.Time
}

// TopicAll is the preference topic that stands for every non-critical
// topic.
const TopicAll = "*"

// WelcomeMark is a welcome about to be recorded: its subject and when the
// subject was last welcomed, as read before (zero for never).
type WelcomeMark struct {
	Subject string
	Last    time.Time
}

// DirectoryStore persists tenants, users, teams, channels, memberships,
// conversation references, preferences and welcome records. Lookups of missing records return ErrNotFound.
type DirectoryStore interface {
	// TenantUpsert creates or updates a tenant; an empty ServiceURL and a
	// zero LastSeen leave the stored values.
	TenantUpsert(ctx context.Context, t Tenant) error
	// TenantGet returns one tenant.
	TenantGet(ctx context.Context, id string) (Tenant, error)

	// UserUpsert creates or updates a user, merging non-empty fields.
	UserUpsert(ctx context.Context, p UserUpsertParams) (User, error)
	// UserGet returns one user by Teams user id.
	UserGet(ctx context.Context, id string) (User, error)
	// UserFind finds a user by 29: id, Entra object id, UPN or email
	// (case-insensitive); tenantID "" searches every tenant.
	UserFind(ctx context.Context, tenantID, identifier string) (User, error)
	// UserList lists users ordered by id.
	UserList(ctx context.Context, p UserListParams) ([]User, error)
	// UserSetConversation records the user's personal conversation id.
	UserSetConversation(ctx context.Context, userID, conversationID string) error
	// UserSetBlocked marks or clears the user's block of the bot.
	UserSetBlocked(ctx context.Context, userID string, blocked bool) error
	// UserSetInstalled records a personal install (true) or uninstall
	// (false) at the given time.
	UserSetInstalled(ctx context.Context, userID string, installed bool, at time.Time) error

	// TeamUpsert creates or updates a team, merging non-empty fields.
	TeamUpsert(ctx context.Context, p TeamUpsertParams) (Team, error)
	// TeamGet returns one team by id.
	TeamGet(ctx context.Context, id string) (Team, error)
	// TeamFind finds a team by id, Entra group id or name
	// (case-insensitive).
	TeamFind(ctx context.Context, identifier string) (Team, error)
	// TeamList lists teams ordered by id.
	TeamList(ctx context.Context, p TeamListParams) ([]Team, error)
	// TeamSetInstalled records the bot's addition to (true) or removal
	// from (false) a team at the given time. An addition also clears
	// Uninstalled for the team's known members, in the same transaction:
	// Teams lets a bot open a 1:1 chat with anyone in a team where it is
	// installed (its proactive-messaging guide: "install the app for the
	// user or make the user a part of a team in which the app is
	// installed"). Someone who removed the app from their own personal
	// scope and still refuses it is flagged again by the first send that
	// fails.
	TeamSetInstalled(ctx context.Context, teamID string, installed bool, at time.Time) error
	// TeamSetRosterAt records when the team's roster was last fetched.
	TeamSetRosterAt(ctx context.Context, teamID string, at time.Time) error

	// ChannelUpsert creates or updates a channel; an empty Name or Type
	// leaves the stored value.
	ChannelUpsert(ctx context.Context, c Channel) error
	// ChannelList lists a team's channels, deleted ones included, ordered
	// by name.
	ChannelList(ctx context.Context, teamID string) ([]Channel, error)
	// ChannelFind finds a team's channel by id or name (case-insensitive);
	// "General" finds the General channel.
	ChannelFind(ctx context.Context, teamID, identifier string) (Channel, error)

	// MembershipAdd records that a user is a member of a team or of a
	// group chat (groupID is the team id or the chat's conversation id).
	MembershipAdd(ctx context.Context, groupID, userID string) error
	// MembershipRemove forgets one membership.
	MembershipRemove(ctx context.Context, groupID, userID string) error
	// MembershipReplace makes the team's or group chat's members exactly
	// userIDs.
	MembershipReplace(ctx context.Context, groupID string, userIDs []string) error

	// ConversationUpsert creates or updates a conversation reference,
	// merging non-empty fields.
	ConversationUpsert(ctx context.Context, c Conversation) error
	// ConversationGet returns one conversation reference.
	ConversationGet(ctx context.Context, id string) (Conversation, error)
	// ConversationSetRemoved records that the bot was removed from (true)
	// or added back to (false) a conversation. ConversationUpsert never
	// changes Removed. Adding the bot back to a group chat leaves its
	// members' Uninstalled flags alone: Teams documents 1:1 reach only
	// through a personal install or a shared team, and a group chat
	// install makes the bot able to post in the chat, nothing more.
	ConversationSetRemoved(ctx context.Context, id string, removed bool) error

	// PreferenceSet records a user's opt-out (or opt-in) of a topic; topic
	// TopicAll stands for every non-critical topic.
	PreferenceSet(ctx context.Context, userID, topic string, optedOut bool) error
	// PreferenceList lists a user's preferences ordered by topic.
	PreferenceList(ctx context.Context, userID string) ([]Preference, error)
	// UserOptedOut reports whether the user opted out of topic or of
	// TopicAll. An explicit opt-in to topic wins over TopicAll.
	UserOptedOut(ctx context.Context, userID, topic string) (bool, error)
	// TopicAudienceCount counts the reachable users (not blocked, not
	// uninstalled) a notification to topic would reach now: with
	// defaultOn, those who have not opted out of it (or of every topic
	// without opting back in to it); otherwise those who opted in to it.
	TopicAudienceCount(ctx context.Context, topic string, defaultOn bool) (int, error)

	// WelcomeLast returns when a welcome of kind was last sent to subject,
	// or the zero time if never.
	WelcomeLast(ctx context.Context, kind, subject string) (time.Time, error)
	// WelcomeMark records that a welcome of kind was sent to subject at at.
	WelcomeMark(ctx context.Context, kind, subject string, at time.Time) error
	// WelcomeMarkTx records, inside tx, that welcomes of kind went to the
	// marks' subjects at at, each only if its last welcome is still the
	// one the mark saw (Last; zero for none). If any changed meanwhile (a
	// welcome by another process), it returns ErrConflict and the caller
	// rolls tx back.
	WelcomeMarkTx(ctx context.Context, tx *sql.Tx, kind string, marks []WelcomeMark, at time.Time) error

	// LegacyTasksMove hands the background tasks that an older Herald
	// left in its own table (before one job runner ran every job) to move, inside
	// one transaction, and deletes them there if move succeeds. It returns
	// how many it moved.
	LegacyTasksMove(ctx context.Context, move func(ctx context.Context, tx *sql.Tx, jobs []Job) error) (int, error)
}
