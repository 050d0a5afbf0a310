// Package sqlstore implements herald.Store on SQLite (embedded, the
// default) and PostgreSQL, with one set of queries and a small dialect
// switch. It also owns the schema: Herald's migrations and River's, applied
// in the same database (and, on PostgreSQL, the same schema).
//
// SQLite runs in WAL mode through one connection, so every statement is
// serialised and no caller ever sees SQLITE_BUSY; one Herald process uses a
// SQLite file at a time (a lock file beside it refuses a second: see
// processLock). PostgreSQL suits several processes sharing one database.
//
// Timestamps are stored as integer microseconds since the Unix epoch (UTC)
// in both dialects, so comparisons and ordering behave the same everywhere;
// the zero time.Time is stored as 0.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"herald"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema every table lives in (created if
	// missing, and set as the connections' search_path). Empty uses the
	// server's default search_path. Ignored on SQLite. Tests use one schema
	// per test.
	Schema string
	// Logger receives migration and driver messages. Default: discard.
	Logger *slog.Logger
	// SkipMigrate leaves the schema alone on Open; call Migrate yourself.
	// Default false: Open migrates Herald's and River's tables.
	SkipMigrate bool
	// MaxConns caps open PostgreSQL connections. Default 10; at least 2.
	// SQLite always uses exactly one.
	MaxConns int
	// Now is the clock used for CreatedAt/UpdatedAt stamps. Default time.Now.
	Now func() time.Time
}

// Store is the SQL implementation of herald.Store.
type Store struct {
	db      *sql.DB
	dialect string
	schema  string
	logger  *slog.Logger
	now     func() time.Time
	stmts   sync.Map // query → *sql.Stmt
	proc    processLock
}

var _ herald.Store = (*Store)(nil)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to dsn and, unless opts.SkipMigrate, migrates the schema.
// dsn is "sqlite:<path>" (or a bare path ending in .db, or
// "sqlite::memory:" for a private in-memory database) or a PostgreSQL URL
// ("postgres://…" or "postgresql://…").
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{logger: opts.Logger, now: opts.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = DialectPostgres
		s.db, err = openPostgres(ctx, dsn, opts)
		s.schema = opts.Schema
	case strings.HasPrefix(dsn, "sqlite:"):
		s.dialect = DialectSQLite
		s.db, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
		s.proc.path = sqliteLockPath(dsn)
	case strings.HasSuffix(dsn, ".db"):
		s.dialect = DialectSQLite
		s.db, err = openSQLite(ctx, dsn)
		s.proc.path = sqliteLockPath(dsn)
	default:
		return nil, fmt.Errorf("open store: unsupported dsn (want sqlite:<path>, <path>.db or postgres://…)")
	}
	if err != nil {
		return nil, err
	}
	if !opts.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	var dsn string
	if path == ":memory:" {
		// One connection, so the in-memory database is private and lasts
		// as long as the Store.
		dsn = "file::memory:?_txlock=immediate&_pragma=foreign_keys(1)"
	} else {
		dsn = "file:" + path + "?_txlock=immediate" +
			"&_pragma=journal_mode(WAL)" +
			"&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(NORMAL)" +
			"&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, fmt.Errorf("open postgres: invalid schema name %q", opts.Schema)
		}
		// Create the schema on a plain connection first: search_path may
		// name a schema that does not exist yet, which is harmless, but
		// creating it needs a connection anyway.
		boot := stdlib.OpenDB(*cfg.Copy())
		_, err := boot.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+opts.Schema)
		boot.Close()
		if isDuplicate(err) {
			err = nil // another process created it at the same moment
		}
		if err != nil {
			return nil, fmt.Errorf("create schema: %w", err)
		}
		cfg.RuntimeParams["search_path"] = opts.Schema
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = 10
	}
	n = max(n, 2) // Migrate holds one for its lock while it works on another
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return db, nil
}

// DB returns the underlying database handle. On SQLite it has one
// connection: never query through it while holding one of its
// transactions.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// Schema reports the PostgreSQL schema given in Options ("" if none).
func (s *Store) Schema() string { return s.schema }

// RiverDriver returns a River driver over the same database, so River jobs
// and Herald rows share transactions: riversqlite on SQLite,
// riverdatabasesql on PostgreSQL. Both give a river.Client[*sql.Tx].
// River's tables live in the same schema (through the search_path), so
// leave river.Config.Schema empty.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if s.dialect == DialectSQLite {
		return riversqlite.New(s.db)
	}
	return riverdatabasesql.New(s.db)
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if err := errors.Join(s.proc.drop(), s.db.Close()); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
