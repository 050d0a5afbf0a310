package api

import (
	"encoding/json"
	"time"

	"herald"
	"herald/botframework"
	"herald/card"
)

// NotificationRequest is the body of POST /v1/notifications.
type NotificationRequest struct {
	// Audience is who receives the notification. Required.
	Audience herald.Audience `json:"audience"`
	// Content is what they receive. Required.
	Content Content `json:"content"`
	// Title names the notification in lists; it is not sent.
	Title string `json:"title,omitempty"`
	// Topic lets recipients opt out; see herald.NotificationRequest.
	Topic string `json:"topic,omitempty"`
	// Critical makes opt-outs not apply.
	Critical bool `json:"critical,omitempty"`
	// Key updates earlier messages sent under the same key in place.
	Key string `json:"key,omitempty"`
	// Priority is "high", "normal" or empty (automatic).
	Priority herald.Priority `json:"priority,omitempty"`
	// IdempotencyKey makes a repeated request return the notification
	// created the first time. The Idempotency-Key header does the same.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// SendAt delays the send; zero means now.
	SendAt time.Time `json:"sendAt,omitzero"`
	// Alert raises an activity-feed notification for personal messages.
	Alert bool `json:"alert,omitempty"`
	// AtLeastOnce resends deliveries whose outcome is uncertain.
	AtLeastOnce bool `json:"atLeastOnce,omitempty"`
	// Variables fill {{placeholders}} for every recipient.
	Variables map[string]string `json:"variables,omitempty"`
	// RecipientVariables fill placeholders per recipient, keyed by the
	// identifier as written in audience.users.
	RecipientVariables map[string]map[string]string `json:"recipientVariables,omitempty"`
	// Strict refuses (422) a structured notification that lacks parts
	// Teams' guidance asks for, instead of sending it with warnings.
	Strict bool `json:"strict,omitempty"`
}

// Content is what a notification shows: text, or exactly one card.
//
// Text cannot accompany a card: Teams shows an activity with both as two
// messages and returns the id of only one, so the notification could no
// longer be updated in place (or its delivery be accounted for as one
// message). Put the text inside the card instead (a hero card's text, or
// a structured notification's details). Summary may accompany anything.
type Content struct {
	// Text is the message text ({{placeholders}} allowed).
	Text string `json:"text,omitempty"`
	// TextFormat is "markdown" (the default), "plain" or "xml".
	TextFormat string `json:"textFormat,omitempty"`
	// Summary is the text Teams shows in notifications and previews.
	Summary string `json:"summary,omitempty"`
	// HeroCard is a hero card.
	HeroCard *botframework.HeroCard `json:"heroCard,omitempty"`
	// AdaptiveCard is an Adaptive Card (version 1.5 or older), sent as
	// given once validated.
	AdaptiveCard json.RawMessage `json:"adaptiveCard,omitempty"`
	// Structured is a notification described by its parts, rendered as
	// an Adaptive Card. Its topic defaults to the request's topic, and for
	// critical notifications its optOut defaults to false.
	Structured *card.Structured `json:"structured,omitempty"`
}

// Notification is a notification as the API shows it: the library's
// record with its counts per delivery state, and progress in seconds.
type Notification struct {
	herald.Notification
	// Progress replaces herald.Notification's, whose durations are
	// nanoseconds.
	Progress Progress `json:"progress"`
	// Warnings are the lint findings of a structured notification (only
	// in the answer to the request that sent it).
	Warnings []card.Warning `json:"warnings,omitempty"`
	// Reasons count the deliveries that have a reason, per state and
	// reason: {"skipped": {"unresolved": 2}, "failed": {"blocked-by-user":
	// 1}}. GET /v1/notifications/{id} and the 202 answer to a new
	// notification fill it; absent when no delivery has a reason.
	Reasons map[herald.DeliveryState]map[herald.Reason]int `json:"reasons,omitempty"`
	// Expansion is what expanding the audience found, in the 202 answer
	// to a new notification only.
	Expansion *Expansion `json:"expansion,omitempty"`
}

// Expansion is what the expansion of a new notification's audience has
// found when the API answers: the API waits a moment (2 seconds by
// default) for it to finish, and says whether it did.
type Expansion struct {
	// Expanding is true when the audience was not expanded yet (too large
	// to finish in the wait, or scheduled for later): the numbers below
	// are what is known so far.
	Expanding bool `json:"expanding"`
	// Resolved counts the recipients found that are not skipped: being
	// sent to, sent, or already failed.
	Resolved int `json:"resolved"`
	// Pending counts the deliveries not final yet (pending or sending).
	Pending int `json:"pending"`
	// Skipped counts the skipped recipients per reason: unresolved (an
	// entry that matches nothing), unreachable, app-uninstalled,
	// opted-out.
	Skipped map[herald.Reason]int `json:"skipped"`
	// Unreached lists the recipients skipped or failed so far, in the
	// order they were recorded, at most MaxUnreached of them.
	Unreached []Unreached `json:"unreached"`
	// UnreachedTruncated is true when there are more than Unreached lists
	// (GET /v1/notifications/{id}/deliveries?state=skipped,failed has
	// them all).
	UnreachedTruncated bool `json:"unreachedTruncated,omitempty"`
}

// MaxUnreached is the most recipients Expansion.Unreached lists.
const MaxUnreached = 100

