package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"herald"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Queries are written once, for both dialects: positional "$1" parameters
// (SQLite accepts them), INSERT … ON CONFLICT … DO UPDATE, RETURNING,
// BOOLEAN columns compared with true/false, BIGINT microsecond timestamps
// and lower() for case-insensitive matches. Where the dialects truly
// differ, branch on s.dialect next to the query.

// prepared returns a prepared statement for query, preparing it once per
// Store: SQLite spends more time parsing a statement than running a
// simple one. database/sql re-prepares it on other connections as needed.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("prepare: %w", err))
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// exec runs a statement outside any transaction, prepared once.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a query outside any transaction, prepared once.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// errRow is a rowScanner that fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow runs a one-row query outside any transaction, prepared once.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// inTx runs fn in a transaction, committing if it returns nil. On SQLite
// the transaction is BEGIN IMMEDIATE (it holds the single connection), so
// fn must use tx only.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// database/sql rolled the transaction back as ctx ended.
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return s.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// mapErr translates driver errors to herald's sentinels at the boundary:
// no rows → ErrNotFound, unique violation → ErrConflict, closed database →
// ErrClosed, a full disk (SQLITE_FULL, or PostgreSQL's class 53,
// insufficient resources) → ErrUnavailable. The original error stays in
// the chain.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", herald.ErrNotFound, err)
	case errors.Is(err, sql.ErrConnDone), strings.Contains(err.Error(), "sql: database is closed"):
		return fmt.Errorf("%w: %w", herald.ErrClosed, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %w", herald.ErrConflict, err)
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) && liteErr.Code()&0xff == sqlite3.SQLITE_FULL ||
		errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "53") {
		return fmt.Errorf("%w: %w", herald.ErrUnavailable, err)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %w", herald.ErrConflict, err)
	}
	return err
}

// isDuplicate reports PostgreSQL's refusal to create what exists already
// (a unique violation in its catalog, or a duplicate schema), as a
// CREATE … IF NOT EXISTS racing another one may get.
func isDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P06")
}

// toMicros encodes a time for storage: microseconds since the Unix epoch,
// UTC; the zero time is 0.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros decodes a stored time; 0 is the zero time.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
