package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"herald"
	"sort"
)

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
