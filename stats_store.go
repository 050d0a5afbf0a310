package herald

import "context"

// StatsStore holds the read-side queries operators and the HTTP API need
// beyond the engine's and the bot's own: a liveness probe, global delivery
// counts for metrics, and searching, listing and checking the health of the
// directory.
type StatsStore interface {
	// Ping reports whether the store answers queries.
	Ping(ctx context.Context) error
	// DeliveryStateCounts counts every notification's deliveries per
	// state; states without deliveries are absent.
	DeliveryStateCounts(ctx context.Context) (map[DeliveryState]int64, error)
	// UserSearch lists users matching p, ordered by id.
	UserSearch(ctx context.Context, p UserSearchParams) ([]User, error)
	// ConversationList lists conversation references matching p, ordered
	// by id.
	ConversationList(ctx context.Context, p ConversationListParams) ([]Conversation, error)
	// DirectoryHealth counts the users in scope by how reachable they are,
	// overall, per tenant and per team, and lists the users of each
	// problem class. It reads a few set-based queries whatever the number
	// of users; they are separate reads, so a change meanwhile may show in
	// some and not others.
	DirectoryHealth(ctx context.Context, p DirectoryHealthParams) (DirectoryHealth, error)
}

// UserSearchParams selects users for StatsStore.UserSearch.
type UserSearchParams struct {
	// Query, when set, keeps users whose name, email, UPN, Teams id or
	// Entra object id contains it, ignoring case (on SQLite, case is
	// ignored for ASCII letters only).
	Query string
	// TenantID, when set, keeps users of that tenant.
	TenantID string
	// TeamID, when set, keeps members of that team.
	TeamID string
	// After is the keyset cursor: only users with an id greater than it.
	After string
	// Limit caps the result; 0 means 1000.
	Limit int
}

// ConversationListParams selects conversations for
// StatsStore.ConversationList.
type ConversationListParams struct {
	// TenantID, when set, keeps conversations of that tenant.
	TenantID string
	// Type, when set, keeps conversations of that type ("personal",
	// "channel" or "groupChat").
	Type string
	// After is the keyset cursor on id.
	After string
	// Limit caps the result; 0 means 1000.
	Limit int
}
