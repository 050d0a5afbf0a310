package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// BotTaskAdd implements herald.DirectoryStore.
func (s *Store) BotTaskAdd(ctx context.Context, t herald.BotTask) (bool, error) {
	now := s.now()
	if t.RunAfter.IsZero() {
		t.RunAfter = now
	}
	res, err := s.exec(ctx, `INSERT INTO bot_tasks (kind, key, payload, attempts, run_after, last_error, created_at)
	VALUES ($1, $2, $3, 0, $4, '', $5) ON CONFLICT (kind, key) DO NOTHING`,
		t.Kind, t.Key, string(t.Payload), toMicros(t.RunAfter), toMicros(now))
	if err != nil {
		return false, fmt.Errorf("bot task add: %w", s.mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("bot task add: %w", s.mapErr(err))
	}
	return n > 0, nil
}

// BotTaskClaim implements herald.DirectoryStore. On PostgreSQL
// concurrent claimers skip each other's rows.
func (s *Store) BotTaskClaim(ctx context.Context, p herald.BotTaskClaimParams) ([]herald.BotTask, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	args := []any{toMicros(p.Now.Add(p.Lease)), toMicros(p.Now), limit}
	filter := kindFilter(&args, "IN", p.Kinds) + kindFilter(&args, "NOT IN", p.ExcludeKinds)
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.query(ctx, `UPDATE bot_tasks SET run_after = $1, attempts = attempts + 1
	WHERE id IN (SELECT id FROM bot_tasks WHERE run_after <= $2`+filter+` ORDER BY run_after, id LIMIT $3`+lock+`)
	RETURNING id, kind, key, payload, attempts, run_after, last_error, created_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("bot task claim: %w", s.mapErr(err))
	}
	tasks, err := collect(rows, func(r rowScanner) (herald.BotTask, error) {
		var t herald.BotTask
		var payload string
		var runAfter, created int64
		err := r.Scan(&t.ID, &t.Kind, &t.Key, &payload, &t.Attempts, &runAfter, &t.LastError, &created)
		t.Payload = []byte(payload)
		t.RunAfter, t.CreatedAt = fromMicros(runAfter), fromMicros(created)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("bot task claim: %w", s.mapErr(err))
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	return tasks, nil
}

// kindFilter returns " AND kind <op> ($n, …)" for kinds, appending them
// to args, or "" when kinds is empty.
func kindFilter(args *[]any, op string, kinds []string) string {
	if len(kinds) == 0 {
		return ""
	}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		*args = append(*args, k)
		marks[i] = "$" + strconv.Itoa(len(*args))
	}
	return " AND kind " + op + " (" + strings.Join(marks, ", ") + ")"
}

// BotTaskDone implements herald.DirectoryStore.
func (s *Store) BotTaskDone(ctx context.Context, id int64) error {
	return s.execOne(ctx, "bot task done", `DELETE FROM bot_tasks WHERE id = $1`, id)
}

// BotTaskRetry implements herald.DirectoryStore.
func (s *Store) BotTaskRetry(ctx context.Context, id int64, runAfter time.Time, lastErr string) error {
	return s.execOne(ctx, "bot task retry", `UPDATE bot_tasks SET run_after = $2, last_error = $3 WHERE id = $1`,
		id, toMicros(runAfter), lastErr)
}

// BotTaskUpdate implements herald.DirectoryStore.
func (s *Store) BotTaskUpdate(ctx context.Context, p herald.BotTaskUpdateParams) error {
	var err error
	if p.Payload == nil {
		err = s.execOne(ctx, "bot task update", `UPDATE bot_tasks SET run_after = $3 WHERE id = $1 AND attempts = $2`,
			p.ID, p.Attempts, toMicros(p.RunAfter))
	} else {
		err = s.execOne(ctx, "bot task update", `UPDATE bot_tasks SET run_after = $3, payload = $4 WHERE id = $1 AND attempts = $2`,
			p.ID, p.Attempts, toMicros(p.RunAfter), string(p.Payload))
	}
	if !errors.Is(err, herald.ErrNotFound) {
		return err
	}
	var one int
	switch qerr := s.queryRow(ctx, `SELECT 1 FROM bot_tasks WHERE id = $1`, p.ID).Scan(&one); {
	case qerr == nil:
		return fmt.Errorf("bot task update: task %d was claimed again: %w", p.ID, herald.ErrConflict)
	case errors.Is(s.mapErr(qerr), herald.ErrNotFound):
		return err
	default:
		return fmt.Errorf("bot task update: %w", s.mapErr(qerr))
	}
}
