package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald"
	"herald/api"
	"herald/botframework"
)

func TestSendText(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice, bob, carol := b.user("Alice Send"), b.user("Bob Send"), b.user("Carol Send")
	tm := b.team("Platform Crew", []person{bob, carol}, "Deploys")
	deploys := tm.Channels[1]

	t.Run("user by email, curl style", func(t *testing.T) {
		// curl -d sends a form content type; the body is still the text.
		r := b.do(req{method: http.MethodPost, path: "/v1/send/" + alice.Email, body: "Deploy *finished*",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).mustStatus(t, http.StatusAccepted)
		var n api.Notification
		r.decode(t, &n)
		b.wait(n.ID)
		msgs := b.fromBot(alice.conv)
		if len(msgs) != 1 || msgs[0].Text != "Deploy *finished*" || msgs[0].TextFormat != botframework.TextFormatMarkdown {
			t.Fatalf("messages = %+v", msgs)
		}
	})
	t.Run("headers", func(t *testing.T) {
		var n api.Notification
		b.do(req{method: http.MethodPost, path: "/v1/send/" + url.PathEscape(alice.ID), body: "All green\n",
			header: map[string]string{"X-Title": "Build 42", "X-Topic": "builds", "X-Priority": "high", "X-Alert": "yes", "X-Key": "build-42"}}).
			mustStatus(t, http.StatusAccepted).decode(t, &n)
		rq := n.Request
		if rq.Title != "Build 42" || rq.Topic != "builds" || rq.Priority != herald.PriorityHigh || !rq.Alert || rq.Key != "build-42" {
			t.Fatalf("request = %+v", rq)
		}
		b.wait(n.ID)
		msgs := b.fromBot(alice.conv)
		if last := msgs[len(msgs)-1]; last.Text != "**Build 42**\n\nAll green" {
			t.Fatalf("text = %q", last.Text)
		}
	})
	t.Run("query parameters, plain", func(t *testing.T) {
		var n api.Notification
		b.do(req{method: http.MethodPost, path: "/v1/send/" + alice.UPN + "?title=Heads+up&format=plain&priority=normal&alert=false&topic=t&key=k",
			body: "plain *text*"}).mustStatus(t, http.StatusAccepted).decode(t, &n)
		b.wait(n.ID)
		msgs := b.fromBot(alice.conv)
		if last := msgs[len(msgs)-1]; last.Text != "Heads up\n\nplain *text*" || last.TextFormat != botframework.TextFormatPlain {
			t.Fatalf("message = %q (%s)", last.Text, last.TextFormat)
		}
		if n.Request.Priority != herald.PriorityNormal || n.Request.Alert {
			t.Fatalf("request = %+v", n.Request)
		}
	})
	t.Run("team members", func(t *testing.T) {
		var n api.Notification
		b.do(req{method: http.MethodPost, path: "/v1/send/team:" + url.PathEscape("Platform Crew"), body: "to every member"}).
			mustStatus(t, http.StatusAccepted).decode(t, &n)
		if got := b.wait(n.ID); got.Counts.Delivered != 2 {
			t.Fatalf("counts = %+v", got.Counts)
		}
		for _, p := range []person{bob, carol} {
			if msgs := b.fromBot(p.conv); len(msgs) != 1 || msgs[0].Text != "to every member" {
				t.Errorf("%s got %+v", p.Name, msgs)
			}
		}
	})
	t.Run("channel post", func(t *testing.T) {
		var n api.Notification
		b.do(req{method: http.MethodPost, path: "/v1/send/channel:" + url.PathEscape("Platform Crew") + "/Deploys", body: "to the channel"}).
			mustStatus(t, http.StatusAccepted).decode(t, &n)
		got := b.wait(n.ID)
		if got.Counts.Delivered != 1 {
			t.Fatalf("counts = %+v", got.Counts)
		}
		ds, err := b.eng.Deliveries(b.ctx, n.ID, herald.DeliveryFilter{}, herald.Page{})
		if err != nil || len(ds) != 1 || ds[0].Kind != herald.KindChannel || ds[0].ChannelID != deploys.ID {
			t.Fatalf("deliveries = %+v, %v", ds, err)
		}
		if msgs := b.fromBot(ds[0].ConversationID); len(msgs) != 1 || msgs[0].Text != "to the channel" {
			t.Fatalf("thread messages = %+v", msgs)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name, path, body string
			header           map[string]string
			status           int
			field            string
		}{
			{"empty body", "/v1/send/" + alice.Email, "  \n", nil, 400, "body"},
			{"not UTF-8", "/v1/send/" + alice.Email, "\xff\xfe", nil, 400, "body"},
			{"bad target", "/v1/send/channel:%2FGeneral", "x", nil, 400, "target"},
			{"empty tenant", "/v1/send/tenant:", "x", nil, 400, "target"},
			{"unknown kind", "/v1/send/teams:Engineering", "x", nil, 400, "target"},
			{"misspelt channel kind", "/v1/send/chanel:Eng%2FDeploys", "x", nil, 400, "target"},
			{"bad priority header", "/v1/send/" + alice.Email, "x", map[string]string{"X-Priority": "5"}, 400, "X-Priority"},
			{"bad priority query", "/v1/send/" + alice.Email + "?priority=max", "x", nil, 400, "priority"},
			{"bad alert", "/v1/send/" + alice.Email + "?alert=maybe", "x", nil, 400, "alert"},
			{"bad format", "/v1/send/" + alice.Email, "x", map[string]string{"X-Format": "html"}, 400, "X-Format"},
			{"unknown query", "/v1/send/" + alice.Email + "?tilte=x", "x", nil, 400, "tilte"},
			{"long title", "/v1/send/" + alice.Email + "?title=" + strings.Repeat("t", 600), "x", nil, 400, "title"},
			{"too large", "/v1/send/" + alice.Email, strings.Repeat("x", 2<<20), nil, 413, ""},
			{"no key", "/v1/send/" + alice.Email, "x", map[string]string{"Authorization": "Bearer wrong-key-0123456789"}, 401, ""},
			{"no target", "/v1/send/", "x", nil, 400, "target"},
		}
		before := len(b.notifications())
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := b.do(req{method: http.MethodPost, path: tt.path, body: tt.body, header: tt.header}).mustStatus(t, tt.status)
				if e := r.apiErr(t); e.Field != tt.field {
					t.Fatalf("error = %+v, want field %q", e, tt.field)
				}
			})
		}
		if after := len(b.notifications()); after != before {
			t.Fatalf("refused requests stored %d notifications", after-before)
		}
	})
}
