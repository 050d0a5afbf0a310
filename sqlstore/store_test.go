package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"herald"
	"herald/sqlstore"
	"herald/storetest"
)

// openSQLite opens a fresh, migrated SQLite store in t.TempDir().
func openSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a fresh, migrated store in a new schema of the
// database named by HERALD_TEST_POSTGRES_URL, dropping the schema at the
// end; it skips the test when the variable is unset.
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
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url, sqlstore.Options{Schema: schema, MaxConns: 4})
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

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) herald.Store { return openSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) herald.Store { return openPostgres(t) })
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if s.Dialect() != name {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), name)
			}
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			var n int
			if err := s.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM herald_migrations`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("no migrations recorded")
			}
			if err := s.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
				t.Fatalf("river tables missing: %v", err)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, dsn string }{
		{"unknown scheme", "mysql://x"},
		{"empty sqlite path", "sqlite:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if s, err := sqlstore.Open(context.Background(), tt.dsn, sqlstore.Options{}); err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
		})
	}
}
