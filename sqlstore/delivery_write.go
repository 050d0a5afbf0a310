package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"herald"
)

// optedOutExpr is true when user u opted out of the topic in parameter
// p (or of every topic without opting back in to this one).
func optedOutExpr(p string) string {
	return `(EXISTS (SELECT 1 FROM preferences p WHERE p.user_id = u.id AND p.topic = ` + p + ` AND p.opted_out)
	OR (EXISTS (SELECT 1 FROM preferences p WHERE p.user_id = u.id AND p.topic = '*' AND p.opted_out)
	AND NOT EXISTS (SELECT 1 FROM preferences p WHERE p.user_id = u.id AND p.topic = ` + p + ` AND NOT p.opted_out)))`
}

// expandInsert returns the INSERT … SELECT that records a personal delivery
// for each user the FROM/WHERE clause selects (as u). Parameters: $1
// notification id, $2 topic, $3 critical, $4 now; the clause uses $5 on.
// The uncorrelated EXISTS, evaluated once, skips the per-user preference
// lookups when nobody opted out of the topic or of everything.
func expandInsert(fromWhere string) string { return expandInsertWith(fromWhere, "false") }

// onlyThroughTeam is true for a member u of a team the bot was removed
// from who cannot be reached another way: no personal install of the app,
// and no other team where the bot is installed.
const onlyThroughTeam = `(NOT u.installed AND NOT EXISTS (SELECT 1 FROM memberships o JOIN teams ot ON ot.id = o.team_id
	WHERE o.user_id = u.id AND ot.installed AND NOT ot.deleted))`

// expandInsertWith is expandInsert whose users are skipped as
// app-uninstalled where the boolean SQL expression noInstall (over u) is
// true, unless the directory already knows them unreachable.
func expandInsertWith(fromWhere, noInstall string) string {
	return `INSERT INTO deliveries (notification_id, recipient, kind, user_id, tenant_id, conversation_id,
	service_url, name, given_name, email, state, reason, created_at, updated_at)
	SELECT CAST($1 AS TEXT), x.id, 'personal', x.id, x.tenant_id, x.conversation_id, x.service_url, x.name, x.given_name, x.email,
	CASE WHEN x.unreachable OR x.no_install OR x.opted_out THEN 'skipped' ELSE 'pending' END,
	CASE WHEN x.unreachable THEN 'unreachable' WHEN x.no_install THEN 'app-uninstalled' WHEN x.opted_out THEN 'opted-out' ELSE '' END,
	CAST($4 AS BIGINT), CAST($4 AS BIGINT)
	FROM (SELECT u.id, u.tenant_id, u.conversation_id,
		COALESCE(NULLIF(u.service_url, ''), (SELECT t.service_url FROM tenants t WHERE t.id = u.tenant_id), '') AS service_url,
		u.name, u.given_name, u.email, (u.blocked OR u.uninstalled) AS unreachable, ` + noInstall + ` AS no_install,
		(NOT CAST($3 AS BOOLEAN)
			AND EXISTS (SELECT 1 FROM preferences q WHERE q.topic IN (CAST($2 AS TEXT), '*') AND q.opted_out)
			AND ` + optedOutExpr("CAST($2 AS TEXT)") + `) AS opted_out
		` + fromWhere + `) x
	WHERE true
	ON CONFLICT (notification_id, recipient) DO NOTHING
	RETURNING id, tenant_id, state`
}

