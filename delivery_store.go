package herald

import (
	"context"
	"time"
)

// DeliveryStore persists notifications and their per-recipient deliveries:
// Herald's own record of what was asked and what happened to each
// recipient. The engine keeps durable work in its job runner; the rows here are
// the truth about every delivery. Lookups of missing records return
// ErrNotFound.
type DeliveryStore interface {
	// NotificationCreate stores a new notification (ID, Request, State and
	// CreatedAt set by the caller) and reports true; also, when not nil,
	// runs in the same transaction (the engine inserts the notification's
	// first job there), so both commit or neither does. If
	// Request.IdempotencyKey is set and a notification with that key
	// exists, it stores nothing and runs nothing: when that one's request
	// has the same Fingerprint it returns it with false, otherwise an
	// error wrapping ErrIdempotencyMismatch.
	NotificationCreate(ctx context.Context, n Notification, also TxFunc) (Notification, bool, error)
	// NotificationGet returns one notification (without counts).
	NotificationGet(ctx context.Context, id string) (Notification, error)
	// NotificationList lists notifications ordered by id (p.Newest:
	// descending).
	NotificationList(ctx context.Context, p NotificationListParams) ([]Notification, error)
	// NotificationReasons counts a notification's deliveries that have a
	// reason (skipped, failed, uncertain, cancelled) per state and reason.
	NotificationReasons(ctx context.Context, id string) (map[DeliveryState]map[Reason]int, error)
	// NotificationSetState moves a notification from one of p.From to
	// p.To, and reports whether it did.
	NotificationSetState(ctx context.Context, p NotificationSetStateParams) (bool, error)
	// NotificationFinish marks an expanded, sending notification completed
	// if none of its deliveries is pending or sending, and reports whether
	// it did.
	NotificationFinish(ctx context.Context, id string, now time.Time) (bool, error)
	// NotificationCounts counts a notification's deliveries per state, and
	// its open (pending or sending) deliveries per tenant.
	NotificationCounts(ctx context.Context, id string) (Counts, map[string]int, error)

	// DeliveryExpand records the deliveries of one chunk of an audience
	// source (p.Limit users after p.After, in id order), deciding in the
	// same step who is skipped (opted out, unreachable), and saves
	// p.Cursor on the notification in the same transaction. Recipients
	// already recorded for the notification are left alone.
	DeliveryExpand(ctx context.Context, p DeliveryExpandParams) (DeliveryExpandResult, error)
	// DeliveryInsert records explicit deliveries (channel posts, replies,
	// unresolved entries) and saves p.Cursor in the same transaction;
	// recipients already recorded are left alone. It returns the tenants of
	// the new pending deliveries.
	DeliveryInsert(ctx context.Context, p DeliveryInsertParams) ([]string, error)
	// DeliveryList lists a notification's deliveries ordered by id.
	DeliveryList(ctx context.Context, p DeliveryListParams) ([]Delivery, error)
	// DeliveryDue lists pending deliveries of one notification and tenant
	// that are due, ordered by id.
	DeliveryDue(ctx context.Context, p DeliveryDueParams) ([]Delivery, error)
	// DeliveryNextDue returns the earliest NextAttemptAt of the pending
	// deliveries of one notification and tenant; false if none is pending.
	DeliveryNextDue(ctx context.Context, notificationID, tenantID string) (time.Time, bool, error)
	// DeliveryTenants lists the tenants with pending deliveries in a
	// notification.
	DeliveryTenants(ctx context.Context, notificationID string) ([]string, error)
	// DeliveryApply records call results and then marks deliveries as
	// sending, in one transaction. A result applies only to a delivery in
	// state sending; a mark only to a pending one. A personal delivery a
	// result records as delivered clears its user's Blocked flag in the
	// same transaction. It returns the ids it marked.
	DeliveryApply(ctx context.Context, p DeliveryApplyParams) ([]int64, error)
	// DeliveryCancel cancels a notification: its pending deliveries become
	// cancelled and it becomes cancelled unless already final. It returns
	// how many deliveries it cancelled.
	DeliveryCancel(ctx context.Context, notificationID string, now time.Time) (int, error)
	// DeliveryRetry makes a notification's deliveries in p.States pending
	// again with a fresh count of attempts, reopening the notification. It
	// returns how many it reopened.
	DeliveryRetry(ctx context.Context, p DeliveryRetryParams) (int, error)
	// DeliveryRecover settles deliveries left sending by processes that
	// are gone. First it ends the registration of every running node
	// whose heartbeat expired before p.Now (NodeStore). Then the
	// deliveries in flight of p.Node, of nodes whose registration has
	// ended, and of nodes that never registered (an older Herald) marked
	// before p.StaleBefore, become uncertain (pending again for
	// at-least-once notifications); a running node's are left alone. It
	// returns the notifications with deliveries made pending again and the
	// nodes found lapsed.
	DeliveryRecover(ctx context.Context, p DeliveryRecoverParams) (DeliveryRecoverResult, error)

	// MessageFind returns the message sent under key to target (a user id
	// or channel id).
	MessageFind(ctx context.Context, key, target string) (MessageRef, error)
	// MessageList lists the channel threads posted under key.
	MessageList(ctx context.Context, key string) ([]MessageRef, error)
}

