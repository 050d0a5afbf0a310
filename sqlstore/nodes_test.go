package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"herald"
	"herald/sqlstore"
	"herald/sqlstore/sqlstoretest"
)

func registerAt(ctx context.Context, s *sqlstore.Store, id string, at time.Time) (herald.NodeRegisterResult, error) {
	return s.NodeRegister(ctx, herald.NodeRegisterParams{ID: id, Host: "h", PID: 7, Now: at, Expires: at.Add(12 * time.Second)})
}

// TestSQLiteServesOneProcess opens two stores on one SQLite file, as two
// processes would: while a node of the first runs, the second can neither
// register nor migrate, and is told who holds the store; once the first
// stops, or closes without stopping (as a process killed does), the second
// takes the store at once and the first's registration ends.
func TestSQLiteServesOneProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(t *testing.T, s *sqlstore.Store)
	}{
		{"after a stop", func(t *testing.T, s *sqlstore.Store) {
			if err := s.NodeStop(context.Background(), herald.NodeStopParams{ID: "web-a", Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}},
		{"after a crash", func(t *testing.T, s *sqlstore.Store) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqlstoretest.NewDatabase(t, sqlstoretest.SQLite)
			first, second := db.Open(t), db.Open(t)
			now := time.Now()
			res, err := registerAt(ctx, first, "web-a", now)
			if err != nil || !res.Exclusive {
				t.Fatalf("first register: %+v %v", res, err)
			}
			_, err = registerAt(ctx, second, "web-b", now)
			var inUse *herald.NodeInUseError
			if !errors.As(err, &inUse) || !inUse.Store || inUse.Holder.ID != "web-a" || !strings.Contains(err.Error(), `"web-a"`) {
				t.Fatalf("second register: %v, want the store in use by web-a", err)
			}
			if err := second.Migrate(ctx); !errors.As(err, &inUse) || !strings.Contains(err.Error(), "one process at a time") {
				t.Fatalf("second migrate: %v, want the store in use", err)
			}
			tt.end(t, first)
			if res, err := registerAt(ctx, second, "web-b", now); err != nil || !res.Exclusive {
				t.Fatalf("register after the first ended: %+v %v", res, err)
			}
			ns, err := second.NodeList(ctx)
			if err != nil || len(ns) != 2 || ns[0].ID != "web-a" || ns[0].StoppedAt.IsZero() || !ns[1].Running(now) {
				t.Fatalf("nodes = %+v (%v), want web-a ended and web-b running", ns, err)
			}
		})
	}
}

// TestMigrateTogether opens three stores at once on one empty database,
// as three nodes starting together do: Herald's and River's migrations
// run under one lock, so all of them come up.
func TestMigrateTogether(t *testing.T) {
	t.Parallel()
	db := sqlstoretest.NewDatabase(t, sqlstoretest.Postgres)
	const nodes = 3
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			s, err := sqlstore.Open(context.Background(), db.DSN, sqlstore.Options{Schema: db.Schema, MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("nodes starting together: %v", err)
	}
}
