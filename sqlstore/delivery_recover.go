package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"herald"
)

// DeliveryRecover implements herald.DeliveryStore.
func (s *Store) DeliveryRecover(ctx context.Context, p herald.DeliveryRecoverParams) (herald.DeliveryRecoverResult, error) {
	var res herald.DeliveryRecoverResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == DialectPostgres {
			// Nodes noticing the same lapse settle it one after another:
			// the second finds nothing left.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.herald_recover'))`); err != nil {
				return s.mapErr(err)
			}
		}
		lapsed, err := s.endLapsed(ctx, tx, p.Self, p.Now)
		if err != nil {
			return err
		}
		res.Lapsed = lapsed
		// Flights of the caller's earlier process, and but for the
		// caller's own, those of nodes whose registration ended and stale
		// ones of nodes that never registered end here: the call may have
		// reached Teams.
		const lost = `(($1 <> '' AND node = $1) OR (node <> $3 AND (node IN (SELECT id FROM nodes WHERE stopped_at <> 0)
			OR (started_at < $2 AND node NOT IN (SELECT id FROM nodes)))))`
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET
		state = CASE WHEN EXISTS (SELECT 1 FROM notifications n WHERE n.id = deliveries.notification_id AND n.at_least_once)
			THEN 'pending' ELSE 'uncertain' END,
		reason = CASE WHEN EXISTS (SELECT 1 FROM notifications n WHERE n.id = deliveries.notification_id AND n.at_least_once)
			THEN '' ELSE 'interrupted' END,
		attempts = attempts + 1, next_at = 0, updated_at = $4
		WHERE state = 'pending' AND id IN (SELECT id FROM inflight WHERE `+lost+`)
		RETURNING notification_id, state`, p.Node, toMicros(p.StaleBefore), p.Self, toMicros(p.Now))
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM inflight WHERE `+lost, p.Node, toMicros(p.StaleBefore), p.Self); err != nil {
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

// endLapsed ends the registration of every running node but self whose
// heartbeat expired before now, and returns their ids in order.
func (s *Store) endLapsed(ctx context.Context, tx *sql.Tx, self string, now time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE nodes SET stopped_at = $1 WHERE stopped_at = 0 AND expires_at < $1 AND id <> $2
		RETURNING id`, toMicros(now), self)
	if err != nil {
		return nil, s.mapErr(err)
	}
	ids, err := collect(rows, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.mapErr(err)
	}
	sort.Strings(ids)
	return ids, nil
}
