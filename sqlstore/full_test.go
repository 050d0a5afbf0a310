package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"herald"
)

// TestFullDatabaseIsUnavailable: a write SQLite refuses for want of space
// (SQLITE_FULL; here the database may not grow past its size) is
// herald.ErrUnavailable, which the API answers 503, and the store takes
// writes again once it may grow.
func TestFullDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	ctx := context.Background()
	if err := s.TenantUpsert(ctx, herald.Tenant{ID: "t1", ServiceURL: "https://smba.trafficmanager.net/teams/"}); err != nil {
		t.Fatal(err)
	}
	// The store has one connection: the limit holds for every write.
	var pages int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("n", 2000)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = s.UserUpsert(ctx, herald.UserUpsertParams{ID: fmt.Sprintf("u%d", i), TenantID: "t1", Name: name})
	}
	if !errors.Is(err, herald.ErrUnavailable) {
		t.Fatalf("writing into a full database: %v, want ErrUnavailable", err)
	}
	if _, err := s.DB().ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserUpsert(ctx, herald.UserUpsertParams{ID: "after", TenantID: "t1", Name: name}); err != nil {
		t.Fatalf("after the database may grow again: %v", err)
	}
}
