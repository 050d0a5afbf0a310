package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"herald"
)

// forgetStopped is how long a registration that ended is kept (once none
// of its deliveries is in flight any more).
const forgetStopped = 7 * 24 * time.Hour

const nodeCols = `id, host, pid, started_at, beat_at, expires_at, stopped_at`

// NodeRegister implements herald.NodeStore. On SQLite the first
// registration through a Store takes the database's lock file: if another
// process holds it, the registration is refused; if not, every process
// registered before is gone and their registrations end here.
func (s *Store) NodeRegister(ctx context.Context, p herald.NodeRegisterParams) (res herald.NodeRegisterResult, err error) {
	if p.ID == "" {
		return res, errors.New("node register: empty id")
	}
	if s.dialect == DialectSQLite {
		defer func() {
			if err != nil {
				_ = s.proc.remove("") // lets the lock go if no registration of this Store runs
			}
		}()
		exclusive, err := s.claimSQLite(ctx, p)
		if err != nil {
			return res, err
		}
		res.Exclusive = exclusive
	}
	_, err = s.exec(ctx, `DELETE FROM nodes WHERE stopped_at <> 0 AND stopped_at < $1
		AND NOT EXISTS (SELECT 1 FROM inflight f WHERE f.node = nodes.id)`, toMicros(p.Now.Add(-forgetStopped)))
	if err != nil {
		return res, s.nodeErr("node register", p.ID, err)
	}
	// A registration that ended, or expired, is taken over; a running one
	// is left as it is.
	rows, err := s.query(ctx, `INSERT INTO nodes (`+nodeCols+`) VALUES ($1, $2, $3, $4, $4, $5, 0)
	ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
		beat_at = excluded.beat_at, expires_at = excluded.expires_at, stopped_at = 0
	WHERE nodes.stopped_at <> 0 OR nodes.expires_at < excluded.started_at
	RETURNING id`, p.ID, p.Host, p.PID, toMicros(p.Now), toMicros(p.Expires))
	if err != nil {
		return res, s.nodeErr("node register", p.ID, err)
	}
	ids, err := collect(rows, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return res, s.nodeErr("node register", p.ID, err)
	}
	if len(ids) == 0 {
		holder, err := s.nodeGet(ctx, p.ID)
		if err != nil {
			return res, s.nodeErr("node register", p.ID, err)
		}
		return res, s.nodeErr("node register", p.ID, &herald.NodeInUseError{ID: p.ID, Holder: holder, Now: p.Now})
	}
	if s.dialect == DialectSQLite {
		s.proc.add(p.ID)
	}
	return res, nil
}

// claimSQLite takes the SQLite database for this process (see
// processLock), and reports whether it is this process's alone.
func (s *Store) claimSQLite(ctx context.Context, p herald.NodeRegisterParams) (bool, error) {
	fresh, err := s.proc.acquire()
	switch {
	case errors.Is(err, errLocked):
		return false, s.nodeErr("node register", p.ID, s.storeInUse(ctx, p, nil))
	case errors.Is(err, errNoFileLock):
		// No lock to prove the others gone: a running registration of
		// another identity is taken for another process.
		if err := s.storeInUse(ctx, p, sql.ErrNoRows); err != nil {
			return false, s.nodeErr("node register", p.ID, err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("node register: %w", err)
	}
	if fresh {
		// Whoever registered before holds no lock: they are gone.
		if _, err := s.exec(ctx, `UPDATE nodes SET stopped_at = $1 WHERE stopped_at = 0`, toMicros(p.Now)); err != nil {
			return false, s.nodeErr("node register", p.ID, err)
		}
	}
	return true, nil
}

// storeInUse returns the NodeInUseError naming the running registration
// holding a SQLite store, if it can be read (the holder may be creating
// the tables still). With ifNone set, finding none is no refusal:
// storeInUse returns nil.
func (s *Store) storeInUse(ctx context.Context, p herald.NodeRegisterParams, ifNone error) error {
	other := "$1 = $1" // the lock holder may hold the very identity asked for
	if ifNone != nil {
		other = "id <> $1" // without a lock, the same identity is the registration's own concern
	}
	holder, err := scanNode(s.queryRow(ctx, `SELECT `+nodeCols+` FROM nodes
		WHERE stopped_at = 0 AND `+other+` AND expires_at >= $2 ORDER BY beat_at DESC LIMIT 1`, p.ID, toMicros(p.Now)))
	if errors.Is(err, sql.ErrNoRows) && ifNone != nil {
		return nil
	}
	return &herald.NodeInUseError{ID: p.ID, Holder: holder, Store: true, Now: p.Now}
}

// NodeBeat implements herald.NodeStore.
func (s *Store) NodeBeat(ctx context.Context, p herald.NodeBeatParams) error {
	res, err := s.exec(ctx, `UPDATE nodes SET beat_at = $2, expires_at = $3 WHERE id = $1 AND stopped_at = 0`,
		p.ID, toMicros(p.Now), toMicros(p.Expires))
	if err != nil {
		return s.nodeErr("node beat", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return s.nodeErr("node beat", p.ID, cmpErr(err, fmt.Errorf("registration ended: %w", herald.ErrNotFound)))
	}
	return nil
}

// NodeStop implements herald.NodeStore.
func (s *Store) NodeStop(ctx context.Context, p herald.NodeStopParams) error {
	res, err := s.exec(ctx, `UPDATE nodes SET stopped_at = $2 WHERE id = $1 AND stopped_at = 0 AND (CAST($3 AS BIGINT) = 0 OR started_at = $3)`,
		p.ID, toMicros(p.Now), toMicros(p.StartedAt))
	if err != nil {
		return s.nodeErr("node stop", p.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 && s.dialect == DialectSQLite {
		if err := s.proc.remove(p.ID); err != nil {
			return s.nodeErr("node stop", p.ID, err)
		}
	}
	return nil
}

// NodeList implements herald.NodeStore.
func (s *Store) NodeList(ctx context.Context) ([]herald.Node, error) {
	rows, err := s.query(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("node list: %w", s.mapErr(err))
	}
	out, err := collect(rows, scanNode)
	if err != nil {
		return nil, fmt.Errorf("node list: %w", s.mapErr(err))
	}
	return out, nil
}

func (s *Store) nodeGet(ctx context.Context, id string) (herald.Node, error) {
	return scanNode(s.queryRow(ctx, `SELECT `+nodeCols+` FROM nodes WHERE id = $1`, id))
}

func scanNode(r rowScanner) (herald.Node, error) {
	var n herald.Node
	var started, beat, expires, stopped int64
	if err := r.Scan(&n.ID, &n.Host, &n.PID, &started, &beat, &expires, &stopped); err != nil {
		return herald.Node{}, err
	}
	n.StartedAt, n.BeatAt, n.Expires, n.StoppedAt = fromMicros(started), fromMicros(beat), fromMicros(expires), fromMicros(stopped)
	return n, nil
}

// nodeErr wraps err as the failure of op on node id.
func (s *Store) nodeErr(op, id string, err error) error {
	var inUse *herald.NodeInUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s %q: %w", op, id, s.mapErr(err))
}

// nodeRunning is a condition that the node named by param may mark
// deliveries: its registration has not ended (a node that never
// registered may, as tests and older Heralds do).
func nodeRunning(param string) string {
	return `NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = ` + param + ` AND n.stopped_at <> 0)`
}

// cmpErr returns err if it is not nil, else alt.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
