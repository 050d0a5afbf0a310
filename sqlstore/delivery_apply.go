package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"herald"
	"sort"
)

// DeliveryApply: the results of calls to Teams and the marks of the next
// deliveries in flight, written in one transaction.

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
	results, landed, convs, msgRows := applyRows(p)
	if p.Mark == nil {
		p.Mark = []int64{}
	}
	if s.dialect == DialectPostgres {
		return s.applyPostgres(ctx, p, results, landed, convs, msgRows)
	}
	return s.applySQLite(ctx, p, results, landed, convs, msgRows)
}

// applySQLite is DeliveryApply on SQLite: one transaction of up to five
// statements.
func (s *Store) applySQLite(ctx context.Context, p herald.DeliveryApplyParams, results []resultRow, landed []int64, convs []userConvRow, msgRows []messageRow) ([]int64, error) {
	now := toMicros(p.Now)
	q := s.applyQueries()
	qResults, qLanded, qConvs, qMessages, qMark := q.results, q.landed, q.convs, q.messages, q.mark
	if err := s.warm(ctx, qResults, qLanded, qConvs, qMessages, qMark, q.unblock); err != nil {
		return nil, fmt.Errorf("delivery apply: %w", err)
	}
	delivered := deliveredIDs(results)
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
		if len(delivered) > 0 {
			if _, err := s.txExec(ctx, tx, q.unblock, mustJSON(delivered), now); err != nil {
				return s.mapErr(fmt.Errorf("clear blocks: %w", err))
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

// applyRows turns the results of p into the rows DeliveryApply writes:
// the deliveries' results, the ids whose flight ends, the users' new
// conversations and the message keys (sorted, so that concurrent batches
// lock rows in one order).
func applyRows(p herald.DeliveryApplyParams) (results []resultRow, landed []int64, convs []userConvRow, msgRows []messageRow) {
	results = make([]resultRow, 0, len(p.Results))
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
	sort.Slice(convs, func(i, j int) bool { return convs[i].ID < convs[j].ID })
	msgRows = make([]messageRow, 0, len(msgs))
	for _, m := range msgs {
		msgRows = append(msgRows, m)
	}
	sort.Slice(msgRows, func(i, j int) bool {
		return msgRows[i].Key < msgRows[j].Key || msgRows[i].Key == msgRows[j].Key && msgRows[i].Target < msgRows[j].Target
	})
	landed = make([]int64, len(results))
	for i, r := range results {
		landed[i] = r.ID
	}
	if convs == nil {
		convs = []userConvRow{}
	}
	return results, landed, convs, msgRows
}

// deliveredIDs are the ids of the results that say delivered.
func deliveredIDs(results []resultRow) []int64 {
	var ids []int64
	for _, r := range results {
		if r.State == string(herald.DeliveryDelivered) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// applyQueries are DeliveryApply's statements on SQLite.
type applyQueries struct{ results, landed, convs, messages, mark, unblock string }

func (s *Store) applyQueries() applyQueries {
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
	// A node whose registration ended (taken for dead) marks nothing
	// until it registers again.
	qMark := `INSERT INTO inflight (id, node, started_at)
	SELECT d.id, $1, $2 FROM deliveries d
	WHERE d.state = 'pending' AND d.id IN (` + s.jsonInts("$3") + `) AND ` + nodeRunning("$1") + `
	ON CONFLICT (id) DO NOTHING RETURNING id`
	// A personal message Teams accepted proves its reader no longer blocks
	// the bot: the result clears the flag (a write only where it is set).
	// It runs after qResults, so only results that applied count.
	qUnblock := `UPDATE users SET blocked = false, updated_at = $2
	WHERE blocked = true AND id IN (SELECT d.user_id FROM deliveries d
		WHERE d.id IN (` + s.jsonInts("$1") + `) AND d.kind = 'personal' AND d.state = 'delivered')`
	return applyQueries{results: qResults, landed: qLanded, convs: qConvs, messages: qMessages, mark: qMark, unblock: qUnblock}
}

// applyPostgres is DeliveryApply on PostgreSQL: one statement (and so one
// round trip and one commit) whose data-modifying parts end the flights of
// the results and record them, the users' conversations and the blocks a
// delivered personal message disproves, and the message keys, then mark
// the new deliveries in flight. Results and marks are about different
// deliveries, and one part writes each user, so no row is changed twice.
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
		RETURNING d.id, d.user_id, d.kind, d.state
	), c AS (
		UPDATE users AS u SET conversation_id = COALESCE(x.conv, u.conversation_id),
		blocked = u.blocked AND NOT x.unblock, updated_at = $2
		FROM (SELECT COALESCE(v.id, w.user_id) AS id, v.conv, w.user_id IS NOT NULL AS unblock
			FROM json_to_recordset(CAST($3 AS json)) AS v(id text, conv text)
			FULL JOIN (SELECT DISTINCT user_id FROM r WHERE state = 'delivered' AND kind = 'personal') AS w
			ON w.user_id = v.id) AS x
		WHERE u.id = x.id AND (x.conv IS NOT NULL OR u.blocked)
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
		AND ` + nodeRunning("$5") + `
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
