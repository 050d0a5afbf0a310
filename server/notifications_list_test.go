package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
	"herald/sqlstore/sqlstoretest"
)

func TestGetNotificationReasons(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testGetNotificationReasons(t, db)
		})
	}
}

func testGetNotificationReasons(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{db: db})
	p := b.user("Reasoned")
	tests := []struct {
		name     string
		audience string
		want     map[herald.DeliveryState]map[herald.Reason]int
	}{
		{"everyone reached", fmt.Sprintf(`{"users":[%q]}`, p.Email), nil},
		{"two unresolved", fmt.Sprintf(`{"users":[%q,"ghost1@nowhere.example","ghost2@nowhere.example"]}`, p.Email),
			map[herald.DeliveryState]map[herald.Reason]int{herald.DeliverySkipped: {herald.ReasonUnresolved: 2}}},
	}
	for _, tt := range tests {
		n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":{"text":"x"}}`, tt.audience))
		b.wait(n.ID)
		var got api.Notification
		b.get("/v1/notifications/"+n.ID).mustStatus(t, http.StatusOK).decode(t, &got)
		if diff := cmp.Diff(tt.want, got.Reasons); diff != "" {
			t.Errorf("%s: reasons (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestListNotificationsOrderAndWelcomes(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p := b.user("Orderly")
	plain := herald.NotificationRequest{Audience: herald.Audience{Users: []string{p.ID}}, Content: herald.Content{Text: "x"}}
	welcome := plain
	welcome.Title, welcome.Content.Summary, welcome.Critical, welcome.Priority = herald.WelcomeTitle, herald.WelcomeTitle, true, herald.PriorityHigh
	var ids, welcomes []string
	for _, req := range []herald.NotificationRequest{plain, welcome, plain} {
		n, err := b.eng.Send(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		b.wait(n.ID)
		ids = append(ids, n.ID)
		if req.IsWelcome() {
			welcomes = append(welcomes, n.ID)
		}
	}
	// Ids sort by creation to the millisecond; within one, at random.
	sort.Strings(ids)
	newest := slices.Clone(ids)
	slices.Reverse(newest)
	noWelcome := func(l []string) []string {
		return slices.DeleteFunc(slices.Clone(l), func(id string) bool { return slices.Contains(welcomes, id) })
	}
	tests := []struct {
		query string
		want  []string
		next  bool
	}{
		{"", ids, false},
		{"?order=oldest", ids, false},
		{"?order=newest", newest, false},
		{"?order=newest&limit=2", newest[:2], true},
		{"?order=newest&cursor=" + newest[0], newest[1:], false},
		{"?welcomes=false", noWelcome(ids), false},
		{"?order=newest&welcomes=no", noWelcome(newest), false},
		{"?welcomes=true", ids, false},
	}
	for _, tt := range tests {
		var l api.NotificationList
		b.get("/v1/notifications"+tt.query).mustStatus(t, http.StatusOK).decode(t, &l)
		got := make([]string, len(l.Notifications))
		for i, n := range l.Notifications {
			got[i] = n.ID
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || (l.Next != "") != tt.next {
			t.Errorf("%q: next %q, ids (-want +got):\n%s", tt.query, l.Next, diff)
		}
	}
	for _, bad := range []struct{ query, field string }{{"?order=desc", "order"}, {"?welcomes=maybe", "welcomes"}} {
		if e := b.get("/v1/notifications"+bad.query).mustStatus(t, http.StatusBadRequest).apiErr(t); e.Field != bad.field {
			t.Errorf("%s: error %+v", bad.query, e)
		}
	}
}
