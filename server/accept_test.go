package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"herald"
	"herald/api"
	"herald/sqlstore/sqlstoretest"
)

// TestAcceptedReportsExpansion checks the 202 answer to a new
// notification: what expansion found, counted per reason, and the
// recipients not reached. The wait is long so that expansion finishes
// within it however loaded the machine is; nothing depends on its length.
func TestAcceptedReportsExpansion(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testAcceptedReportsExpansion(t, db)
		})
	}
}

func testAcceptedReportsExpansion(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{acceptWait: 4 * time.Minute, db: db})
	alice, bob := b.user("Alice Accept"), b.user("Bob Accept")
	if err := b.store.UserSetBlocked(b.ctx, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	b.team("Engineering", []person{alice})
	many := make([]string, api.MaxUnreached+5)
	for i := range many {
		many[i] = jsonString(fmt.Sprintf("ghost%d@nowhere.example", i))
	}
	tests := []struct {
		name          string
		audience      string
		wantResolved  int
		wantSkipped   map[herald.Reason]int
		wantUnreached []api.Unreached
		wantTruncated bool
	}{
		{
			name:         "typos and a blocked user",
			audience:     fmt.Sprintf(`{"users":[%q,"ghost@nowhere.example",%q],"teams":["Enginering"]}`, alice.Email, bob.Email),
			wantResolved: 1,
			wantSkipped:  map[herald.Reason]int{herald.ReasonUnresolved: 2, herald.ReasonUnreachable: 1},
			wantUnreached: []api.Unreached{
				{Recipient: "user:ghost@nowhere.example", Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved},
				{Recipient: bob.ID, Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: herald.ReasonUnreachable, Name: bob.Name, Email: bob.Email},
				{Recipient: "team:Enginering", Kind: herald.KindPersonal, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved},
			},
		},
		{
			name:         "everyone reached",
			audience:     `{"teams":["Engineering"],"conversations":["19:nowhere@thread.v2"]}`,
			wantResolved: 1,
			wantSkipped:  map[herald.Reason]int{herald.ReasonUnresolved: 1},
			wantUnreached: []api.Unreached{
				{Recipient: "conversation:19:nowhere@thread.v2", Kind: herald.KindGroupChat, State: herald.DeliverySkipped, Reason: herald.ReasonUnresolved},
			},
		},
		{
			name:          "more than the list holds",
			audience:      `{"users":[` + strings.Join(many, ",") + `]}`,
			wantSkipped:   map[herald.Reason]int{herald.ReasonUnresolved: len(many)},
			wantTruncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := b.sendJSON(`{"audience":` + tt.audience + `,"content":{"text":"hi"}}`)
			x := n.Expansion
			if x == nil || x.Expanding || !n.Expanded {
				t.Fatalf("expansion = %+v (expanded %v), want it finished", x, n.Expanded)
			}
			if x.Resolved != tt.wantResolved || !cmp.Equal(x.Skipped, tt.wantSkipped) {
				t.Fatalf("resolved %d skipped %v, want %d %v", x.Resolved, x.Skipped, tt.wantResolved, tt.wantSkipped)
			}
			if !cmp.Equal(n.Reasons[herald.DeliverySkipped], tt.wantSkipped) {
				t.Fatalf("reasons = %v", n.Reasons)
			}
			if x.UnreachedTruncated != tt.wantTruncated {
				t.Fatalf("truncated = %v", x.UnreachedTruncated)
			}
			if tt.wantTruncated {
				if len(x.Unreached) != api.MaxUnreached {
					t.Fatalf("unreached lists %d, want %d", len(x.Unreached), api.MaxUnreached)
				}
				return
			}
			byRecipient := cmpopts.SortSlices(func(a, b api.Unreached) bool { return a.Recipient < b.Recipient })
			if diff := cmp.Diff(tt.wantUnreached, x.Unreached, byRecipient); diff != "" {
				t.Fatalf("unreached (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAcceptedWhileExpanding(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice := b.user("Alice Later")
	// A scheduled notification is not expanded before its time: the
	// answer says so at once.
	sendAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	n := b.sendJSON(fmt.Sprintf(`{"audience":{"users":[%q]},"content":{"text":"later"},"sendAt":%q}`, alice.Email, sendAt))
	if n.State != herald.NotificationScheduled || n.Expansion == nil || !n.Expansion.Expanding || n.Expansion.Resolved != 0 {
		t.Fatalf("scheduled answer: %s %+v", n.State, n.Expansion)
	}
	if n.Expansion.Skipped == nil || n.Expansion.Unreached == nil {
		t.Fatalf("empty skipped and unreached must be present: %+v", n.Expansion)
	}
	// The text route answers the same way.
	var sent api.Notification
	b.do(req{method: http.MethodPost, path: "/v1/send/team:Nobody", body: "x"}).mustStatus(t, http.StatusAccepted).decode(t, &sent)
	if sent.Expansion == nil || sent.Expansion.Skipped[herald.ReasonUnresolved] != 1 && !sent.Expansion.Expanding {
		t.Fatalf("send text answer: %+v", sent.Expansion)
	}
}
