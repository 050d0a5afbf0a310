package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"herald"
	"herald/sqlstore"
)

// seedDirectory fills an empty store with users users in three tenants
// (a tenth blocked, a twentieth uninstalled, a quarter without email,
// half seen two hours from now, so that the others are stale under a cutoff
// an hour from now) and
// their memberships in 200 teams, in a few set-based statements.
func seedDirectory(tb testing.TB, s *sqlstore.Store, users int) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UnixMicro()
	stmts := []string{
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
		INSERT INTO users (id, tenant_id, email, blocked, uninstalled, last_seen, created_at, updated_at)
		SELECT '29:u' || CAST(i AS TEXT), 't' || CAST(i % 3 AS TEXT),
			CASE WHEN i % 4 = 0 THEN '' ELSE 'u' || CAST(i AS TEXT) || '@x.example' END,
			i % 10 = 0, i % 20 = 1, CASE WHEN i % 2 = 0 THEN CAST($2 AS BIGINT) + 7200000000 ELSE 0 END, CAST($2 AS BIGINT), CAST($2 AS BIGINT) FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 200)
		INSERT INTO teams (id, tenant_id, name, installed, created_at, updated_at)
		SELECT '19:t' || CAST(i AS TEXT) || '@thread.tacv2', 't0', 'Team ' || CAST(i AS TEXT), true, CAST($2 AS BIGINT), CAST($2 AS BIGINT)
		FROM n WHERE $1 > 0`,
		`INSERT INTO memberships (team_id, user_id, created_at)
		SELECT '19:t' || CAST(CAST(substr(id, 5) AS INTEGER) % 200 AS TEXT) || '@thread.tacv2', id, CAST($2 AS BIGINT)
		FROM users WHERE $1 > 0`,
	}
	for _, q := range stmts {
		if _, err := s.DB().ExecContext(ctx, q, users, now); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
}

// TestDirectoryHealthSeeded checks the counts over a directory seeded in
// bulk, on both databases.
func TestDirectoryHealthSeeded(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			const n = 6000
			seedDirectory(t, s, n)
			h, err := s.DirectoryHealth(context.Background(), herald.DirectoryHealthParams{StaleBefore: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			want := herald.HealthCounts{Users: n, Reachable: n - n/10 - n/20, Blocked: n / 10, Uninstalled: n / 20,
				Stale: n / 2, MissingEmail: n / 4}
			if h.Totals != want {
				t.Errorf("totals = %+v, want %+v", h.Totals, want)
			}
			if len(h.Teams) != 200 || len(h.Tenants) != 3 || h.Teams[0].Counts.Users != n/200 {
				t.Errorf("%d teams (first %+v), %d tenants", len(h.Teams), h.Teams[0], len(h.Tenants))
			}
		})
	}
}

// BenchmarkDirectoryHealth measures a health report over 100,000 users
// (200 teams) on SQLite, and on PostgreSQL when HERALD_TEST_POSTGRES_URL
// is set.
func BenchmarkDirectoryHealth(b *testing.B) {
	for name, open := range map[string]func(testing.TB) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			seedDirectory(b, s, 100_000)
			p := herald.DirectoryHealthParams{StaleBefore: time.Now().Add(time.Hour)}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.DirectoryHealth(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