// NotificationListParams selects notifications, ordered by id.
type NotificationListParams struct {
	// States keeps notifications in these states; empty means all.
	States []NotificationState
	// NoWelcomes leaves out the bot's welcome messages
	// (NotificationRequest.IsWelcome).
	NoWelcomes bool
	// Newest lists newest first (ids descending: creation time to the
	// millisecond, see NewID); After is then the id the page goes below.
	Newest bool
	// After is the keyset cursor on id.
	After string
	// Limit caps the result; 0 means 100.
	Limit int
}

// NotificationSetStateParams is the input of NotificationSetState.
type NotificationSetStateParams struct {
	ID string
	// From are the states the change applies to; empty means any
	// non-final state.
	From []NotificationState
	To   NotificationState
	// Expanded, when true, also records that expansion finished.
	Expanded bool
	Now      time.Time
}

// ExpandSource names where DeliveryExpand finds recipients.
type ExpandSource string

// Expansion sources.
const (
	// SourceUsers: the users with ids in UserIDs.
	SourceUsers ExpandSource = "users"
	// SourceTeam: the members of team Value.
	SourceTeam ExpandSource = "team"
	// SourceTenant: the users of tenant Value.
	SourceTenant ExpandSource = "tenant"
	// SourceTopic: the audience of topic Value. A default-on topic
	// (TopicDefaultOn) reaches every reachable user (not blocked, not
	// uninstalled) who has not opted out of it (or of every topic without
	// opting back in to it), unless Critical; a default-off one reaches the
	// users who opted in to it.
	SourceTopic ExpandSource = "topic"
)

// DeliveryExpandParams is the input of DeliveryExpand.
type DeliveryExpandParams struct {
	NotificationID string
	Source         ExpandSource
	// Value is the team id, tenant id or topic.
	Value string
	// UserIDs are the users of SourceUsers (one chunk; After and Limit do
	// not apply).
	UserIDs []string
	// Variables are per-user placeholder values, by user id.
	Variables map[string]map[string]string
	// After is the keyset cursor on user id.
	After string
	// Limit is the chunk size; 0 means 1000.
	Limit int
	// Topic and Critical decide opt-outs: a user who opted out of Topic (or
	// of every topic) is skipped unless Critical.
	Topic    string
	Critical bool
	// TopicDefaultOn is whether the topic of SourceTopic is default-on.
	TopicDefaultOn bool
	// TeamRemoved says the team of SourceTeam no longer has the bot
	// (removed from it, or the team deleted): its members who have no
	// personal install of the app and are in no other team where the bot
	// is installed are skipped with ReasonUninstalled, without a call and
	// without marking them uninstalled; the others get their message.
	TeamRemoved bool
	// Cursor is saved on the notification with the chunk.
	Cursor string
	Now    time.Time
}

