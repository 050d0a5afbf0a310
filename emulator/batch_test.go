package emulator_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald/emulator"
)

type batchStateWire struct {
	State             string
	StatusMap         map[string]int
	StateMap          map[string]int
	RetryAfter        string
	TotalEntriesCount int
}

// awaitBatch waits for the operation to complete and returns its state as
// the Connector reports it.
func (b *bundle) awaitBatch(t *testing.T, op string) batchStateWire {
	t.Helper()
	err := b.em.Await(ctx(t), func(e *emulator.Emulator) bool {
		st, _, _ := e.Batch(op)
		return st.State == emulator.BatchCompleted
	})
	if err != nil {
		t.Fatal(err)
	}
	var st batchStateWire
	b.call(t, "GET", "v3/batch/conversation/"+op, nil).decode(t, &st)
	return st
}

func TestBatchUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	u := d.Users
	for _, x := range u[:5] {
		b.personal(t, x.ID)
	}
	if err := b.em.SetBlocked(u[1].ID, true); err != nil {
		t.Fatal(err)
	}
	must(t, b.em.SetFaults(emulator.Faults{BatchPaused: true}))
	r := b.call(t, "POST", "v3/batch/conversation/users", map[string]any{
		"activity": message("quarterly update"), "tenantId": d.TenantID,
		"members": []any{map[string]any{"id": u[0].ID}, map[string]any{"id": u[2].AADObjectID}, map[string]any{"id": u[1].ID},
			map[string]any{"id": "29:1unknown"}, map[string]any{"id": u[40].ID}},
	})
	var created struct{ OperationID string }
	r.decode(t, &created)
	if r.status != 201 || created.OperationID == "" {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	var st batchStateWire
	b.call(t, "GET", "v3/batch/conversation/"+created.OperationID, nil).decode(t, &st)
	if st.State != "Provisioning" || st.TotalEntriesCount != 5 || st.RetryAfter == "" {
		t.Fatalf("paused batch %+v", st)
	}
	must(t, b.em.SetFaults(emulator.Faults{}))
	st = b.awaitBatch(t, created.OperationID)
	want := map[string]int{"201": 2, "403": 2, "404": 1}
	if diff := cmp.Diff(want, st.StatusMap); diff != "" || st.State != "Completed" || !cmp.Equal(st.StateMap, st.StatusMap) {
		t.Fatalf("state %+v (-want +got):\n%s", st, diff)
	}
	var failed struct {
		ContinuationToken    string
		FailedEntryResponses []struct{ ID, Error string }
	}
	b.call(t, "GET", "v3/batch/conversation/failedentries/"+created.OperationID, nil).decode(t, &failed)
	ids := []string{}
	for _, f := range failed.FailedEntryResponses {
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff([]string{u[1].ID, "29:1unknown", u[40].ID}, ids); diff != "" || failed.ContinuationToken != "" {
		t.Fatalf("failed entries (-want +got):\n%s", diff)
	}
	for _, x := range []emulator.User{u[0], u[2]} {
		conv, _ := b.em.PersonalConversation(x.ID)
		if got, err := b.em.AwaitFromBot(ctx(t), conv, 1); err != nil || got[0].Activity.Text != "quarterly update" {
			t.Fatalf("fan-out to %s: %+v %v", x.Name, got, err)
		}
	}
}

func TestBatchFailedEntriesPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	var members []any
	for i := range 120 {
		members = append(members, map[string]any{"id": fmt.Sprintf("29:1missing%03d", i)})
	}
	var created struct{ OperationID string }
	b.call(t, "POST", "v3/batch/conversation/users/", map[string]any{"activity": message("x"), "tenantId": d.TenantID, "members": members}).decode(t, &created)
	b.awaitBatch(t, created.OperationID)
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		var page struct {
			ContinuationToken    string
			FailedEntryResponses []struct{ ID, Error string }
		}
		path := "v3/batch/conversation/failedentries/" + created.OperationID
		if token != "" {
			path += "?continuationToken=" + esc(token)
		}
		b.call(t, "GET", path, nil).decode(t, &page)
		for _, f := range page.FailedEntryResponses {
			got = append(got, f.ID)
		}
		if token = page.ContinuationToken; token == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
	}
	if len(got) != 120 || got[119] != "29:1missing119" {
		t.Fatalf("%d failed entries", len(got))
	}
}

func TestBatchTargets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	team := d.Teams[2] // Sales: Alice and users 35..49
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		body   map[string]any
		want   map[string]int
	}{
		{"team", map[string]any{"teamId": team.ID}, map[string]int{"201": 16}},
		{"channels", map[string]any{"members": []any{map[string]any{"id": team.Channels[1].ID}, map[string]any{"id": d.Teams[0].ID}}}, map[string]int{"201": 1, "403": 1}},
		{"tenant", map[string]any{}, map[string]int{"201": 16, "403": 34}},
	}
	for _, tt := range tests {
		tt.body["activity"] = message("to " + tt.target)
		tt.body["tenantId"] = d.TenantID
		var created struct{ OperationID string }
		r := b.call(t, "POST", "v3/batch/conversation/"+tt.target, tt.body)
		r.decode(t, &created)
		st := b.awaitBatch(t, created.OperationID)
		if diff := cmp.Diff(tt.want, st.StatusMap); diff != "" {
			t.Fatalf("%s: (-want +got):\n%s", tt.target, diff)
		}
	}
	roots := b.em.Activities(team.Channels[1].ID)
	if len(roots) != 1 || roots[0].Activity.Text != "to channels" {
		t.Fatalf("channel post: %+v", roots)
	}
	if r := b.call(t, "POST", "v3/batch/conversation/tenant", map[string]any{"activity": message("x")}); r.status != 400 || r.errorCode() != "BadSyntax" {
		t.Fatalf("no tenant: %d %s", r.status, r.body)
	}
	if r := b.call(t, "GET", "v3/batch/conversation/nope", nil); r.status != 404 {
		t.Fatalf("unknown operation: %d", r.status)
	}
}

func TestBatchCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	b.personal(t, d.Users[0].ID)
	must(t, b.em.SetFaults(emulator.Faults{BatchPaused: true}))
	var created struct{ OperationID string }
	b.call(t, "POST", "v3/batch/conversation/users", map[string]any{"activity": message("x"), "tenantId": d.TenantID,
		"members": []any{map[string]any{"id": d.Users[0].ID}}}).decode(t, &created)
	if r := b.call(t, "DELETE", "v3/batch/conversation/"+created.OperationID, nil); r.status != 200 {
		t.Fatalf("cancel: %d", r.status)
	}
	must(t, b.em.SetFaults(emulator.Faults{}))
	st, _, _ := b.em.Batch(created.OperationID)
	if st.State != "Completed" || !st.Cancelled || len(st.StatusMap) != 0 {
		t.Fatalf("cancelled batch %+v", st)
	}
	if n := b.em.Counters().ActivitiesFromBot; n != 0 {
		t.Fatalf("a cancelled batch sent %d activities", n)
	}
}
