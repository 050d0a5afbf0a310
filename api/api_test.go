package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
)

func TestParseTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		targets []string
		want    herald.Audience
		wantErr string
	}{
		{"bare identifiers are users", []string{"alice@contoso.com", "29:1abc", " 8f2a-guid "},
			herald.Audience{Users: []string{"alice@contoso.com", "29:1abc", "8f2a-guid"}}, ""},
		{"kinds", []string{"team:Marketing", "channel:Eng/Deploys", "channel:Eng", "TOPIC:outages", "tenant:t1", "reply:k1", "user:29:x"},
			herald.Audience{Users: []string{"29:x"}, Teams: []string{"Marketing"},
				Channels: []herald.ChannelTarget{{Team: "Eng", Channel: "Deploys"}, {Team: "Eng"}},
				Replies:  []string{"k1"}, Tenants: []string{"t1"}, Topics: []string{"outages"}}, ""},
		{"team name with a slash", []string{"channel:R/D/General"}, herald.Audience{Channels: []herald.ChannelTarget{{Team: "R/D", Channel: "General"}}}, ""},
		{"empty", []string{" "}, herald.Audience{}, "empty target"},
		{"none", nil, herald.Audience{}, "names no one"},
		{"empty kind value", []string{"team:"}, herald.Audience{}, "want kind:value"},
		{"channel without team", []string{"channel:/General"}, herald.Audience{}, "needs a team"},
		{"commas", []string{"team:a,team:b"}, herald.Audience{}, "one target at a time"},
		{"unknown kind", []string{"teams:Engineering"}, herald.Audience{}, `unknown kind "teams"`},
		{"unknown kind among good ones", []string{"alice@contoso.com", "chanel:Eng/Deploys"}, herald.Audience{}, `unknown kind "chanel"`},
		{"unknown kind with spaces", []string{" Usr : bob "}, herald.Audience{}, `unknown kind "Usr"`},
		{"digit prefixes stay user ids", []string{"8:orgid:abc", "28:bot"}, herald.Audience{Users: []string{"8:orgid:abc", "28:bot"}}, ""},
		{"conversations", []string{"conversation:19:c@thread.tacv2;messageid=7", "19:g@thread.v2", "a:1personal", "CONVERSATION: a:2"},
			herald.Audience{Conversations: []string{"19:c@thread.tacv2;messageid=7", "19:g@thread.v2", "a:1personal", "a:2"}}, ""},
		{"unseen user with tenant", []string{"29:1new@72f988bf-86f1-41af-91ab-2d7cd011db47", "user:29:1b@72f988bf-86f1-41af-91ab-2d7cd011db47"},
			herald.Audience{Users: []string{"29:1new@72f988bf-86f1-41af-91ab-2d7cd011db47", "29:1b@72f988bf-86f1-41af-91ab-2d7cd011db47"}}, ""},
		{"user with a bad tenant", []string{"29:1new@contoso"}, herald.Audience{}, "audience.users[0]"},
		{"conversation that is no id", []string{"conversation:Ops"}, herald.Audience{}, "not a conversation id"},
		{"a word a is a kind typo", []string{"a:"}, herald.Audience{}, `unknown kind "a"`},
	}
	for _, tt := range tests {
		got, err := api.ParseTargets(tt.targets...)
		if tt.wantErr != "" {
			var fe *herald.FieldError
			if err == nil || !errors.Is(err, herald.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "127.0.0.1:3978", "ftp://x", "http://", "://"} {
		if _, err := api.NewClient(bad, api.ClientOptions{}); err == nil {
			t.Errorf("NewClient(%q) succeeded", bad)
		}
	}
}

// recorded is what a test server saw of a request.
type recorded struct {
	method, path, rawPath, query, auth, ctype, accept, body string
	header                                                  http.Header
}

// recorder answers every request with status and body, recording it.
func recorder(t *testing.T, status int, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, recorded{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), ctype: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept"),
			body: string(b), header: r.Header})
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestClientRequests(t *testing.T) {
	t.Parallel()
	srv, got := recorder(t, 200, `{}`)
	c, err := api.NewClient(srv.URL+"/herald/", api.ClientOptions{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := []struct {
		do   func() error
		want recorded
	}{
		{func() error { _, err := c.User(ctx, "alice@contoso.com", "t1"); return err },
			recorded{method: "GET", path: "/herald/v1/users/alice@contoso.com", query: "tenant=t1"}},
		{func() error { _, err := c.Channels(ctx, "R&D/Team"); return err },
			recorded{method: "GET", path: "/herald/v1/teams/R&D/Team/channels", rawPath: "/herald/v1/teams/R&D%2FTeam/channels"}},
		{func() error {
			_, err := c.SendText(ctx, "channel:Eng/Deploys", "done", api.TextOptions{Title: "T", Alert: true, Priority: herald.PriorityHigh})
			return err
		}, recorded{method: "POST", path: "/herald/v1/send/channel:Eng/Deploys", rawPath: "/herald/v1/send/channel:Eng%2FDeploys", body: "done", ctype: "text/plain; charset=utf-8"}},
		{func() error {
			_, err := c.Deliveries(ctx, "n_1", api.DeliveryQuery{States: []herald.DeliveryState{"failed", "uncertain"}, Page: api.Page{Cursor: "7", Limit: 50}})
			return err
		}, recorded{method: "GET", path: "/herald/v1/notifications/n_1/deliveries", query: "cursor=7&limit=50&state=failed&state=uncertain"}},
		{func() error { _, err := c.WaitNotification(ctx, "n_1", 1500*time.Millisecond); return err },
			recorded{method: "GET", path: "/herald/v1/notifications/n_1", query: "wait=1.5s"}},
		{func() error {
			_, err := c.SetPreferences(ctx, "29:a", []api.PreferenceChange{{Topic: "deploys", OptedOut: true}})
			return err
		}, recorded{method: "PATCH", path: "/herald/v1/users/29:a/preferences", body: `{"preferences":[{"topic":"deploys","optedOut":true}]}`, ctype: "application/json"}},
		{func() error { _, err := c.Topics(ctx); return err },
			recorded{method: "GET", path: "/herald/v1/topics"}},
		{func() error {
			return c.ExportDeliveries(ctx, "n_1", api.DeliveryQuery{Page: api.Page{Limit: 5}}, io.Discard)
		},
			recorded{method: "GET", path: "/herald/v1/notifications/n_1/deliveries", accept: "text/csv"}},
	}
	for i, call := range calls {
		if err := call.do(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		r := (*got)[len(*got)-1]
		w := call.want
		if w.rawPath == "" {
			w.rawPath = r.rawPath
		}
		if w.accept == "" {
			w.accept = "application/json"
		}
		if r.method != w.method || r.path != w.path || r.rawPath != w.rawPath || r.query != w.query || r.body != w.body ||
			r.ctype != w.ctype || r.accept != w.accept || r.auth != "Bearer k" {
			t.Errorf("call %d sent %+v, want %+v", i, r, w)
		}
	}
	send := (*got)[2].header
	if send.Get("X-Title") != "T" || send.Get("X-Alert") != "true" || send.Get("X-Priority") != "high" || send.Get("X-Topic") != "" {
		t.Errorf("send headers = %v", send)
	}
	if _, err := c.SetPreferences(ctx, "u", nil); err == nil {
		t.Error("SetPreferences without changes succeeded")
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
		want   api.Error
	}{
		{400, `{"error":{"code":"invalid","message":"bad","field":"content.text"}}`, api.Error{Status: 400, Code: "invalid", Message: "bad", Field: "content.text"}},
		{422, `{"error":{"code":"lint","message":"m","field":"f","warnings":[{"field":"f","message":"w"}]}}`, api.Error{Status: 422, Code: "lint", Message: "m", Field: "f"}},
		{502, "<html>\nBad gateway</html>", api.Error{Status: 502, Code: "internal", Message: "<html>"}},
		{404, ``, api.Error{Status: 404, Code: "not_found", Message: "Not Found"}},
		{401, `{"message":"Authorization has been denied"}`, api.Error{Status: 401, Code: "unauthorized", Message: `{"message":"Authorization has been denied"}`}},
	}
	for _, tt := range tests {
		srv, _ := recorder(t, tt.status, tt.body)
		c, _ := api.NewClient(srv.URL, api.ClientOptions{})
		_, err := c.Notification(context.Background(), "n_1")
		var e *api.Error
		if !errors.As(err, &e) {
			t.Fatalf("%d: err = %v", tt.status, err)
		}
		if diff := cmp.Diff(tt.want, *e, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Warnings" }, cmp.Ignore())); diff != "" {
			t.Errorf("%d (-want +got):\n%s", tt.status, diff)
		}
		if tt.status == 422 && len(e.Warnings) != 1 {
			t.Errorf("warnings = %+v", e.Warnings)
		}
		if !strings.Contains(e.Error(), tt.want.Code) {
			t.Errorf("Error() = %q", e.Error())
		}
	}
	srv, _ := recorder(t, 200, `not json`)
	c, _ := api.NewClient(srv.URL, api.ClientOptions{})
	if _, err := c.Teams(context.Background(), "", api.Page{}); err == nil || !strings.Contains(err.Error(), "decode answer") {
		t.Errorf("undecodable answer: %v", err)
	}
}

func TestDeliveryCSV(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 9, 0, 0, 500, time.FixedZone("x", 3600))
	d := herald.Delivery{ID: 7, Recipient: "29:a", Kind: herald.KindPersonal, State: herald.DeliveryFailed, Reason: herald.ReasonBlocked,
		Error: "403", Email: "a@x", Attempts: 2, Throttles: 1, CreatedAt: at}
	rec := api.DeliveryCSVRecord(d)
	if len(rec) != len(api.DeliveryCSVHeader()) {
		t.Fatalf("%d columns, header has %d", len(rec), len(api.DeliveryCSVHeader()))
	}
	want := []string{"7", "29:a", "personal", "failed", "blocked-by-user", "403", "", "", "a@x", "", "", "", "", "", "2", "1",
		"2026-05-01T08:00:00.0000005Z", "", ""}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestDeliveryCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+1", "'+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"Alice", "Alice"},
		{"", ""},
	}
	for _, tc := range tests {
		rec := api.DeliveryCSVRecord(herald.Delivery{Name: tc.name, Error: tc.name})
		if got := rec[7]; got != tc.want {
			t.Errorf("name %q: cell %q, want %q", tc.name, got, tc.want)
		}
		if got := rec[5]; got != tc.want {
			t.Errorf("error %q: cell %q, want %q", tc.name, got, tc.want)
		}
	}
}
