package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
)

func TestGetNotificationReasons(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
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
	var ids []string
	for _, req := range []herald.NotificationRequest{plain, welcome, plain} {
		n, err := b.eng.Send(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		b.wait(n.ID)
		ids = append(ids, n.ID)
	}
	tests := []struct {
		query string
		want  []string
		next  bool
	}{
		{"", ids, false},
		{"?order=oldest", ids, false},
		{"?order=newest", []string{ids[2], ids[1], ids[0]}, false},
		{"?order=newest&limit=2", []string{ids[2], ids[1]}, true},
		{"?order=newest&cursor=" + ids[2], []string{ids[1], ids[0]}, false},
		{"?welcomes=false", []string{ids[0], ids[2]}, false},
		{"?order=newest&welcomes=no", []string{ids[2], ids[0]}, false},
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
