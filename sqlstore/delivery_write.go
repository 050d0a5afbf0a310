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
func expandInsert(fromWhere string) string {
	return `INSERT INTO deliveries (notification_id, recipient, kind, user_id, tenant_id, conversation_id,
	service_url, name, given_name, email, state, reason, created_at, updated_at)
	SELECT CAST($1 AS TEXT), x.id, 'personal', x.id, x.tenant_id, x.conversation_id, x.service_url, x.name, x.given_name, x.email,
	CASE WHEN x.unreachable OR x.opted_out THEN 'skipped' ELSE 'pending' END,
	CASE WHEN x.unreachable THEN 'unreachable' WHEN x.opted_out THEN 'opted-out' ELSE '' END,
	CAST($4 AS BIGINT), CAST($4 AS BIGINT)
	FROM (SELECT u.id, u.tenant_id, u.conversation_id,
		COALESCE(NULLIF(u.service_url, ''), (SELECT t.service_url FROM tenants t WHERE t.id = u.tenant_id), '') AS service_url,
		u.name, u.given_name, u.email, (u.blocked OR u.uninstalled) AS unreachable,
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
	var bound, insert string
	var args []any
	switch p.Source {
	case herald.SourceUsers:
		insert = expandInsert(`FROM users u WHERE u.id IN (` + s.jsonElems("$5") + `)`)
		args = []any{mustJSON(p.UserIDs)}
	case herald.SourceTenant:
		bound = `SELECT count(*), max(id) FROM (SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) c`
		insert = expandInsert(`FROM users u WHERE u.tenant_id = $5 AND u.id > $6 AND u.id <= $7`)
	case herald.SourceTeam:
		bound = `SELECT count(*), max(user_id) FROM (SELECT user_id FROM memberships WHERE team_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3) c`
		insert = expandInsert(`FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.team_id = $5 AND m.user_id > $6 AND m.user_id <= $7`)
	case herald.SourceTopic:
		bound = `SELECT count(*), max(user_id) FROM (SELECT user_id FROM preferences WHERE topic = $1 AND NOT opted_out AND user_id > $2 ORDER BY user_id LIMIT $3) c`
		insert = expandInsert(`FROM preferences s JOIN users u ON u.id = s.user_id WHERE s.topic = $5 AND NOT s.opted_out AND s.user_id > $6 AND s.user_id <= $7`)
	default:
		return res, fmt.Errorf("delivery expand: unknown source %q", p.Source)
	}
	queries := []string{insert, saveCursorQuery, setVariablesQuery}
	if bound != "" {
		queries = append(queries, bound)
	}
	if err := s.warm(ctx, queries...); err != nil {
		return res, fmt.Errorf("delivery expand: %w", err)
	}
	var lo, hi int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
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

// resultRow is a DeliveryResult as DeliveryApply writes it.
type resultRow struct {
	ID             int64  `json:"id"`
	State          string `json:"state"`
	Reason         string `json:"reason"`
	Error          string `json:"error"`
	NextAt         int64  `json:"next_at"`
	ActivityID     string `json:"activity_id"`
	ConversationID string `json:"conversation_id"`
	Updated        int    `json:"upd"`
	DeliveredAt    int64  `json:"delivered_at"`
	Throttled      int    `json:"thr"`
}

type userConvRow struct {
	ID   string `json:"id"`
	Conv string `json:"conv"`
}

type messageRow struct {
	Key            string `json:"msg_key"`
	Target         string `json:"target"`
	Kind           string `json:"kind"`
	ConversationID string `json:"conversation_id"`
	ActivityID     string `json:"activity_id"`
	TenantID       string `json:"tenant_id"`
	TeamID         string `json:"team_id"`
	ChannelID      string `json:"channel_id"`
	ServiceURL     string `json:"service_url"`
	NotificationID string `json:"notification_id"`
}

// DeliveryApply implements herald.DeliveryStore.
func (s *Store) DeliveryApply(ctx context.Context, p herald.DeliveryApplyParams) ([]int64, error) {
	now := toMicros(p.Now)
	results := make([]resultRow, 0, len(p.Results))
	var convs []userConvRow
	msgs := map[[2]string]messageRow{}
	for _, r := range p.Results {
		row := resultRow{ID: r.ID, State: string(r.State), Reason: string(r.Reason), Error: r.Error,
			NextAt: toMicros(r.NextAttemptAt), ActivityID: r.ActivityID, ConversationID: r.ConversationID,
			DeliveredAt: toMicros(r.DeliveredAt)}
		if r.Updated {
			row.Updated = 1
		}
		if r.Throttled {
			row.Throttled = 1
		}
		results = append(results, row)
		if r.UserID != "" && r.UserConversation != "" {
			convs = append(convs, userConvRow{ID: r.UserID, Conv: r.UserConversation})
		}
		if m := r.Message; m != nil {
			msgs[[2]string{m.Key, m.Target}] = messageRow{Key: m.Key, Target: m.Target, Kind: string(m.Kind),
				ConversationID: m.ConversationID, ActivityID: m.ActivityID, TenantID: m.TenantID, TeamID: m.TeamID,
				ChannelID: m.ChannelID, ServiceURL: m.ServiceURL, NotificationID: m.NotificationID}
		}
	}
	// A result applies only to a delivery still in flight (recovery may
	// have settled it meanwhile); recording it ends the flight.
	qResults := `UPDATE deliveries AS d SET state = v.state, reason = v.reason, error = v.error,
	next_at = v.next_at,
	activity_id = CASE WHEN v.activity_id <> '' THEN v.activity_id ELSE d.activity_id END,
	conversation_id = CASE WHEN v.conversation_id <> '' THEN v.conversation_id ELSE d.conversation_id END,
	updated = (v.upd = 1), delivered_at = v.delivered_at, attempts = d.attempts + 1 - v.thr,
	throttles = d.throttles + v.thr, updated_at = $2
	FROM ` + s.jsonRecords("$1", "id bigint", "state text", "reason text", "error text", "next_at bigint",
		"activity_id text", "conversation_id text", "upd int", "delivered_at bigint", "thr int") + `
	WHERE d.id = v.id AND EXISTS (SELECT 1 FROM inflight f WHERE f.id = d.id)`
	qLanded := `DELETE FROM inflight WHERE id IN (` + s.jsonInts("$1") + `)`
	qConvs := `UPDATE users AS u SET conversation_id = v.conv, updated_at = $2
	FROM ` + s.jsonRecords("$1", "id text", "conv text") + ` WHERE u.id = v.id`
	qMessages := `INSERT INTO message_keys (msg_key, target, kind, conversation_id, activity_id,
	tenant_id, team_id, channel_id, service_url, notification_id, updated_at)
	SELECT v.msg_key, v.target, v.kind, v.conversation_id, v.activity_id, v.tenant_id, v.team_id, v.channel_id,
	v.service_url, v.notification_id, CAST($2 AS BIGINT)
	FROM ` + s.jsonRecords("$1", "msg_key text", "target text", "kind text", "conversation_id text", "activity_id text",
		"tenant_id text", "team_id text", "channel_id text", "service_url text", "notification_id text") + `
	WHERE true
	ON CONFLICT (msg_key, target) DO UPDATE SET kind = excluded.kind, conversation_id = excluded.conversation_id,
	activity_id = excluded.activity_id, tenant_id = excluded.tenant_id, team_id = excluded.team_id,
	channel_id = excluded.channel_id, service_url = excluded.service_url,
	notification_id = excluded.notification_id, updated_at = excluded.updated_at`
	qMark := `INSERT INTO inflight (id, node, started_at)
	SELECT d.id, $1, $2 FROM deliveries d
	WHERE d.state = 'pending' AND d.id IN (` + s.jsonInts("$3") + `)
	ON CONFLICT (id) DO NOTHING RETURNING id`
	// Sorted, so that concurrent batches lock rows in one order.
	sort.Slice(convs, func(i, j int) bool { return convs[i].ID < convs[j].ID })
	msgRows := make([]messageRow, 0, len(msgs))
	for _, m := range msgs {
		msgRows = append(msgRows, m)
	}
	sort.Slice(msgRows, func(i, j int) bool {
		return msgRows[i].Key < msgRows[j].Key || msgRows[i].Key == msgRows[j].Key && msgRows[i].Target < msgRows[j].Target
	})
	landed := make([]int64, len(results))
	for i, r := range results {
		landed[i] = r.ID
	}
	if p.Mark == nil {
		p.Mark = []int64{}
	}
	if convs == nil {
		convs = []userConvRow{}
	}
	if s.dialect == DialectPostgres {
		return s.applyPostgres(ctx, p, results, landed, convs, msgRows)
	}
	if err := s.warm(ctx, qResults, qLanded, qConvs, qMessages, qMark); err != nil {
		return nil, fmt.Errorf("delivery apply: %w", err)
	}
	var marked []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(results) > 0 {
			if _, err := s.txExec(ctx, tx, qResults, mustJSON(results), now); err != nil {
				return s.mapErr(fmt.Errorf("record results: %w", err))
			}
			if _, err := s.txExec(ctx, tx, qLanded, mustJSON(landed)); err != nil {
				return s.mapErr(fmt.Errorf("record results: %w", err))
			}
		}
		if len(convs) > 0 {
			if _, err := s.txExec(ctx, tx, qConvs, mustJSON(convs), now); err != nil {
				return s.mapErr(fmt.Errorf("record conversations: %w", err))
			}
		}
		if len(msgRows) > 0 {
			if _, err := s.txExec(ctx, tx, qMessages, mustJSON(msgRows), now); err != nil {
				return s.mapErr(fmt.Errorf("record messages: %w", err))
			}
		}
		if len(p.Mark) == 0 {
			return nil
		}
		rows, err := s.txQuery(ctx, tx, qMark, p.Node, now, mustJSON(p.Mark))
		if err != nil {
			return s.mapErr(fmt.Errorf("mark sending: %w", err))
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return s.mapErr(err)
			}
			marked = append(marked, id)
		}
		return s.mapErr(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("delivery apply: %w", err)
	}
	return marked, nil
}

// applyPostgres is DeliveryApply on PostgreSQL: one statement (and so one
// round trip and one commit) whose data-modifying parts end the flights of
// the results and record them, the users' conversations and the message
// keys, then mark the new deliveries in flight. Results and marks are
// about different deliveries, so no row is changed twice.
func (s *Store) applyPostgres(ctx context.Context, p herald.DeliveryApplyParams, results []resultRow, landed []int64, convs []userConvRow, msgs []messageRow) ([]int64, error) {
	q := `WITH f AS (
		DELETE FROM inflight WHERE id = ANY(CAST($7 AS bigint[]))
		RETURNING id
	), r AS (
		UPDATE deliveries AS d SET state = v.state, reason = v.reason, error = v.error, next_at = v.next_at,
		activity_id = CASE WHEN v.activity_id <> '' THEN v.activity_id ELSE d.activity_id END,
		conversation_id = CASE WHEN v.conversation_id <> '' THEN v.conversation_id ELSE d.conversation_id END,
		updated = (v.upd = 1), delivered_at = v.delivered_at, attempts = d.attempts + 1 - v.thr,
		throttles = d.throttles + v.thr, updated_at = $2
		FROM json_to_recordset(CAST($1 AS json)) AS v(id bigint, state text, reason text, error text, next_at bigint,
			activity_id text, conversation_id text, upd int, delivered_at bigint, thr int)
			JOIN f ON f.id = v.id
		WHERE d.id = v.id
		RETURNING d.id
	), c AS (
		UPDATE users AS u SET conversation_id = v.conv, updated_at = $2
		FROM json_to_recordset(CAST($3 AS json)) AS v(id text, conv text) WHERE u.id = v.id
		RETURNING u.id
	), m AS (
		INSERT INTO message_keys (msg_key, target, kind, conversation_id, activity_id,
		tenant_id, team_id, channel_id, service_url, notification_id, updated_at)
		SELECT v.msg_key, v.target, v.kind, v.conversation_id, v.activity_id, v.tenant_id, v.team_id, v.channel_id,
		v.service_url, v.notification_id, CAST($2 AS BIGINT)
		FROM json_to_recordset(CAST($4 AS json)) AS v(msg_key text, target text, kind text, conversation_id text,
			activity_id text, tenant_id text, team_id text, channel_id text, service_url text, notification_id text)
		ON CONFLICT (msg_key, target) DO UPDATE SET kind = excluded.kind, conversation_id = excluded.conversation_id,
		activity_id = excluded.activity_id, tenant_id = excluded.tenant_id, team_id = excluded.team_id,
		channel_id = excluded.channel_id, service_url = excluded.service_url,
		notification_id = excluded.notification_id, updated_at = excluded.updated_at
		RETURNING 1
	), k AS (
		-- The row lock makes a mark racing another node's result wait for
		-- it and see the delivery's new state.
		INSERT INTO inflight (id, node, started_at)
		SELECT d.id, $5, $2 FROM deliveries d
		WHERE d.state = 'pending' AND d.id IN (SELECT CAST(jsonb_array_elements_text(CAST($6 AS jsonb)) AS BIGINT))
		FOR UPDATE OF d
		ON CONFLICT (id) DO NOTHING
		RETURNING id
	)
	SELECT id FROM k`
	rows, err := s.query(ctx, q, mustJSON(results), toMicros(p.Now), mustJSON(convs), mustJSON(msgs), p.Node, mustJSON(p.Mark), landed)
	if err != nil {
		return nil, fmt.Errorf("delivery apply: %w", s.mapErr(err))
	}
	marked, err := collect(rows, func(r rowScanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("delivery apply: %w", s.mapErr(err))
	}
	return marked, nil
}

// DeliveryRecover implements herald.DeliveryStore.
func (s *Store) DeliveryRecover(ctx context.Context, p herald.DeliveryRecoverParams) (herald.DeliveryRecoverResult, error) {
	var res herald.DeliveryRecoverResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Flights of the node that stopped, and flights gone stale, end
		// here: the call may have reached Teams.
		const lost = `(($1 <> '' AND node = $1) OR started_at < $2)`
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET
		state = CASE WHEN EXISTS (SELECT 1 FROM notifications n WHERE n.id = deliveries.notification_id AND n.at_least_once)
			THEN 'pending' ELSE 'uncertain' END,
		reason = CASE WHEN EXISTS (SELECT 1 FROM notifications n WHERE n.id = deliveries.notification_id AND n.at_least_once)
			THEN '' ELSE 'interrupted' END,
		attempts = attempts + 1, next_at = 0, updated_at = $3
		WHERE state = 'pending' AND id IN (SELECT id FROM inflight WHERE `+lost+`)
		RETURNING notification_id, state`, p.Node, toMicros(p.StaleBefore), toMicros(p.Now))
		if err != nil {
			return s.mapErr(err)
		}
		seen := map[string]bool{}
		for rows.Next() {
			var id, state string
			if err := rows.Scan(&id, &state); err != nil {
				rows.Close()
				return s.mapErr(err)
			}
			if state == string(herald.DeliveryPending) {
				res.Repending++
				if !seen[id] {
					seen[id] = true
					res.Notifications = append(res.Notifications, id)
				}
			} else {
				res.Uncertain++
			}
		}
		if err := rows.Close(); err != nil {
			return s.mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inflight WHERE `+lost, p.Node, toMicros(p.StaleBefore)); err != nil {
			return s.mapErr(err)
		}
		sort.Strings(res.Notifications)
		return nil
	})
	if err != nil {
		return herald.DeliveryRecoverResult{}, fmt.Errorf("delivery recover: %w", err)
	}
	return res, nil
}
