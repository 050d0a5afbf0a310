package herald

import (
	"time"

	"herald/botframework"
)

// DeliveryState is the state of one recipient's delivery.
type DeliveryState string

// Delivery states. Pending deliveries wait for their turn (or for a
// retry); sending ones have a call to Teams in flight; the other states are
// final. Uncertain means the request may have reached Teams but its answer
// was lost (the process died, or the call timed out): it is not resent
// unless the notification asked for at-least-once delivery.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliverySending   DeliveryState = "sending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliverySkipped   DeliveryState = "skipped"
	DeliveryFailed    DeliveryState = "failed"
	DeliveryCancelled DeliveryState = "cancelled"
	DeliveryUncertain DeliveryState = "uncertain"
)

// DeliveryStates lists every state, in the order of Counts.
var DeliveryStates = []DeliveryState{
	DeliveryPending, DeliverySending, DeliveryDelivered, DeliverySkipped,
	DeliveryFailed, DeliveryCancelled, DeliveryUncertain,
}

// Final reports whether the state is final.
func (s DeliveryState) Final() bool { return s != DeliveryPending && s != DeliverySending }

// Valid reports whether s is one of the states.
func (s DeliveryState) Valid() bool {
	for _, v := range DeliveryStates {
		if s == v {
			return true
		}
	}
	return false
}

// Reason says why a delivery was skipped or failed.
type Reason string

// Reasons of skipped deliveries.
const (
	// ReasonOptedOut: the recipient opted out of the topic (or of every
	// topic) and the topic is not critical.
	ReasonOptedOut Reason = "opted-out"
	// ReasonUnreachable: the directory knows the user blocked the bot or
	// removed the app, so nothing was sent.
	ReasonUnreachable Reason = "unreachable"
	// ReasonUnresolved: an identifier of the audience (user, team,
	// channel, thread key, tenant) matches nothing in the directory.
	ReasonUnresolved Reason = "unresolved"
)

// Reasons of failed deliveries.
const (
	// ReasonBlocked: the user blocked the bot.
	ReasonBlocked Reason = "blocked-by-user"
	// ReasonUninstalled: the app is not installed for the recipient (or was
	// removed from the conversation). Failed deliveries learn it from
	// Teams; skipped ones from the directory: a conversation the bot was
	// removed from, a channel of a team it was removed from, or a member of
	// such a team who can be reached through it alone.
	ReasonUninstalled Reason = "app-uninstalled"
	// ReasonDisabledByAdmin: the tenant admin disabled the bot.
	ReasonDisabledByAdmin Reason = "disabled-by-admin"
	// ReasonConversationNotFound: the conversation does not exist, even
	// after recreating it once.
	ReasonConversationNotFound Reason = "conversation-not-found"
	// ReasonMessageTooLarge: Teams refused the message as too large.
	ReasonMessageTooLarge Reason = "message-too-large"
	// ReasonOther: any other failure, including running out of attempts or
	// time; Delivery.Error has the details.
	ReasonOther Reason = "other"
)

// Reasons of uncertain deliveries.
const (
	// ReasonInterrupted: the process stopped while the call was in flight.
	ReasonInterrupted Reason = "interrupted"
	// ReasonTimedOut: the call timed out (or Teams answered 504) after the
	// request may have reached Teams.
	ReasonTimedOut Reason = "timed-out"
	// ReasonConnectionLost: the connection failed after the request was
	// written.
	ReasonConnectionLost Reason = "connection-lost"
	// ReasonServerError: Teams answered 500 (or another server error that
	// leaves open whether it acted on the request).
	ReasonServerError Reason = "server-error"
)

// Reason of cancelled deliveries.
const ReasonCancelled Reason = "cancelled"

// DeliveryKind says what a delivery posts.
type DeliveryKind string

// Delivery kinds.
const (
	// KindPersonal: a message in the user's personal (1:1) chat.
	KindPersonal DeliveryKind = "personal"
	// KindChannel: a new thread in a channel (or an update of the thread
	// posted earlier under the notification's key).
	KindChannel DeliveryKind = "channel"
	// KindReply: a reply in a channel thread posted earlier.
	KindReply DeliveryKind = "reply"
	// KindGroupChat: a message in a group chat ("19:…@thread.v2"), posted
	// into the chat (or an update of the message posted earlier under the
	// notification's key).
	KindGroupChat DeliveryKind = "groupChat"
)

