package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"herald"
	"time"
)

// Notifications: create (with the caller's job in the same transaction),
// read, list, change state, finish and count.

func scanNotification(r rowScanner) (herald.Notification, error) {
	var n herald.Notification
	var req string
	var created, updated, completed int64
	if err := r.Scan(&n.ID, &req, &n.State, &n.Expanded, &n.Cursor, &created, &updated, &completed,
		&n.CreatedBy.KeyID, &n.CreatedBy.KeyName); err != nil {
		return herald.Notification{}, err
	}
	if err := json.Unmarshal([]byte(req), &n.Request); err != nil {
		return herald.Notification{}, fmt.Errorf("decode notification %s: %w", n.ID, err)
	}
	n.CreatedAt, n.UpdatedAt, n.CompletedAt = fromMicros(created), fromMicros(updated), fromMicros(completed)
	return n, nil
}

// NotificationCreate implements herald.DeliveryStore.
func (s *Store) NotificationCreate(ctx context.Context, n herald.Notification, also herald.TxFunc) (herald.Notification, bool, error) {
	if n.ID == "" {
		return herald.Notification{}, false, errors.New("notification create: empty id")
	}
	req, err := json.Marshal(n.Request)
	if err != nil {
		return herald.Notification{}, false, fmt.Errorf("notification create: %w", err)
	}
	var idem any
	if n.Request.IdempotencyKey != "" {
		idem = n.Request.IdempotencyKey
	}
	created := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `INSERT INTO notifications
		(id, idempotency_key, msg_key, request, priority, at_least_once, state, expanded, cursor, created_at, updated_at,
		request_hash, welcome, created_by, created_by_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, false, '', $8, $9, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING`,
			n.ID, idem, n.Request.Key, string(req), string(n.Request.Priority), n.Request.AtLeastOnce,
			string(n.State), toMicros(n.CreatedAt), toMicros(n.UpdatedAt), n.Request.Fingerprint(), n.Request.IsWelcome(),
			n.CreatedBy.KeyID, n.CreatedBy.KeyName)
		if err != nil {
			return s.mapErr(err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return nil
		}
		created = true
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return herald.Notification{}, false, fmt.Errorf("notification create: %w", err)
	}
	if created {
		got, err := s.NotificationGet(ctx, n.ID)
		return got, true, err
	}
	if n.Request.IdempotencyKey == "" {
		return herald.Notification{}, false, fmt.Errorf("notification create: %w", herald.ErrConflict)
	}
	return s.notificationByKey(ctx, n.Request)
}

// notificationByKey returns the notification stored under req's
// idempotency key if it was created by the same request (or before
// fingerprints were stored), and ErrIdempotencyMismatch otherwise.
func (s *Store) notificationByKey(ctx context.Context, req herald.NotificationRequest) (herald.Notification, bool, error) {
	var hash string
	if err := s.queryRow(ctx, `SELECT request_hash FROM notifications WHERE idempotency_key = $1`, req.IdempotencyKey).Scan(&hash); err != nil {
		return herald.Notification{}, false, fmt.Errorf("notification create: %w", s.mapErr(err))
	}
	if hash != "" && hash != req.Fingerprint() {
		return herald.Notification{}, false, fmt.Errorf("notification create: key %q: %w", req.IdempotencyKey, herald.ErrIdempotencyMismatch)
	}
	got, err := scanNotification(s.queryRow(ctx, `SELECT `+notificationCols+` FROM notifications WHERE idempotency_key = $1`, req.IdempotencyKey))
	if err != nil {
		return herald.Notification{}, false, fmt.Errorf("notification create: %w", s.mapErr(err))
	}
	return got, false, nil
}

// NotificationGet implements herald.DeliveryStore.
func (s *Store) NotificationGet(ctx context.Context, id string) (herald.Notification, error) {
	n, err := scanNotification(s.queryRow(ctx, `SELECT `+notificationCols+` FROM notifications WHERE id = $1`, id))
	if err != nil {
		return herald.Notification{}, fmt.Errorf("notification get: %w", s.mapErr(err))
	}
	return n, nil
}