// Unreached is a recipient a notification does not reach: skipped at
// expansion, or failed.
type Unreached struct {
	// Recipient is the delivery's recipient: a user id, channel:<id>,
	// reply:<thread>, conversation:<id>, or for an entry that matched
	// nothing what was asked (user:bob@…, team:Enginering).
	Recipient string              `json:"recipient"`
	Kind      herald.DeliveryKind `json:"kind"`
	// State is skipped or failed.
	State  herald.DeliveryState `json:"state"`
	Reason herald.Reason        `json:"reason"`
	// Name and Email describe the recipient when known.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Error is the failure's details.
	Error string `json:"error,omitempty"`
}

// Progress says how far a notification is and when it should end.
type Progress struct {
	// Total is the number of deliveries recorded so far.
	Total int `json:"total"`
	// Done is the fraction of deliveries that are final, in [0, 1].
	Done float64 `json:"done"`
	// RemainingSeconds is the pacing-limited time still needed.
	RemainingSeconds float64 `json:"remainingSeconds"`
	// ETA is when the notification should finish; absent while unknown.
	ETA time.Time `json:"eta,omitzero"`
}

// NotificationList is a page of notifications, oldest first (newest
// first with order=newest).
type NotificationList struct {
	Notifications []Notification `json:"notifications"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// DeliveryList is a page of a notification's deliveries, in creation
// order.
type DeliveryList struct {
	Deliveries []herald.Delivery `json:"deliveries"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// RetryRequest is the body of POST /v1/notifications/{id}/retry (it may
// be empty).
type RetryRequest struct {
	// Uncertain also resends deliveries whose outcome is uncertain, which
	// may reach their recipient twice.
	Uncertain bool `json:"uncertain,omitempty"`
}

// RetryResult is the answer to a retry.
type RetryResult struct {
	// Reopened is how many deliveries were made pending again.
	Reopened     int          `json:"reopened"`
	Notification Notification `json:"notification"`
}

// User is a person in the directory.
type User struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenantId"`
	AADObjectID    string    `json:"aadObjectId,omitempty"`
	UPN            string    `json:"upn,omitempty"`
	Email          string    `json:"email,omitempty"`
	Name           string    `json:"name,omitempty"`
	GivenName      string    `json:"givenName,omitempty"`
	Surname        string    `json:"surname,omitempty"`
	ConversationID string    `json:"conversationId,omitempty"`
	ServiceURL     string    `json:"serviceUrl,omitempty"`
	Installed      bool      `json:"installed"`
	Blocked        bool      `json:"blocked"`
	Uninstalled    bool      `json:"uninstalled"`
	Reachable      bool      `json:"reachable"`
	Locale         string    `json:"locale,omitempty"`
	TimeZone       string    `json:"timeZone,omitempty"`
	LastSeen       time.Time `json:"lastSeen,omitzero"`
	InstalledAt    time.Time `json:"installedAt,omitzero"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// UserList is a page of users ordered by id.
type UserList struct {
	Users []User `json:"users"`
	Next  string `json:"next,omitempty"`
}

// Team is a team the bot was added to.
type Team struct {
	ID               string    `json:"id"`
	TenantID         string    `json:"tenantId"`
	AADGroupID       string    `json:"aadGroupId,omitempty"`
	Name             string    `json:"name"`
	GeneralChannelID string    `json:"generalChannelId,omitempty"`
	Installed        bool      `json:"installed"`
	Archived         bool      `json:"archived"`
	Deleted          bool      `json:"deleted"`
	InstalledAt      time.Time `json:"installedAt,omitzero"`
	RosterAt         time.Time `json:"rosterAt,omitzero"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// TeamList is a page of teams ordered by id.
type TeamList struct {
	Teams []Team `json:"teams"`
	Next  string `json:"next,omitempty"`
}

// Channel is a channel of a team.
type Channel struct {
	ID      string `json:"id"`
	TeamID  string `json:"teamId"`
	Name    string `json:"name"`
	Type    string `json:"type,omitempty"`
	Deleted bool   `json:"deleted"`
}

// ChannelList is every channel of a team, ordered by name.
type ChannelList struct {
	Channels []Channel `json:"channels"`
}

// Conversation is a stored conversation reference.
type Conversation struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	TenantID   string    `json:"tenantId"`
	ServiceURL string    `json:"serviceUrl,omitempty"`
	TeamID     string    `json:"teamId,omitempty"`
	ChannelID  string    `json:"channelId,omitempty"`
	UserID     string    `json:"userId,omitempty"`
	BotID      string    `json:"botId,omitempty"`
	Name       string    `json:"name,omitempty"`
	Removed    bool      `json:"removed,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ConversationList is a page of conversations ordered by id.
type ConversationList struct {
	Conversations []Conversation `json:"conversations"`
	Next          string         `json:"next,omitempty"`
}

// Preference is a user's choice about one topic ("*": every non-critical
// topic).
type Preference struct {
	Topic     string    `json:"topic"`
	OptedOut  bool      `json:"optedOut"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Preferences are a user's preferences, ordered by topic.
type Preferences struct {
	UserID      string       `json:"userId"`
	Preferences []Preference `json:"preferences"`
}

// PreferencesUpdate is the body of PATCH /v1/users/{user}/preferences:
// each listed topic is set; topics not listed keep their setting.
type PreferencesUpdate struct {
	Preferences []PreferenceChange `json:"preferences"`
}

// PreferenceChange opts a user out of (or back in to) one topic.
type PreferenceChange struct {
	Topic    string `json:"topic"`
	OptedOut bool   `json:"optedOut"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	// Status is "ok", or "unavailable" when a check failed.
	Status string `json:"status"`
	// Checks maps each check ("store", "engine") to "ok" or what failed.
	Checks map[string]string `json:"checks,omitempty"`
}