// DeliveryExpand implements herald.DeliveryStore.
func (s *Store) DeliveryExpand(ctx context.Context, p herald.DeliveryExpandParams) (herald.DeliveryExpandResult, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	var res herald.DeliveryExpandResult
	bound, insert, args, err := s.expandQueries(p)
	if err != nil {
		return res, err
	}
	queries := []string{insert, saveCursorQuery, setVariablesQuery}
	if bound != "" {
		queries = append(queries, bound)
	}
	if err := s.warm(ctx, queries...); err != nil {
		return res, fmt.Errorf("delivery expand: %w", err)
	}
	var lo, hi int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if bound != "" {
			var last sql.NullString
			rows, err := s.txQuery(ctx, tx, bound, p.Value, p.After, limit)
			if err != nil {
				return s.mapErr(err)
			}
			for rows.Next() {
				if err := rows.Scan(&res.Scanned, &last); err != nil {
					rows.Close()
					return s.mapErr(err)
				}
			}
			if err := rows.Close(); err != nil {
				return s.mapErr(err)
			}
			if res.Scanned == 0 {
				return s.saveCursor(ctx, tx, p.NotificationID, p.Cursor, p.Now)
			}
			res.Last = last.String
			args = []any{p.Value, p.After, res.Last}
		} else {
			res.Scanned = len(p.UserIDs)
		}
		all := append([]any{p.NotificationID, p.Topic, p.Critical, toMicros(p.Now)}, args...)
		tenants, n, first, last, err := s.insertReturning(ctx, tx, insert, all...)
		if err != nil {
			return err
		}
		lo, hi = first, last
		res.Inserted, res.Tenants = n, tenants
		for uid, vars := range p.Variables {
			if len(vars) == 0 {
				continue
			}
			if _, err := s.txExec(ctx, tx, setVariablesQuery, p.NotificationID, uid, mustJSON(vars)); err != nil {
				return s.mapErr(err)
			}
		}
		return s.saveCursor(ctx, tx, p.NotificationID, p.Cursor, p.Now)
	})
	if err != nil {
		return herald.DeliveryExpandResult{}, fmt.Errorf("delivery expand: %w", err)
	}
	s.analyzeAfter(ctx, lo, hi)
	return res, nil
}

// expandQueries returns DeliveryExpand's queries for p's source: the
// bound query of a paged source ("" for SourceUsers), the insert, and the
// insert's arguments from $5 on (for paged sources, set per chunk).
func (s *Store) expandQueries(p herald.DeliveryExpandParams) (bound, insert string, args []any, err error) {
	switch p.Source {
	case herald.SourceUsers:
		insert = expandInsert(`FROM users u WHERE u.id IN (` + s.jsonElems("$5") + `)`)
		args = []any{mustJSON(p.UserIDs)}
	case herald.SourceTenant:
		bound = `SELECT count(*), max(id) FROM (SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) c`
		insert = expandInsert(`FROM users u WHERE u.tenant_id = $5 AND u.id > $6 AND u.id <= $7`)
	case herald.SourceTeam:
		bound = `SELECT count(*), max(user_id) FROM (SELECT user_id FROM memberships WHERE team_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3) c`
		noInstall := "false"
		if p.TeamRemoved {
			noInstall = onlyThroughTeam
		}
		insert = expandInsertWith(`FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.team_id = $5 AND m.user_id > $6 AND m.user_id <= $7`, noInstall)
	case herald.SourceTopic:
		bound, insert = topicQueries(p.TopicDefaultOn, p.Critical)
	default:
		return "", "", nil, fmt.Errorf("delivery expand: unknown source %q", p.Source)
	}
	return bound, insert, args, nil
}

// analyzeCrossed reports whether delivery ids from lo to hi crossed a
// point where PostgreSQL's statistics are worth refreshing: each power of
// four from 4096 on, then every 262144 ids. The planner needs fresh numbers
// to keep using the indexes of a table that grew fast (autovacuum comes
// only every minute); ids are global, so no state is kept.
func analyzeCrossed(lo, hi int64) bool {
	for p := int64(4096); p <= 262144; p *= 4 {
		if lo < p && hi >= p {
			return true
		}
	}
	return lo/262144 != hi/262144
}

