package sqlstore_test

import (
	"context"
	"testing"

	"herald"
	"herald/sqlstore"
	"herald/sqlstore/sqlstoretest"
	"herald/storetest"
)

// openSQLite opens a fresh, migrated SQLite store in t.TempDir().
func openSQLite(t testing.TB) *sqlstore.Store { return sqlstoretest.Open(t, sqlstoretest.SQLite) }

// openPostgres opens a fresh store in a new schema of the database named by
// HERALD_TEST_POSTGRES_URL; it skips the test when the variable is unset.
func openPostgres(t testing.TB) *sqlstore.Store { return sqlstoretest.Open(t, sqlstoretest.Postgres) }

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
