package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"herald"

	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file of one dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the dialect's migrations in version order. Files are
// named NNNN_name.sql; directory tables use 0001–0099, delivery tables
// 0100–0199.
func migrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: rest, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migration version %d appears twice", out[i].version)
		}
	}
	return out, nil
}

// Migrate applies River's migrations and then Herald's pending ones, each
// Herald migration in its own transaction, recording them in
// herald_migrations. It is safe to call on an up-to-date schema, and on
// PostgreSQL concurrent callers (nodes starting together) serialise on one
// advisory lock held for the whole of it, River's migrations included.
func (s *Store) Migrate(ctx context.Context) (err error) {
	unlock, err := s.lockMigrate(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, unlock()) }()
	rm, err := rivermigrate.New(s.RiverDriver(), &rivermigrate.Config{Logger: s.logger})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	all, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS herald_migrations (
		version BIGINT PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create herald_migrations: %w", err)
	}
	for _, m := range all {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// lockMigrate takes the migration lock. On PostgreSQL it is a session
// advisory lock on a connection of its own, waiting for another process
// migrating the same schema (each Herald migration also takes a
// transaction lock of another key, so a migration never runs twice even if
// the session is lost midway). On SQLite it is the database's lock file
// (see processLock): a second process is refused at once, with a
// *herald.NodeInUseError. The returned function lets it go.
func (s *Store) lockMigrate(ctx context.Context) (func() error, error) {
	if s.dialect == DialectSQLite {
		_, err := s.proc.acquire()
		switch {
		case errors.Is(err, errLocked):
			return nil, fmt.Errorf("migrate: %w", s.storeInUse(ctx, herald.NodeRegisterParams{Now: s.now()}, nil))
		case err != nil && !errors.Is(err, errNoFileLock):
			return nil, fmt.Errorf("migrate: %w", err)
		}
		// Kept while a registration of this Store runs.
		return func() error { return s.proc.remove("") }, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	const key = `hashtext(current_schema() || '.herald_migrate')`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
		if err != nil {
			err = fmt.Errorf("unlock migrations: %w", err)
		}
		return errors.Join(err, conn.Close())
	}, nil
}

// apply runs one migration unless it is already recorded.
func (s *Store) apply(ctx context.Context, m migration) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == DialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.herald_migrations'))`); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM herald_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
			return fmt.Errorf("read herald_migrations: %w", err)
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, toMicros(s.now()))
		if err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
		s.logger.Info("applied migration", "version", m.version, "name", m.name, "dialect", s.dialect)
		return nil
	})
}