// Delivery is one recipient's delivery of a notification.
type Delivery struct {
	// ID is assigned by the store, increasing in creation order.
	ID int64 `json:"id"`
	// NotificationID is the notification delivered.
	NotificationID string `json:"notificationId"`
	// Recipient identifies the recipient within the notification: the
	// user id, "channel:<channel id>", "reply:<thread conversation id>",
	// "conversation:<id>" (a group chat, a personal chat whose user the
	// directory lacks, or a conversation skipped as a whole), or, for
	// unresolved audience entries, what was asked ("user:bob@…").
	Recipient string `json:"recipient"`
	// Kind says what is posted.
	Kind DeliveryKind `json:"kind"`
	// UserID is the Teams user id of personal deliveries.
	UserID string `json:"userId,omitempty"`
	// TenantID is the recipient's tenant (pacing is per tenant).
	TenantID string `json:"tenantId,omitempty"`
	// TeamID and ChannelID are set for channel posts and replies.
	TeamID    string `json:"teamId,omitempty"`
	ChannelID string `json:"channelId,omitempty"`
	// ConversationID is the conversation the message went (or goes) to;
	// for group chats, the chat.
	ConversationID string `json:"conversationId,omitempty"`
	// ServiceURL is the serviceUrl used for the recipient.
	ServiceURL string `json:"serviceUrl,omitempty"`
	// ReplyToID is the root activity of the thread a reply goes to.
	ReplyToID string `json:"replyToId,omitempty"`
	// Name, GivenName and Email fill the recipient placeholders.
	Name      string `json:"name,omitempty"`
	GivenName string `json:"givenName,omitempty"`
	Email     string `json:"email,omitempty"`
	// Variables are the recipient's own placeholder values.
	Variables map[string]string `json:"variables,omitempty"`
	// State is the delivery's state.
	State DeliveryState `json:"state"`
	// Reason says why it was skipped, failed, cancelled or is uncertain.
	Reason Reason `json:"reason,omitempty"`
	// Error is the last error, for failed and retried deliveries.
	Error string `json:"error,omitempty"`
	// Attempts counts calls made (throttled attempts excluded).
	Attempts int `json:"attempts"`
	// Throttles counts 429 answers.
	Throttles int `json:"throttles"`
	// NextAttemptAt is when a pending delivery may next be tried.
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	// ActivityID is the id of the message posted (or updated).
	ActivityID string `json:"activityId,omitempty"`
	// Updated is true when an earlier message was updated in place.
	Updated bool `json:"updated,omitempty"`
	// CreatedAt and UpdatedAt are the record's times; DeliveredAt is when
	// Teams accepted the message.
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
}

// DeliveryFilter selects deliveries of one notification for
// Engine.Deliveries.
type DeliveryFilter struct {
	// States keeps deliveries in these states; empty means all.
	States []DeliveryState
	// Reason keeps deliveries with this reason; empty means any.
	Reason Reason
}

// Page is a keyset page request.
type Page struct {
	// After returns deliveries with an id greater than it.
	After int64
	// Limit caps the page; 0 means 100, at most 1000.
	Limit int
}

// Clamped returns the effective page size: Limit within 1 to 1000, 100 when unset.
func (p Page) Clamped() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// FailureReason maps the Connector's classification of a permanent error
// to the reason recorded on the delivery.
func FailureReason(r botframework.Reason) Reason {
	switch r {
	case botframework.ReasonBlockedByUser:
		return ReasonBlocked
	case botframework.ReasonNotInRoster, botframework.ReasonNotInstalled:
		return ReasonUninstalled
	case botframework.ReasonDisabledByAdmin:
		return ReasonDisabledByAdmin
	case botframework.ReasonConversationNotFound:
		return ReasonConversationNotFound
	case botframework.ReasonMessageTooLarge:
		return ReasonMessageTooLarge
	}
	return ReasonOther
}
