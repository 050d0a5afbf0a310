// Package sqlstoretest opens real stores for tests: a fresh SQLite file,
// or a fresh schema of the PostgreSQL database named by
// HERALD_TEST_POSTGRES_URL, so that a test can run on both.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	if db == Postgres {
		return openPostgres(t)
	}
	s, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a store in a new schema of the database named by
// HERALD_TEST_POSTGRES_URL; it skips the test when the variable is unset.
func openPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	url := os.Getenv("HERALD_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("HERALD_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b)
	s, err := sqlstore.Open(context.Background(), url, sqlstore.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		s.Close()
	})
	return s
}