// NotificationList implements herald.DeliveryStore.
func (s *Store) NotificationList(ctx context.Context, p herald.NotificationListParams) ([]herald.Notification, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	states := make([]string, len(p.States))
	for i, st := range p.States {
		states[i] = string(st)
	}
	cmp, order := `id > $1`, `id`
	if p.Newest {
		cmp, order = `($1 = '' OR id < $1)`, `id DESC`
	}
	rows, err := s.query(ctx, `SELECT `+notificationCols+` FROM notifications
	WHERE `+cmp+` AND ($2 = 0 OR state IN (`+s.jsonElems("$3")+`)) AND NOT (welcome AND $5)
	ORDER BY `+order+` LIMIT $4`, p.After, len(states), mustJSON(states), limit, p.NoWelcomes)
	if err != nil {
		return nil, fmt.Errorf("notification list: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanNotification)
	if err != nil {
		return nil, fmt.Errorf("notification list: %w", s.mapErr(err))
	}
	return out, nil
}

// NotificationSetState implements herald.DeliveryStore.
func (s *Store) NotificationSetState(ctx context.Context, p herald.NotificationSetStateParams) (bool, error) {
	from := make([]string, len(p.From))
	for i, st := range p.From {
		from[i] = string(st)
	}
	if len(from) == 0 {
		from = []string{string(herald.NotificationScheduled), string(herald.NotificationExpanding), string(herald.NotificationSending)}
	}
	completed := int64(0)
	if p.To.Final() {
		completed = toMicros(p.Now)
	}
	res, err := s.exec(ctx, `UPDATE notifications SET state = $2, expanded = (expanded OR $3), updated_at = $4,
	completed_at = $5 WHERE id = $1 AND state IN (`+s.jsonElems("$6")+`)`,
		p.ID, string(p.To), p.Expanded, toMicros(p.Now), completed, mustJSON(from))
	if err != nil {
		return false, fmt.Errorf("notification set state: %w", s.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("notification set state: %w", s.mapErr(err))
	}
	if n == 0 {
		if _, err := s.NotificationGet(ctx, p.ID); err != nil {
			return false, err
		}
	}
	return n > 0, nil
}

// NotificationFinish implements herald.DeliveryStore.
func (s *Store) NotificationFinish(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE notifications SET state = 'completed', completed_at = $2, updated_at = $2
	WHERE id = $1 AND state = 'sending' AND expanded
	AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = $1 AND state = 'pending')`, id, toMicros(now))
	if err != nil {
		return false, fmt.Errorf("notification finish: %w", s.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("notification finish: %w", s.mapErr(err))
	}
	return n > 0, nil
}

// NotificationCounts implements herald.DeliveryStore.
func (s *Store) NotificationCounts(ctx context.Context, id string) (herald.Counts, map[string]int, error) {
	var c herald.Counts
	rows, err := s.query(ctx, `SELECT `+deliveryState+`, count(*)
	FROM deliveries d LEFT JOIN inflight f ON f.id = d.id
	WHERE d.notification_id = $1 GROUP BY 1`, id)
	if err != nil {
		return c, nil, fmt.Errorf("notification counts: %w", s.mapErr(err))
	}
	type kv struct {
		k string
		n int
	}
	scan := func(r rowScanner) (kv, error) {
		var v kv
		return v, r.Scan(&v.k, &v.n)
	}
	byState, err := collect(rows, scan)
	if err != nil {
		return c, nil, fmt.Errorf("notification counts: %w", s.mapErr(err))
	}
	for _, v := range byState {
		c.Add(herald.DeliveryState(v.k), v.n)
	}
	open := map[string]int{}
	if c.Open() == 0 {
		return c, open, nil
	}
	rows, err = s.query(ctx, `SELECT tenant_id, count(*) FROM deliveries
	WHERE notification_id = $1 AND state = 'pending' GROUP BY tenant_id`, id)
	if err != nil {
		return c, nil, fmt.Errorf("notification counts: %w", s.mapErr(err))
	}
	byTenant, err := collect(rows, scan)
	if err != nil {
		return c, nil, fmt.Errorf("notification counts: %w", s.mapErr(err))
	}
	for _, v := range byTenant {
		open[v.k] = v.n
	}
	return c, open, nil
}

// NotificationReasons implements herald.DeliveryStore.
func (s *Store) NotificationReasons(ctx context.Context, id string) (map[herald.DeliveryState]map[herald.Reason]int, error) {
	rows, err := s.query(ctx, `SELECT state, reason, count(*) FROM deliveries
	WHERE notification_id = $1 AND reason <> '' AND state IN ('skipped', 'failed', 'uncertain', 'cancelled')
	GROUP BY state, reason`, id)
	if err != nil {
		return nil, fmt.Errorf("notification reasons: %w", s.mapErr(err))
	}
	type row struct {
		state, reason string
		n             int
	}
	got, err := collect(rows, func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.state, &v.reason, &v.n)
	})
	if err != nil {
		return nil, fmt.Errorf("notification reasons: %w", s.mapErr(err))
	}
	out := map[herald.DeliveryState]map[herald.Reason]int{}
	for _, v := range got {
		st := herald.DeliveryState(v.state)
		if out[st] == nil {
			out[st] = map[herald.Reason]int{}
		}
		out[st][herald.Reason(v.reason)] += v.n
	}
	return out, nil
}
