// Package sqlstoretest opens real stores for tests: a fresh SQLite file,
// or a fresh schema of the PostgreSQL database named by
// HERALD_TEST_POSTGRES_URL, so that a test can run on both.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"herald/sqlstore"
)

// The databases a test can run on.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Databases lists SQLite and PostgreSQL; Open skips the test on
// PostgreSQL when HERALD_TEST_POSTGRES_URL is unset.
func Databases() []string { return []string{SQLite, Postgres} }

// Open opens a fresh, migrated store on db (SQLite or Postgres), closed
// (and on PostgreSQL, its schema dropped) when the test ends.
func Open(t testing.TB, db string) *sqlstore.Store {
	t.Helper()
	return NewDatabase(t, db).Open(t)
}

// Database is a fresh, empty database that several stores can open, as the
// processes sharing one do: a new SQLite file, or a new PostgreSQL schema.
type Database struct {
	// DSN is what sqlstore.Open and `herald serve --store` take: on
	// PostgreSQL, the URL with the schema as its search_path.
	DSN string
	// Schema is the PostgreSQL schema ("" on SQLite).
	Schema string
}

// NewDatabase makes a fresh database on db (SQLite or Postgres): nothing
// migrated yet; on PostgreSQL the schema exists, empty, and is dropped
// when the test ends. It skips the test on PostgreSQL when
// HERALD_TEST_POSTGRES_URL is unset.
func NewDatabase(t testing.TB, db string) Database {
	t.Helper()
	if db != Postgres {
		return Database{DSN: "sqlite:" + filepath.Join(t.TempDir(), "herald.db")}
	}
	base := os.Getenv("HERALD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("HERALD_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b)
	// A store that migrates nothing creates the schema, and drops it
	// once every store of the test has closed (cleanups run last first).
	admin, err := sqlstore.Open(context.Background(), base, sqlstore.Options{Schema: schema, SkipMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HERALD_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Database{DSN: u.String(), Schema: schema}
}

// Open opens a migrated store on the database, closed when the test ends.
func (d Database) Open(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), d.DSN, sqlstore.Options{Schema: d.Schema, MaxConns: 4})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
