package sqlstore

import (
	"context"
	"fmt"
)

// reachable is true when user u can be sent to.
const reachable = `NOT u.blocked AND NOT u.uninstalled`

// topicQueries returns the bound and insert queries that page through a
// topic's audience (see herald.SourceTopic). The bound query takes $1
// topic, $2 after, $3 limit; the insert's clause takes $5 topic, $6 after
// and $7 last.
func topicQueries(defaultOn, critical bool) (bound, insert string) {
	if !defaultOn {
		bound = `SELECT count(*), max(user_id) FROM (SELECT user_id FROM preferences WHERE topic = $1 AND NOT opted_out AND user_id > $2 ORDER BY user_id LIMIT $3) c`
		insert = expandInsert(`FROM preferences s JOIN users u ON u.id = s.user_id WHERE s.topic = $5 AND NOT s.opted_out AND s.user_id > $6 AND s.user_id <= $7`)
		return bound, insert
	}
	boundWhere, insertWhere := reachable+` AND CAST($1 AS TEXT) IS NOT NULL`, reachable
	if !critical {
		boundWhere += ` AND NOT ` + optedOutExpr("CAST($1 AS TEXT)")
		insertWhere += ` AND NOT ` + optedOutExpr("CAST($5 AS TEXT)")
	}
	bound = `SELECT count(*), max(id) FROM (SELECT u.id FROM users u WHERE u.id > $2 AND ` + boundWhere + ` ORDER BY u.id LIMIT $3) c`
	insert = expandInsert(`FROM users u WHERE u.id > $6 AND u.id <= $7 AND CAST($5 AS TEXT) IS NOT NULL AND ` + insertWhere)
	return bound, insert
}

// TopicAudienceCount implements herald.DirectoryStore.
func (s *Store) TopicAudienceCount(ctx context.Context, topic string, defaultOn bool) (int, error) {
	q := `SELECT count(*) FROM preferences s JOIN users u ON u.id = s.user_id
	WHERE s.topic = $1 AND NOT s.opted_out AND ` + reachable
	if defaultOn {
		q = `SELECT count(*) FROM users u WHERE ` + reachable + ` AND NOT ` + optedOutExpr("CAST($1 AS TEXT)")
	}
	var n int
	if err := s.queryRow(ctx, q, topic).Scan(&n); err != nil {
		return 0, fmt.Errorf("topic audience count: %w", s.mapErr(err))
	}
	return n, nil
}
