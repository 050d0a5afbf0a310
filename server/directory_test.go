package server

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
	"herald/emulator"
)

func TestDirectory(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice, bob, carol := b.user("Alice Dir"), b.user("Bob Dir"), b.user("Carol Smith")
	tm := b.team("Research", []person{alice, carol}, "Papers")
	other, err := b.emu.AddTenant(emulator.TenantSpec{Name: "Fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	// A Fabrikam user with the same email as Carol makes her email
	// ambiguous across tenants.
	// The emulator refuses a second user with the same email, but a
	// directory spanning tenants can hold one.
	if _, err := b.store.UserUpsert(b.ctx, herald.UserUpsertParams{ID: "29:twin", TenantID: other.ID, Name: "Carol Twin", Email: carol.Email}); err != nil {
		t.Fatal(err)
	}
	if err := b.store.ConversationUpsert(b.ctx, herald.Conversation{ID: "19:group@thread.v2", Type: "groupChat", TenantID: other.ID}); err != nil {
		t.Fatal(err)
	}
	ids := func(us []api.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.Name
		}
		return out
	}

	t.Run("users", func(t *testing.T) {
		var all api.UserList
		b.get("/v1/users").mustStatus(t, http.StatusOK).decode(t, &all)
		if len(all.Users) != 4 || all.Next != "" {
			t.Fatalf("users = %+v", all)
		}
		var page1, page2 api.UserList
		b.get("/v1/users?limit=3").mustStatus(t, http.StatusOK).decode(t, &page1)
		b.get("/v1/users?limit=3&cursor="+url.QueryEscape(page1.Next)).mustStatus(t, http.StatusOK).decode(t, &page2)
		if len(page1.Users) != 3 || len(page2.Users) != 1 || page2.Users[0].ID == page1.Users[2].ID {
			t.Fatalf("pages %v / %v", ids(page1.Users), ids(page2.Users))
		}
		tests := []struct {
			query string
			want  []string
		}{
			{"q=SMITH&tenant=" + b.tenant, []string{"Carol Smith"}},
			{"q=" + url.QueryEscape(bob.Email), []string{"Bob Dir"}},
			{"q=" + url.QueryEscape(alice.ID), []string{"Alice Dir"}},
			{"q=carol&tenant=" + other.ID, []string{"Carol Twin"}},
			{"team=Research", nil},
			{"team=Research&q=alice", []string{"Alice Dir"}},
			{"q=nobody", []string{}},
		}
		for _, tt := range tests {
			var l api.UserList
			b.get("/v1/users?"+tt.query).mustStatus(t, http.StatusOK).decode(t, &l)
			got := ids(l.Users)
			want := tt.want
			if want == nil { // team members, in id order
				want = []string{}
				for _, u := range all.Users {
					if u.ID == alice.ID || u.ID == carol.ID {
						want = append(want, u.Name)
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.query, diff)
			}
		}
		if l := all.Users; l[0].TenantID == "" || l[0].CreatedAt.IsZero() || !l[0].Installed || !l[0].Reachable {
			t.Errorf("user = %+v", l[0])
		}
		b.get("/v1/users?team=Nope").mustStatus(t, http.StatusNotFound)
		for _, bad := range []string{"?limit=0", "?limit=5000", "?name=x", "?q=%ff"} {
			b.get("/v1/users"+bad).mustStatus(t, http.StatusBadRequest)
		}
	})
	t.Run("one user", func(t *testing.T) {
		for _, id := range []string{alice.ID, alice.Email, alice.UPN, alice.AADObjectID} {
			var u api.User
			b.get("/v1/users/"+url.PathEscape(id)).mustStatus(t, http.StatusOK).decode(t, &u)
			if u.ID != alice.ID || u.Email != alice.Email || u.ConversationID != alice.conv {
				t.Errorf("%s found %+v", id, u)
			}
		}
		e := b.get("/v1/users/"+url.PathEscape(carol.Email)).mustStatus(t, http.StatusConflict).apiErr(t)
		if e.Code != api.CodeConflict || e.Field != "user" {
			t.Errorf("ambiguous email: %+v", e)
		}
		var u api.User
		b.get("/v1/users/"+url.PathEscape(carol.Email)+"?tenant="+b.tenant).mustStatus(t, http.StatusOK).decode(t, &u)
		if u.ID != carol.ID {
			t.Errorf("carol in her tenant = %+v", u)
		}
		b.get("/v1/users/nobody@nowhere.example").mustStatus(t, http.StatusNotFound)
		b.get("/v1/users/"+alice.Email+"?x=1").mustStatus(t, http.StatusBadRequest)
	})
	t.Run("preferences", func(t *testing.T) {
		path := "/v1/users/" + url.PathEscape(bob.Email) + "/preferences"
		var p api.Preferences
		b.get(path).mustStatus(t, http.StatusOK).decode(t, &p)
		if p.UserID != bob.ID || len(p.Preferences) != 0 || p.Preferences == nil {
			t.Fatalf("preferences = %+v", p)
		}
		patch := func(body string, h map[string]string) reply {
			if h == nil {
				h = map[string]string{"Content-Type": "application/json"}
			}
			return b.do(req{method: http.MethodPatch, path: path, body: body, header: h})
		}
		patch(`{"preferences":[{"topic":"deploys","optedOut":true},{"topic":"*","optedOut":false}]}`, nil).mustStatus(t, http.StatusOK).decode(t, &p)
		got := map[string]bool{}
		for _, pr := range p.Preferences {
			got[pr.Topic] = pr.OptedOut
		}
		if diff := cmp.Diff(map[string]bool{"deploys": true, "*": false}, got); diff != "" {
			t.Fatalf("preferences (-want +got):\n%s", diff)
		}
		if out, err := b.store.UserOptedOut(context.Background(), bob.ID, "deploys"); err != nil || !out {
			t.Fatalf("store says opted out = %v, %v", out, err)
		}
		patch(`{"preferences":[{"topic":"deploys","optedOut":false}]}`, nil).mustStatus(t, http.StatusOK).decode(t, &p)
		if out, _ := b.store.UserOptedOut(context.Background(), bob.ID, "deploys"); out {
			t.Fatal("still opted out after opting in")
		}
		for body, field := range map[string]string{
			`{"preferences":[]}`:                         "preferences",
			`{"preferences":[{"topic":" "}]}`:            "preferences[0].topic",
			`{"preferences":[{"topic":"a\u0000b"}]}`:     "preferences[0].topic",
			`{"preferences":[{"topic":"a","out":true}]}`: "preferences[0].out",
			`{}`: "preferences",
		} {
			if e := patch(body, nil).mustStatus(t, http.StatusBadRequest).apiErr(t); e.Field != field {
				t.Errorf("%s: field %q, want %q", body, e.Field, field)
			}
		}
		patch(`topic=deploys`, map[string]string{"Content-Type": "text/plain"}).mustStatus(t, http.StatusUnsupportedMediaType)
		b.do(req{method: http.MethodPatch, path: "/v1/users/nobody@x.example/preferences", body: `{"preferences":[{"topic":"a","optedOut":true}]}`}).
			mustStatus(t, http.StatusNotFound)
		b.get("/v1/users/nobody@x.example/preferences").mustStatus(t, http.StatusNotFound)
		b.get(path+"?all=1").mustStatus(t, http.StatusBadRequest)
	})
	t.Run("teams and channels", func(t *testing.T) {
		var l api.TeamList
		b.get("/v1/teams").mustStatus(t, http.StatusOK).decode(t, &l)
		if len(l.Teams) != 1 || l.Teams[0].ID != tm.ID || l.Teams[0].Name != "Research" || !l.Teams[0].Installed {
			t.Fatalf("teams = %+v", l)
		}
		b.get("/v1/teams?tenant="+other.ID).mustStatus(t, http.StatusOK).decode(t, &l)
		if len(l.Teams) != 0 {
			t.Fatalf("other tenant's teams = %+v", l)
		}
		for _, id := range []string{tm.ID, "research", tm.AADGroupID} {
			var got api.Team
			b.get("/v1/teams/"+url.PathEscape(id)).mustStatus(t, http.StatusOK).decode(t, &got)
			if got.ID != tm.ID {
				t.Errorf("%s found %+v", id, got)
			}
		}
		var cl api.ChannelList
		b.get("/v1/teams/Research/channels").mustStatus(t, http.StatusOK).decode(t, &cl)
		var names []string
		for _, c := range cl.Channels {
			names = append(names, c.Name)
		}
		if diff := cmp.Diff([]string{"General", "Papers"}, names); diff != "" {
			t.Errorf("channels (-want +got):\n%s", diff)
		}
		// A name with a slash, escaped, is one path segment.
		if _, err := b.store.TeamUpsert(b.ctx, herald.TeamUpsertParams{ID: "19:rd@thread.tacv2", TenantID: b.tenant, Name: "R/D Lab"}); err != nil {
			t.Fatal(err)
		}
		var rd api.Team
		b.get("/v1/teams/"+url.PathEscape("R/D Lab")).mustStatus(t, http.StatusOK).decode(t, &rd)
		if rd.ID != "19:rd@thread.tacv2" {
			t.Errorf("R/D Lab = %+v", rd)
		}
		b.get("/v1/teams/Nope").mustStatus(t, http.StatusNotFound)
		b.get("/v1/teams/Nope/channels").mustStatus(t, http.StatusNotFound)
		b.get("/v1/teams?limit=-1").mustStatus(t, http.StatusBadRequest)
		b.get("/v1/teams/Research?x=1").mustStatus(t, http.StatusBadRequest)
		// Two teams of the same name make the name ambiguous.
		if _, err := b.store.TeamUpsert(b.ctx, herald.TeamUpsertParams{ID: "19:dup@thread.tacv2", TenantID: other.ID, Name: "Research"}); err != nil {
			t.Fatal(err)
		}
		b.get("/v1/teams/Research").mustStatus(t, http.StatusConflict)
		b.get("/v1/teams/Research/channels").mustStatus(t, http.StatusConflict)
	})
	t.Run("conversations", func(t *testing.T) {
		var l api.ConversationList
		b.get("/v1/conversations?type=groupChat").mustStatus(t, http.StatusOK).decode(t, &l)
		if len(l.Conversations) != 1 || l.Conversations[0].TenantID != other.ID {
			t.Fatalf("group chats = %+v", l)
		}
		b.get("/v1/conversations?tenant="+b.tenant).mustStatus(t, http.StatusOK).decode(t, &l)
		if len(l.Conversations) != 1 || l.Conversations[0].Type != "channel" {
			t.Fatalf("contoso conversations = %+v", l)
		}
		var p1, p2 api.ConversationList
		b.get("/v1/conversations?limit=1").mustStatus(t, http.StatusOK).decode(t, &p1)
		b.get("/v1/conversations?limit=1&cursor="+url.QueryEscape(p1.Next)).mustStatus(t, http.StatusOK).decode(t, &p2)
		if len(p1.Conversations) != 1 || len(p2.Conversations) != 1 || p1.Conversations[0].ID == p2.Conversations[0].ID {
			t.Fatalf("pages %+v %+v", p1, p2)
		}
		b.get("/v1/conversations?type=meeting").mustStatus(t, http.StatusBadRequest)
		b.get("/v1/conversations?limit=zero").mustStatus(t, http.StatusBadRequest)
	})
}
