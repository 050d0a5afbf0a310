package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"herald"
)

// Ping implements herald.StatsStore.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", s.mapErr(err))
	}
	var one int
	if err := s.queryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", s.mapErr(err))
	}
	return nil
}

// DeliveryStateCounts implements herald.StatsStore. It scans the
// deliveries table: metrics scrapes call it, so keep their interval in
// seconds, not milliseconds.
func (s *Store) DeliveryStateCounts(ctx context.Context) (map[herald.DeliveryState]int64, error) {
	rows, err := s.query(ctx, `SELECT `+deliveryState+`, COUNT(*) FROM deliveries d LEFT JOIN inflight f ON f.id = d.id GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("delivery state counts: %w", s.mapErr(err))
	}
	defer rows.Close()
	out := map[herald.DeliveryState]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("delivery state counts: %w", s.mapErr(err))
		}
		out[herald.DeliveryState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery state counts: %w", s.mapErr(err))
	}
	return out, nil
}

// likePattern returns a LIKE pattern matching strings that contain q,
// with LIKE's wildcards in q escaped by a backslash.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// UserSearch implements herald.StatsStore. SQLite's LIKE ignores the case
// of ASCII letters; PostgreSQL's ILIKE ignores case throughout.
func (s *Store) UserSearch(ctx context.Context, p herald.UserSearchParams) ([]herald.User, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	like := "LIKE"
	if s.dialect == DialectPostgres {
		like = "ILIKE"
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	q := `SELECT ` + userCols + ` FROM users`
	if p.TeamID != "" {
		q += ` JOIN memberships ON memberships.user_id = users.id AND memberships.team_id = ` + arg(p.TeamID)
	}
	q += ` WHERE users.id > ` + arg(p.After)
	if p.TenantID != "" {
		q += ` AND users.tenant_id = ` + arg(p.TenantID)
	}
	if p.Query != "" {
		pat := arg(likePattern(p.Query))
		var ors []string
		for _, col := range []string{"name", "email", "upn", "id", "aad_object_id"} {
			ors = append(ors, `users.`+col+` `+like+` `+pat+` ESCAPE '\'`)
		}
		q += ` AND (` + strings.Join(ors, " OR ") + `)`
	}
	q += ` ORDER BY users.id LIMIT ` + arg(limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("user search: %w", s.mapErr(err))
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("user search: %w", s.mapErr(err))
	}
	return users, nil
}

// ConversationList implements herald.StatsStore.
func (s *Store) ConversationList(ctx context.Context, p herald.ConversationListParams) ([]herald.Conversation, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT `+conversationColumns+` FROM conversations
	WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR type = $2) AND id > $3
	ORDER BY id LIMIT $4`, p.TenantID, p.Type, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("conversation list: %w", s.mapErr(err))
	}
	convs, err := collect(rows, scanConversation)
	if err != nil {
		return nil, fmt.Errorf("conversation list: %w", s.mapErr(err))
	}
	return convs, nil
}
