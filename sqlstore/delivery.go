package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"herald"
)

// Deliveries: notifications, per-recipient deliveries and message keys.
// Bulk statements take their rows as one JSON parameter (json_each on
// SQLite, json_to_recordset on PostgreSQL), so each has one fixed text and
// is prepared once whatever the batch size.

// txStmt returns query's statement for use inside tx: the one prepared
// on the database (see warm) when there is one, else one prepared on tx.
// It never prepares on the database itself, which on SQLite would wait for
// the one connection tx holds.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("prepare: %w", err))
	}
	return st, nil
}

// warm prepares queries on the database, outside any transaction, so the
// transactions that use them find them prepared.
func (s *Store) warm(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := s.prepared(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// jsonElems returns a subquery selecting the elements of the JSON array
// parameter p as text.
func (s *Store) jsonElems(p string) string {
	if s.dialect == DialectPostgres {
		return `SELECT jsonb_array_elements_text(CAST(` + p + ` AS jsonb))`
	}
	return `SELECT value FROM json_each(` + p + `)`
}

// jsonInts is jsonElems for an array of integers.
func (s *Store) jsonInts(p string) string {
	if s.dialect == DialectPostgres {
		return `SELECT CAST(jsonb_array_elements_text(CAST(` + p + ` AS jsonb)) AS BIGINT)`
	}
	return `SELECT value FROM json_each(` + p + `)`
}

// jsonRecords returns a FROM item named v reading the JSON array of
// objects in parameter p, with the given columns ("name type").
func (s *Store) jsonRecords(p string, cols ...string) string {
	if s.dialect == DialectPostgres {
		return `json_to_recordset(CAST(` + p + ` AS json)) AS v(` + strings.Join(cols, ", ") + `)`
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		name, _, _ := strings.Cut(c, " ")
		sel[i] = fmt.Sprintf("value ->> '%s' AS %s", name, name)
	}
	return `(SELECT ` + strings.Join(sel, ", ") + ` FROM json_each(` + p + `)) AS v`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: marshal: %v", err))
	}
	return string(b)
}

const notificationCols = `id, request, state, expanded, cursor, created_at, updated_at, completed_at, created_by, created_by_name`

// deliveryState is a delivery's state, for a query joining deliveries d
// with inflight f: a delivery in flight is sending (its row says pending).
const deliveryState = `CASE WHEN f.id IS NULL THEN d.state ELSE 'sending' END`

// notInFlight is the condition that the deliveries row named row is not
// in flight.
func notInFlight(row string) string {
	return `NOT EXISTS (SELECT 1 FROM inflight f WHERE f.id = ` + row + `.id)`
}

// deliveryColumns lists the columns scanDelivery reads, given the
// expressions of the state and the attempts.
func deliveryColumns(state, attempts string) string {
	return `d.id, d.notification_id, d.recipient, d.kind, d.user_id, d.tenant_id, d.team_id, d.channel_id,
	d.conversation_id, d.service_url, d.reply_to_id, d.name, d.given_name, d.email, d.variables, ` + state + `,
	d.reason, d.error, ` + attempts + `, d.throttles, d.next_at, d.activity_id, d.updated, d.created_at, d.updated_at, d.delivered_at`
}

var (
	// deliveryCols is for a query joining deliveries d with inflight f.
	// The attempt in flight is counted: the row's attempts grow when its
	// result is recorded.
	deliveryCols = deliveryColumns(deliveryState, `d.attempts + CASE WHEN f.id IS NULL THEN 0 ELSE 1 END`)
	// deliveryColsPending is for a query of deliveries d pending and not
	// in flight.
	deliveryColsPending = deliveryColumns(`d.state`, `d.attempts`)
)

func scanDelivery(r rowScanner) (herald.Delivery, error) {
	var d herald.Delivery
	var vars string
	var next, created, updated, delivered int64
	err := r.Scan(&d.ID, &d.NotificationID, &d.Recipient, &d.Kind, &d.UserID, &d.TenantID, &d.TeamID, &d.ChannelID,
		&d.ConversationID, &d.ServiceURL, &d.ReplyToID, &d.Name, &d.GivenName, &d.Email, &vars, &d.State, &d.Reason, &d.Error,
		&d.Attempts, &d.Throttles, &next, &d.ActivityID, &d.Updated, &created, &updated, &delivered)
	if err != nil {
		return herald.Delivery{}, err
	}
	if vars != "" {
		if err := json.Unmarshal([]byte(vars), &d.Variables); err != nil {
			return herald.Delivery{}, fmt.Errorf("decode delivery %d variables: %w", d.ID, err)
		}
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromMicros(delivered)
	return d, nil
}

// DeliveryList implements herald.DeliveryStore.
func (s *Store) DeliveryList(ctx context.Context, p herald.DeliveryListParams) ([]herald.Delivery, error) {
	limit := p.Page.Limit
	if limit <= 0 {
		limit = 100
	}
	states := make([]string, len(p.Filter.States))
	for i, st := range p.Filter.States {
		states[i] = string(st)
	}
	rows, err := s.query(ctx, `SELECT `+deliveryCols+` FROM deliveries d LEFT JOIN inflight f ON f.id = d.id
	WHERE d.notification_id = $1 AND d.id > $2
	AND ($3 = 0 OR `+deliveryState+` IN (`+s.jsonElems("$4")+`)) AND ($5 = '' OR d.reason = $5)
	ORDER BY d.id LIMIT $6`, p.NotificationID, p.Page.After, len(states), mustJSON(states), string(p.Filter.Reason), limit)
	if err != nil {
		return nil, fmt.Errorf("delivery list: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("delivery list: %w", s.mapErr(err))
	}
	return out, nil
}

// DeliveryDue implements herald.DeliveryStore.
func (s *Store) DeliveryDue(ctx context.Context, p herald.DeliveryDueParams) ([]herald.Delivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT `+deliveryColsPending+` FROM deliveries d
	WHERE d.notification_id = $1 AND d.tenant_id = $2 AND d.state = 'pending' AND d.id > $3 AND d.next_at <= $4
	AND `+notInFlight("d")+`
	ORDER BY d.id LIMIT $5`, p.NotificationID, p.TenantID, p.AfterID, toMicros(p.Now), limit)
	if err != nil {
		return nil, fmt.Errorf("delivery due: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("delivery due: %w", s.mapErr(err))
	}
	return out, nil
}

// DeliveryNextDue implements herald.DeliveryStore.
func (s *Store) DeliveryNextDue(ctx context.Context, notificationID, tenantID string) (time.Time, bool, error) {
	var n int
	var next sql.NullInt64
	err := s.queryRow(ctx, `SELECT count(*), min(next_at) FROM deliveries
	WHERE notification_id = $1 AND tenant_id = $2 AND state = 'pending'
	AND `+notInFlight("deliveries"), notificationID, tenantID).Scan(&n, &next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("delivery next due: %w", s.mapErr(err))
	}
	if n == 0 {
		return time.Time{}, false, nil
	}
	return fromMicros(next.Int64), true, nil
}

// DeliveryTenants implements herald.DeliveryStore.
func (s *Store) DeliveryTenants(ctx context.Context, notificationID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT tenant_id FROM deliveries WHERE notification_id = $1 AND state = 'pending'`, notificationID)
	if err != nil {
		return nil, fmt.Errorf("delivery tenants: %w", s.mapErr(err))
	}
	out, err := collect(rows, func(r rowScanner) (string, error) {
		var t string
		return t, r.Scan(&t)
	})
	if err != nil {
		return nil, fmt.Errorf("delivery tenants: %w", s.mapErr(err))
	}
	return out, nil
}

// DeliveryCancel implements herald.DeliveryStore.
func (s *Store) DeliveryCancel(ctx context.Context, notificationID string, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM notifications WHERE id = $1`, notificationID).Scan(&state)
		if err != nil {
			return s.mapErr(err)
		}
		if herald.NotificationState(state).Final() {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'cancelled', reason = 'cancelled', updated_at = $2
		WHERE notification_id = $1 AND state = 'pending'
		AND `+notInFlight("deliveries"), notificationID, toMicros(now))
		if err != nil {
			return s.mapErr(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return s.mapErr(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notifications SET state = 'cancelled', updated_at = $2, completed_at = $2
		WHERE id = $1`, notificationID, toMicros(now))
		return s.mapErr(err)
	})
	if err != nil {
		return 0, fmt.Errorf("delivery cancel: %w", err)
	}
	return int(n), nil
}

// DeliveryRetry implements herald.DeliveryStore.
func (s *Store) DeliveryRetry(ctx context.Context, p herald.DeliveryRetryParams) (int, error) {
	var states []string
	for _, st := range p.States {
		if st == herald.DeliveryFailed || st == herald.DeliveryUncertain {
			states = append(states, string(st))
		}
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM notifications WHERE id = $1`, p.NotificationID).Scan(&state)
		if err != nil {
			return s.mapErr(err)
		}
		if herald.NotificationState(state) == herald.NotificationCancelled {
			return fmt.Errorf("notification is cancelled: %w", herald.ErrConflict)
		}
		if len(states) == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', reason = '', error = '', attempts = 0,
		throttles = 0, next_at = 0, updated_at = $2
		WHERE notification_id = $1 AND state IN (`+s.jsonElems("$3")+`)`, p.NotificationID, toMicros(p.Now), mustJSON(states))
		if err != nil {
			return s.mapErr(err)
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return s.mapErr(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notifications SET state = 'sending', completed_at = 0, updated_at = $2
		WHERE id = $1 AND state = 'completed'`, p.NotificationID, toMicros(p.Now))
		return s.mapErr(err)
	})
	if err != nil {
		return 0, fmt.Errorf("delivery retry: %w", err)
	}
	return int(n), nil
}