// DeliveryExpandResult is the output of DeliveryExpand.
type DeliveryExpandResult struct {
	// Last is the greatest user id of the chunk ("" if it was empty).
	Last string
	// Scanned is how many users the chunk held; fewer than Limit means
	// the source is exhausted.
	Scanned int
	// Inserted is how many deliveries were recorded.
	Inserted int
	// Tenants are the tenants of the new pending deliveries.
	Tenants []string
}

// DeliveryInsertParams is the input of DeliveryInsert.
type DeliveryInsertParams struct {
	NotificationID string
	// Deliveries to record: Recipient, Kind, State, Reason and the
	// addressing fields are used.
	Deliveries []Delivery
	Cursor     string
	Now        time.Time
}

// DeliveryListParams selects deliveries of one notification.
type DeliveryListParams struct {
	NotificationID string
	Filter         DeliveryFilter
	Page           Page
}

// DeliveryDueParams selects due deliveries.
type DeliveryDueParams struct {
	NotificationID, TenantID string
	// AfterID is the keyset cursor on id.
	AfterID int64
	// Now: deliveries with NextAttemptAt after it are not due.
	Now   time.Time
	Limit int
}

// DeliveryResult is the outcome of a call for one delivery.
type DeliveryResult struct {
	ID int64
	// State is the new state: delivered, failed, uncertain, or pending
	// for a retry at NextAttemptAt.
	State         DeliveryState
	Reason        Reason
	Error         string
	NextAttemptAt time.Time
	// Throttled means the call got a 429: it is not counted as an attempt.
	Throttled bool
	// ActivityID and ConversationID, when set, record where the message
	// went; Updated marks an update in place.
	ActivityID     string
	ConversationID string
	Updated        bool
	// DeliveredAt is when Teams accepted the message.
	DeliveredAt time.Time
	// UserConversation, when set, is stored as the personal conversation
	// of user UserID.
	UserID           string
	UserConversation string
	// Message, when set, is recorded as the message sent under its key.
	Message *MessageRef
}

// DeliveryApplyParams is the input of DeliveryApply.
type DeliveryApplyParams struct {
	Results []DeliveryResult
	// Mark are ids to move from pending to sending, counting an attempt.
	Mark []int64
	// Node names the process marking them.
	Node string
	Now  time.Time
}

// DeliveryRetryParams is the input of DeliveryRetry.
type DeliveryRetryParams struct {
	NotificationID string
	// States are the states to reopen: failed, uncertain, or both. Other
	// states are ignored.
	States []DeliveryState
	Now    time.Time
}

// DeliveryRecoverParams is the input of DeliveryRecover.
type DeliveryRecoverParams struct {
	// Node is the caller at its start, when whatever is in flight under
	// its identity was left by an earlier process with it; empty later.
	Node string
	// Self is the caller, running: never taken for lapsed, its deliveries
	// never settled (unless it is Node too).
	Self string
	// StaleBefore applies to nodes that never registered.
	StaleBefore time.Time
	Now         time.Time
}

// DeliveryRecoverResult is the output of DeliveryRecover.
type DeliveryRecoverResult struct {
	// Uncertain and Repending count the deliveries settled each way.
	Uncertain, Repending int
	// Notifications have deliveries pending again.
	Notifications []string
	// Lapsed are the nodes whose registration this call ended.
	Lapsed []string
}

// MessageRef is a message sent under a notification key, kept so later
// notifications with the key can update it (or reply to a channel thread).
type MessageRef struct {
	Key string
	// Target is the user id (personal) or channel id (channel thread).
	Target string
	Kind   DeliveryKind
	// ConversationID is the conversation the message is in: the personal
	// chat, or the thread ("19:…;messageid=…").
	ConversationID string
	// ActivityID is the message's id.
	ActivityID string
	TenantID   string
	TeamID     string
	ChannelID  string
	ServiceURL string
	// NotificationID is the notification that last sent it.
	NotificationID string
	UpdatedAt      time.Time
}
