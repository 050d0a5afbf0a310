package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"herald"
)

// PreferenceSet implements herald.DirectoryStore.
func (s *Store) PreferenceSet(ctx context.Context, userID, topic string, optedOut bool) error {
	_, err := s.exec(ctx, `INSERT INTO preferences (user_id, topic, opted_out, updated_at)
	VALUES ($1, $2, $3, $4)
	ON CONFLICT (user_id, topic) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at`,
		userID, topic, optedOut, toMicros(s.now()))
	if err != nil {
		return fmt.Errorf("preference set: %w", s.mapErr(err))
	}
	return nil
}

// PreferenceList implements herald.DirectoryStore.
func (s *Store) PreferenceList(ctx context.Context, userID string) ([]herald.Preference, error) {
	rows, err := s.query(ctx, `SELECT topic, opted_out, updated_at FROM preferences
	WHERE user_id = $1 ORDER BY topic`, userID)
	if err != nil {
		return nil, fmt.Errorf("preference list: %w", s.mapErr(err))
	}
	prefs, err := collect(rows, func(r rowScanner) (herald.Preference, error) {
		var p herald.Preference
		var updated int64
		err := r.Scan(&p.Topic, &p.OptedOut, &updated)
		p.UpdatedAt = fromMicros(updated)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("preference list: %w", s.mapErr(err))
	}
	return prefs, nil
}

// UserOptedOut implements herald.DirectoryStore.
func (s *Store) UserOptedOut(ctx context.Context, userID, topic string) (bool, error) {
	rows, err := s.query(ctx, `SELECT topic, opted_out FROM preferences
	WHERE user_id = $1 AND (topic = $2 OR topic = '*')`, userID, topic)
	if err != nil {
		return false, fmt.Errorf("user opted out: %w", s.mapErr(err))
	}
	type pref struct {
		topic string
		out   bool
	}
	prefs, err := collect(rows, func(r rowScanner) (pref, error) {
		var p pref
		return p, r.Scan(&p.topic, &p.out)
	})
	if err != nil {
		return false, fmt.Errorf("user opted out: %w", s.mapErr(err))
	}
	all := false
	for _, p := range prefs {
		if p.topic == topic {
			return p.out, nil
		}
		all = p.out
	}
	return all, nil
}

// WelcomeLast implements herald.DirectoryStore.
func (s *Store) WelcomeLast(ctx context.Context, kind, subject string) (time.Time, error) {
	rows, err := s.query(ctx, `SELECT welcomed_at FROM welcomes WHERE kind = $1 AND subject = $2`, kind, subject)
	if err != nil {
		return time.Time{}, fmt.Errorf("welcome last: %w", s.mapErr(err))
	}
	at, err := collect(rows, func(r rowScanner) (int64, error) {
		var v int64
		return v, r.Scan(&v)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("welcome last: %w", s.mapErr(err))
	}
	if len(at) == 0 {
		return time.Time{}, nil
	}
	return fromMicros(at[0]), nil
}

// WelcomeMark implements herald.DirectoryStore.
func (s *Store) WelcomeMark(ctx context.Context, kind, subject string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO welcomes (kind, subject, welcomed_at) VALUES ($1, $2, $3)
	ON CONFLICT (kind, subject) DO UPDATE SET welcomed_at = excluded.welcomed_at`, kind, subject, toMicros(at))
	if err != nil {
		return fmt.Errorf("welcome mark: %w", s.mapErr(err))
	}
	return nil
}

// WelcomeMarkTx implements herald.DirectoryStore.
func (s *Store) WelcomeMarkTx(ctx context.Context, tx *sql.Tx, kind string, marks []herald.WelcomeMark, at time.Time) error {
	for _, m := range marks {
		res, err := s.txExec(ctx, tx, `INSERT INTO welcomes (kind, subject, welcomed_at) VALUES ($1, $2, $3)
		ON CONFLICT (kind, subject) DO UPDATE SET welcomed_at = excluded.welcomed_at
		WHERE welcomes.welcomed_at = $4`, kind, m.Subject, toMicros(at), toMicros(m.Last))
		if err != nil {
			return fmt.Errorf("welcome mark: %w", s.mapErr(err))
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("welcome mark %s %s: welcomed meanwhile: %w", kind, m.Subject, herald.ErrConflict)
		}
	}
	return nil
}

// LegacyTasksMove implements herald.DirectoryStore.
func (s *Store) LegacyTasksMove(ctx context.Context, move func(ctx context.Context, tx *sql.Tx, jobs []herald.Job) error) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT kind, key, payload, run_after FROM legacy_bot_tasks ORDER BY id`)
		if err != nil {
			return s.mapErr(err)
		}
		jobs, err := collect(rows, func(r rowScanner) (herald.Job, error) {
			var j herald.Job
			var payload string
			var runAfter int64
			err := r.Scan(&j.Kind, &j.Key, &payload, &runAfter)
			j.Args, j.RunAt = []byte(payload), fromMicros(runAfter)
			return j, err
		})
		if err != nil || len(jobs) == 0 {
			return s.mapErr(err)
		}
		if err := move(ctx, tx, jobs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM legacy_bot_tasks`); err != nil {
			return s.mapErr(err)
		}
		n = len(jobs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("legacy tasks move: %w", err)
	}
	return n, nil
}