// MessageFind implements herald.DeliveryStore.
func (s *Store) MessageFind(ctx context.Context, key, target string) (herald.MessageRef, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageCols+` FROM message_keys WHERE msg_key = $1 AND target = $2`, key, target))
	if err != nil {
		return herald.MessageRef{}, fmt.Errorf("message find: %w", s.mapErr(err))
	}
	return m, nil
}

// MessageList implements herald.DeliveryStore.
func (s *Store) MessageList(ctx context.Context, key string) ([]herald.MessageRef, error) {
	rows, err := s.query(ctx, `SELECT `+messageCols+` FROM message_keys WHERE msg_key = $1 AND kind = 'channel' ORDER BY target`, key)
	if err != nil {
		return nil, fmt.Errorf("message list: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("message list: %w", s.mapErr(err))
	}
	return out, nil
}

const messageCols = `msg_key, target, kind, conversation_id, activity_id, tenant_id, team_id, channel_id,
	service_url, notification_id, updated_at`

func scanMessage(r rowScanner) (herald.MessageRef, error) {
	var m herald.MessageRef
	var updated int64
	err := r.Scan(&m.Key, &m.Target, &m.Kind, &m.ConversationID, &m.ActivityID, &m.TenantID, &m.TeamID, &m.ChannelID,
		&m.ServiceURL, &m.NotificationID, &updated)
	m.UpdatedAt = fromMicros(updated)
	return m, err
}
