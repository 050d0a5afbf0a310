package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func taskName(t herald.BotTask) string { return t.Kind + "/" + t.Key }

func testBotTask(t *testing.T, s herald.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	added, err := s.BotTaskAdd(ctx, herald.BotTask{Kind: "welcome", Key: "29:a", Payload: []byte(`{"x":1}`), RunAfter: now})
	must(t, err)
	if !added {
		t.Fatal("first add not added")
	}
	if added, _ = s.BotTaskAdd(ctx, herald.BotTask{Kind: "welcome", Key: "29:a", RunAfter: now}); added {
		t.Fatal("duplicate (kind, key) added")
	}
	_, err = s.BotTaskAdd(ctx, herald.BotTask{Kind: "welcome", Key: "29:b", RunAfter: now.Add(time.Hour)})
	must(t, err)
	_, err = s.BotTaskAdd(ctx, herald.BotTask{Kind: "roster", Key: "29:a", RunAfter: now.Add(-time.Second)})
	must(t, err)

	claimed, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now, Lease: time.Minute, Limit: 10})
	must(t, err)
	if diff := cmp.Diff([]string{"welcome/29:a", "roster/29:a"}, ids(claimed, func(t herald.BotTask) string { return t.Kind + "/" + t.Key })); diff != "" {
		t.Fatalf("claimed (-want +got):\n%s", diff)
	}
	if string(claimed[0].Payload) != `{"x":1}` || claimed[0].Attempts != 1 || !claimed[0].RunAfter.Equal(now.Add(time.Minute)) {
		t.Fatalf("claimed task: %+v", claimed[0])
	}
	again, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now, Lease: time.Minute, Limit: 10})
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("leased tasks claimed again: %+v", again)
	}
	must(t, s.BotTaskDone(ctx, claimed[0].ID))
	must(t, s.BotTaskRetry(ctx, claimed[1].ID, now, "boom"))
	if !errors.Is(s.BotTaskDone(ctx, claimed[0].ID), herald.ErrNotFound) {
		t.Fatal("BotTaskDone twice did not report ErrNotFound")
	}
	// After the lease expires (a crashed claimer), tasks come back.
	later, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now.Add(2 * time.Hour), Lease: time.Minute, Limit: 1})
	must(t, err)
	if len(later) != 1 || later[0].Kind != "roster" || later[0].Attempts != 2 || later[0].LastError != "boom" {
		t.Fatalf("retried task: %+v", later)
	}
	// A finished task's (kind, key) can be added again.
	if added, _ = s.BotTaskAdd(ctx, herald.BotTask{Kind: "welcome", Key: "29:a"}); !added {
		t.Fatal("re-adding a finished task's key failed")
	}
}

func testBotTaskKinds(t *testing.T, s herald.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, name := range [][2]string{{"welcome", "a"}, {"followup", "a"}, {"roster", "a"}, {"followup", "b"}} {
		_, err := s.BotTaskAdd(ctx, herald.BotTask{Kind: name[0], Key: name[1], RunAfter: now})
		must(t, err)
	}
	claim := func(kinds, exclude []string) []string {
		t.Helper()
		got, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now, Lease: time.Minute, Limit: 10, Kinds: kinds, ExcludeKinds: exclude})
		must(t, err)
		names := ids(got, taskName)
		slices.Sort(names)
		return names
	}
	if diff := cmp.Diff([]string(nil), claim([]string{"nothing-of-this-kind"}, nil), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("claim of an unknown kind (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"followup/a", "followup/b"}, claim([]string{"followup"}, nil)); diff != "" {
		t.Fatalf("claim of follow-ups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"roster/a", "welcome/a"}, claim(nil, []string{"followup", "other"})); diff != "" {
		t.Fatalf("claim of everything else (-want +got):\n%s", diff)
	}
}

func testBotTaskUpdate(t *testing.T, s herald.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.BotTaskAdd(ctx, herald.BotTask{Kind: "followup", Key: "q1", Payload: []byte(`{"step":1}`), RunAfter: now})
	must(t, err)
	claimed, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now, Lease: time.Minute, Limit: 1})
	must(t, err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d tasks", len(claimed))
	}
	task := claimed[0]

	// A heartbeat moves the lease on and keeps the payload.
	must(t, s.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: task.ID, Attempts: task.Attempts, RunAfter: now.Add(time.Hour)}))
	if got, _ := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now.Add(30 * time.Minute), Lease: time.Minute, Limit: 1}); len(got) != 0 {
		t.Fatalf("task claimed within its extended lease: %+v", got)
	}
	// Saving progress replaces the payload.
	must(t, s.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: task.ID, Attempts: task.Attempts, RunAfter: now.Add(time.Hour),
		Payload: []byte(`{"step":2}`)}))

	// After the lease, another claimer takes the task over: the first
	// claim's updates are refused, the new claim's accepted.
	again, err := s.BotTaskClaim(ctx, herald.BotTaskClaimParams{Now: now.Add(2 * time.Hour), Lease: time.Minute, Limit: 1})
	must(t, err)
	if len(again) != 1 || string(again[0].Payload) != `{"step":2}` || again[0].Attempts != task.Attempts+1 {
		t.Fatalf("claim after the lease: %+v", again)
	}
	err = s.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: task.ID, Attempts: task.Attempts, RunAfter: now.Add(3 * time.Hour)})
	if !errors.Is(err, herald.ErrConflict) {
		t.Fatalf("update by the superseded claim: err = %v, want ErrConflict", err)
	}
	must(t, s.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: task.ID, Attempts: again[0].Attempts, RunAfter: now.Add(3 * time.Hour)}))
	must(t, s.BotTaskDone(ctx, task.ID))
	err = s.BotTaskUpdate(ctx, herald.BotTaskUpdateParams{ID: task.ID, Attempts: again[0].Attempts, RunAfter: now})
	if !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("update of a finished task: err = %v, want ErrNotFound", err)
	}
}