// analyzeAfter analyzes the deliveries table on PostgreSQL when the ids
// just inserted crossed such a point. A failure only costs speed.
func (s *Store) analyzeAfter(ctx context.Context, lo, hi int64) {
	if s.dialect != DialectPostgres || hi == 0 || !analyzeCrossed(lo, hi) {
		return
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE deliveries`); err != nil {
		s.logger.Warn("analyze deliveries", "err", err)
	}
}

// insertReturning runs an INSERT … RETURNING id, tenant_id, state and
// returns the distinct tenants of the pending rows, the number of rows and
// the least and greatest id.
func (s *Store) insertReturning(ctx context.Context, tx *sql.Tx, query string, args ...any) (tenants []string, n int, lo, hi int64, err error) {
	rows, err := s.txQuery(ctx, tx, query, args...)
	if err != nil {
		return nil, 0, 0, 0, s.mapErr(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id int64
		var tenant, state string
		if err := rows.Scan(&id, &tenant, &state); err != nil {
			return nil, 0, 0, 0, s.mapErr(err)
		}
		n++
		if lo == 0 || id < lo {
			lo = id
		}
		hi = max(hi, id)
		if state == string(herald.DeliveryPending) {
			seen[tenant] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, 0, s.mapErr(err)
	}
	tenants = make([]string, 0, len(seen))
	for t := range seen {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	return tenants, n, lo, hi, nil
}

const saveCursorQuery = `UPDATE notifications SET cursor = $2, updated_at = $3 WHERE id = $1`

const setVariablesQuery = `UPDATE deliveries SET variables = $3 WHERE notification_id = $1 AND recipient = $2`

func (s *Store) saveCursor(ctx context.Context, tx *sql.Tx, id, cursor string, now time.Time) error {
	if cursor == "" {
		return nil
	}
	res, err := s.txExec(ctx, tx, saveCursorQuery, id, cursor, toMicros(now))
	if err != nil {
		return s.mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("notification %s: %w", id, herald.ErrNotFound)
		}
		return s.mapErr(err)
	}
	return nil
}

// deliveryRow is a delivery as DeliveryInsert writes it.
type deliveryRow struct {
	Recipient      string `json:"recipient"`
	Kind           string `json:"kind"`
	UserID         string `json:"user_id"`
	TenantID       string `json:"tenant_id"`
	TeamID         string `json:"team_id"`
	ChannelID      string `json:"channel_id"`
	ConversationID string `json:"conversation_id"`
	ServiceURL     string `json:"service_url"`
	ReplyToID      string `json:"reply_to_id"`
	Name           string `json:"name"`
	State          string `json:"state"`
	Reason         string `json:"reason"`
}

// DeliveryInsert implements herald.DeliveryStore.
func (s *Store) DeliveryInsert(ctx context.Context, p herald.DeliveryInsertParams) ([]string, error) {
	rows := make([]deliveryRow, len(p.Deliveries))
	for i, d := range p.Deliveries {
		rows[i] = deliveryRow{
			Recipient: d.Recipient, Kind: string(d.Kind), UserID: d.UserID, TenantID: d.TenantID, TeamID: d.TeamID,
			ChannelID: d.ChannelID, ConversationID: d.ConversationID, ServiceURL: d.ServiceURL, ReplyToID: d.ReplyToID,
			Name: d.Name, State: string(d.State), Reason: string(d.Reason),
		}
		if rows[i].State == "" {
			rows[i].State = string(herald.DeliveryPending)
		}
	}
	insert := `INSERT INTO deliveries (notification_id, recipient, kind, user_id,
	tenant_id, team_id, channel_id, conversation_id, service_url, reply_to_id, name, state, reason, created_at, updated_at)
	SELECT CAST($1 AS TEXT), v.recipient, v.kind, v.user_id, v.tenant_id, v.team_id, v.channel_id, v.conversation_id,
	v.service_url, v.reply_to_id, v.name, v.state, v.reason, CAST($2 AS BIGINT), CAST($2 AS BIGINT)
	FROM ` + s.jsonRecords("$3", "recipient text", "kind text", "user_id text", "tenant_id text", "team_id text",
		"channel_id text", "conversation_id text", "service_url text", "reply_to_id text", "name text", "state text",
		"reason text") + `
	WHERE true
	ON CONFLICT (notification_id, recipient) DO NOTHING
	RETURNING id, tenant_id, state`
	if err := s.warm(ctx, insert, saveCursorQuery); err != nil {
		return nil, fmt.Errorf("delivery insert: %w", err)
	}
	var tenants []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(rows) > 0 {
			var err error
			tenants, _, _, _, err = s.insertReturning(ctx, tx, insert, p.NotificationID, toMicros(p.Now), mustJSON(rows))
			if err != nil {
				return err
			}
		}
		return s.saveCursor(ctx, tx, p.NotificationID, p.Cursor, p.Now)
	})
	if err != nil {
		return nil, fmt.Errorf("delivery insert: %w", err)
	}
	return tenants, nil
}
