package botframework

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTokens is a TokenSource that counts calls.
type fakeTokens struct {
	token string
	err   error
	calls atomic.Int64
}

func (f *fakeTokens) Token(context.Context) (string, error) {
	f.calls.Add(1)
	return f.token, f.err
}

// captured is what the test server saw of one request.
type captured struct {
	Method, URI, Auth, ContentType, Accept, UserAgent string
	Body                                              []byte
}

// reply is what the test server answers.
type reply struct {
	status int
	body   string
	header map[string]string
}

// teamsStub is an httptest server that records requests and answers each
// with the same reply.
type teamsStub struct {
	srv   *httptest.Server
	mu    sync.Mutex
	seen  []captured
	reply reply
}

func newStub(t *testing.T, r reply) *teamsStub {
	t.Helper()
	s := &teamsStub{reply: r}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.seen = append(s.seen, captured{
			Method: req.Method, URI: req.RequestURI, Auth: req.Header.Get("Authorization"),
			ContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept"),
			UserAgent: req.Header.Get("User-Agent"), Body: body,
		})
		rep := s.reply
		s.mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		status := rep.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *teamsStub) requests() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.seen...)
}

func (s *teamsStub) host() string { return strings.TrimPrefix(s.srv.URL, "http://") }

// connectorFor returns a Connector that trusts the stub.
func connectorFor(s *teamsStub, tokens TokenSource) *Connector {
	return NewConnector(ConnectorOptions{
		HTTPClient:   s.srv.Client(),
		Tokens:       tokens,
		TrustedHosts: []string{s.host()},
		UserAgent:    "herald-test/1",
	})
}

type threadResult struct{ ConversationID, ActivityID string }

var testBot = ChannelAccount{ID: "28:bot-app", Name: "Herald"}

func msg(text string) *Activity { return &Activity{Type: TypeMessage, Text: text} }

// apiCalls lists every Client method with the request it must send and
// the reply that exercises its decoding.
var apiCalls = []struct {
	name       string
	call       func(context.Context, *Client) (any, error)
	reply      reply
	wantMethod string
	wantPath   string // after the serviceUrl path "/teams"
	wantBody   string // "" = no body
	want       any
}{
	{
		name: "CreateConversation",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreateConversation(ctx, ConversationParameters{
				Bot: &testBot, Members: []ChannelAccount{{ID: "29:u1"}}, TenantID: "t1",
				ChannelData: &ChannelData{Tenant: &TenantInfo{ID: "t1"}},
			})
		},
		reply:      reply{status: 201, body: `{"id":"a:new","serviceUrl":"https://smba.trafficmanager.net/emea/"}`},
		wantMethod: "POST", wantPath: "/v3/conversations",
		wantBody: `{"isGroup":false,"bot":{"id":"28:bot-app","name":"Herald"},"members":[{"id":"29:u1"}],"tenantId":"t1","channelData":{"tenant":{"id":"t1"}}}`,
		want:     &ConversationResourceResponse{ID: "a:new", ServiceURL: "https://smba.trafficmanager.net/emea/"},
	},
	{
		name: "CreatePersonalConversation",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.CreatePersonalConversation(ctx, testBot, "29:user-1", "tenant-1")
		},
		reply:      reply{status: 201, body: `{"id":"a:1Rz8KqP3wX7mN2vB5cY9tL4hJ6gF0dS-personal"}`},
		wantMethod: "POST", wantPath: "/v3/conversations",
		wantBody: `{"isGroup":false,"bot":{"id":"28:bot-app","name":"Herald"},"members":[{"id":"29:user-1"}],"tenantId":"tenant-1","channelData":{"tenant":{"id":"tenant-1"}}}`,
		want:     "a:1Rz8KqP3wX7mN2vB5cY9tL4hJ6gF0dS-personal",
	},
	{
		name: "CreateChannelThread",
		call: func(ctx context.Context, c *Client) (any, error) {
			conv, act, err := c.CreateChannelThread(ctx, testBot, "19:team@thread.tacv2", "19:chan@thread.tacv2", "tenant-1", msg("Release 4.2 is out"))
			return threadResult{conv, act}, err
		},
		reply:      reply{status: 201, body: `{"id":"19:chan@thread.tacv2;messageid=111","activityId":"222"}`},
		wantMethod: "POST", wantPath: "/v3/conversations",
		wantBody: `{"isGroup":true,"bot":{"id":"28:bot-app","name":"Herald"},"tenantId":"tenant-1",
			"activity":{"type":"message","text":"Release 4.2 is out"},
			"channelData":{"tenant":{"id":"tenant-1"},"team":{"id":"19:team@thread.tacv2"},"channel":{"id":"19:chan@thread.tacv2"},
			"teamsChannelId":"19:chan@thread.tacv2","teamsTeamId":"19:team@thread.tacv2"}}`,
		want: threadResult{"19:chan@thread.tacv2;messageid=111", "222"},
	},
	{
		name: "CreateChannelThread without activityId",
		call: func(ctx context.Context, c *Client) (any, error) {
			conv, act, err := c.CreateChannelThread(ctx, testBot, "19:team@thread.tacv2", "19:team@thread.tacv2", "tenant-1", msg("hi"))
			return threadResult{conv, act}, err
		},
		reply:      reply{status: 200, body: `{"id":"19:team@thread.tacv2;messageid=1741350000987"}`},
		wantMethod: "POST", wantPath: "/v3/conversations",
		wantBody: `{"isGroup":true,"bot":{"id":"28:bot-app","name":"Herald"},"tenantId":"tenant-1",
			"activity":{"type":"message","text":"hi"},
			"channelData":{"tenant":{"id":"tenant-1"},"team":{"id":"19:team@thread.tacv2"},"channel":{"id":"19:team@thread.tacv2"},
			"teamsChannelId":"19:team@thread.tacv2","teamsTeamId":"19:team@thread.tacv2"}}`,
		want: threadResult{"19:team@thread.tacv2;messageid=1741350000987", "1741350000987"},
	},
	{
		name: "SendToConversation",
		call: func(ctx context.Context, c *Client) (any, error) {
			e, text := NewMention(ChannelAccount{ID: "29:u", Name: "Ana"})
			a := &Activity{Type: TypeMessage, Text: text + " welcome!", Entities: []Entity{e},
				ChannelData: &ChannelData{Notification: &NotificationInfo{Alert: true}}}
			return c.SendToConversation(ctx, "19:chan@thread.tacv2;messageid=17", a)
		},
		reply:      reply{status: 201, body: `{"id":"1741350000999"}`},
		wantMethod: "POST", wantPath: "/v3/conversations/19:chan@thread.tacv2%3Bmessageid=17/activities",
		wantBody: `{"type":"message","text":"<at>Ana</at> welcome!",
			"entities":[{"type":"mention","mentioned":{"id":"29:u","name":"Ana"},"text":"<at>Ana</at>"}],
			"channelData":{"notification":{"alert":true}}}`,
		want: &ResourceResponse{ID: "1741350000999"},
	},
	{
		name: "ReplyToActivity",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.ReplyToActivity(ctx, "a:x/y?z w", "1700", msg("threaded"))
		},
		reply:      reply{status: 200, body: `{"id":"1701"}`},
		wantMethod: "POST", wantPath: "/v3/conversations/a:x%2Fy%3Fz%20w/activities/1700",
		wantBody: `{"type":"message","text":"threaded","replyToId":"1700"}`,
		want:     &ResourceResponse{ID: "1701"},
	},
	{
		name: "UpdateActivity",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateActivity(ctx, "a:conv", "1700", msg("edited"))
		},
		reply:      reply{status: 200, body: `{"id":"1700"}`},
		wantMethod: "PUT", wantPath: "/v3/conversations/a:conv/activities/1700",
		wantBody: `{"type":"message","text":"edited"}`,
		want:     &ResourceResponse{ID: "1700"},
	},
	{
		name: "DeleteActivity",
		call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.DeleteActivity(ctx, "a:conv", "1700")
		},
		reply:      reply{status: 200},
		wantMethod: "DELETE", wantPath: "/v3/conversations/a:conv/activities/1700",
	},
	{
		name: "GetMember",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetMember(ctx, "19:team@thread.tacv2", "mira.okafor@example.com")
		},
		reply: reply{body: `{"id":"29:m","name":"Mira Okafor","objectId":"e1a3","givenName":"Mira","surname":"Okafor",
			"email":"mira.okafor@example.com","userPrincipalName":"mira.okafor@example.com","tenantId":"t1","userRole":"user"}`},
		wantMethod: "GET", wantPath: "/v3/conversations/19:team@thread.tacv2/members/mira.okafor@example.com",
		want: &TeamsChannelAccount{ID: "29:m", Name: "Mira Okafor", ObjectID: "e1a3", GivenName: "Mira", Surname: "Okafor",
			Email: "mira.okafor@example.com", UserPrincipalName: "mira.okafor@example.com", TenantID: "t1", UserRole: "user"},
	},
	{
		name: "GetPagedMembers small page and token",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetPagedMembers(ctx, "19:team@thread.tacv2", 10, "tok en/+1")
		},
		reply:      reply{body: `{"continuationToken":"next","members":[{"id":"29:a","objectId":"o1"}]}`},
		wantMethod: "GET", wantPath: "/v3/conversations/19:team@thread.tacv2/pagedmembers?continuationToken=tok+en%2F%2B1&pageSize=50",
		want: &PagedMembersResult{ContinuationToken: "next", Members: []TeamsChannelAccount{{ID: "29:a", ObjectID: "o1"}}},
	},
	{
		name: "GetPagedMembers large page",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetPagedMembers(ctx, "19:team@thread.tacv2", 5000, "")
		},
		reply:      reply{body: `{"members":[]}`},
		wantMethod: "GET", wantPath: "/v3/conversations/19:team@thread.tacv2/pagedmembers?pageSize=500",
		want: &PagedMembersResult{Members: []TeamsChannelAccount{}},
	},
	{
		name: "GetPagedMembers default size",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetPagedMembers(ctx, "a:conv", 0, "")
		},
		reply:      reply{body: `{"members":[{"id":"29:a"}]}`},
		wantMethod: "GET", wantPath: "/v3/conversations/a:conv/pagedmembers",
		want: &PagedMembersResult{Members: []TeamsChannelAccount{{ID: "29:a"}}},
	},
	{
		name: "GetTeamDetails",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetTeamDetails(ctx, "19:team@thread.tacv2")
		},
		reply:      reply{body: `{"id":"19:team@thread.tacv2","name":"Ops","aadGroupId":"g1","memberCount":12,"channelCount":3,"type":"standard"}`},
		wantMethod: "GET", wantPath: "/v3/teams/19:team@thread.tacv2",
		want: &TeamDetails{ID: "19:team@thread.tacv2", Name: "Ops", AADGroupID: "g1", MemberCount: 12, ChannelCount: 3, Type: "standard"},
	},
	{
		name: "GetTeamChannels",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetTeamChannels(ctx, "19:team@thread.tacv2")
		},
		reply:      reply{body: `{"conversations":[{"id":"19:team@thread.tacv2","name":null},{"id":"19:c2@thread.tacv2","name":"Alerts"}]}`},
		wantMethod: "GET", wantPath: "/v3/teams/19:team@thread.tacv2/conversations",
		want: []ChannelInfo{{ID: "19:team@thread.tacv2"}, {ID: "19:c2@thread.tacv2", Name: "Alerts"}},
	},
	{
		name: "SendToUsers object body",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.SendToUsers(ctx, BatchUsersRequest{Activity: msg("hi all"), TenantID: "t1",
				Members: []BatchMember{{ID: "29:a"}, {ID: "c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e7a"}}})
		},
		reply:      reply{status: 201, body: `{"operationId":"op-users"}`},
		wantMethod: "POST", wantPath: "/v3/batch/conversation/users",
		wantBody: `{"activity":{"type":"message","text":"hi all"},"members":[{"id":"29:a"},{"id":"c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e7a"}],"tenantId":"t1"}`,
		want:     "op-users",
	},
	{
		name: "SendToTenant JSON string body",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.SendToTenant(ctx, BatchTenantRequest{Activity: msg("maintenance tonight"), TenantID: "t1"})
		},
		reply:      reply{status: 201, body: `"op-tenant"`},
		wantMethod: "POST", wantPath: "/v3/batch/conversation/tenant",
		wantBody: `{"activity":{"type":"message","text":"maintenance tonight"},"tenantId":"t1"}`,
		want:     "op-tenant",
	},
	{
		name: "SendToTeam raw text body",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.SendToTeam(ctx, BatchTeamRequest{Activity: msg("team news"), TenantID: "t1", TeamID: "19:team@thread.tacv2"})
		},
		reply:      reply{status: 201, body: "op-team\n"},
		wantMethod: "POST", wantPath: "/v3/batch/conversation/team",
		wantBody: `{"activity":{"type":"message","text":"team news"},"tenantId":"t1","teamId":"19:team@thread.tacv2"}`,
		want:     "op-team",
	},
	{
		name: "SendToChannels",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.SendToChannels(ctx, BatchChannelsRequest{Activity: msg("channel news"), TenantID: "t1",
				Members: []BatchMember{{ID: "19:c1@thread.tacv2"}, {ID: "19:c2@thread.tacv2"}}})
		},
		reply:      reply{status: 201, body: `{"operationId":"op-channels"}`},
		wantMethod: "POST", wantPath: "/v3/batch/conversation/channels",
		wantBody: `{"activity":{"type":"message","text":"channel news"},"tenantId":"t1","members":[{"id":"19:c1@thread.tacv2"},{"id":"19:c2@thread.tacv2"}]}`,
		want:     "op-channels",
	},
	{
		name: "GetOperationState",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetOperationState(ctx, "op/1")
		},
		reply:      reply{body: `{"state":"Ongoing","statusMap":{"201":3,"429":1},"retryAfter":"2025-03-07T12:00:05Z","totalEntriesCount":10}`},
		wantMethod: "GET", wantPath: "/v3/batch/conversation/op%2F1",
		want: &BatchOperationState{State: BatchOngoing, StatusMap: map[string]int{"201": 3, "429": 1},
			RetryAfter: "2025-03-07T12:00:05Z", TotalEntriesCount: 10},
	},
	{
		name: "GetFailedEntries with token",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetFailedEntries(ctx, "op-1", "page2")
		},
		reply:      reply{body: `{"continuationToken":"page3","failedEntryResponses":[{"id":"29:gone","error":"404 ConversationNotFound"}]}`},
		wantMethod: "GET", wantPath: "/v3/batch/conversation/failedentries/op-1?continuationToken=page2",
		want: &BatchFailedEntries{ContinuationToken: "page3",
			FailedEntryResponses: []BatchFailedEntry{{ID: "29:gone", Error: "404 ConversationNotFound"}}},
	},
	{
		name: "GetFailedEntries first page",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.GetFailedEntries(ctx, "op-1", "")
		},
		reply:      reply{body: `{"failedEntryResponses":[]}`},
		wantMethod: "GET", wantPath: "/v3/batch/conversation/failedentries/op-1",
		want: &BatchFailedEntries{FailedEntryResponses: []BatchFailedEntry{}},
	},
	{
		name: "CancelOperation",
		call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.CancelOperation(ctx, "op-1")
		},
		reply:      reply{status: 200},
		wantMethod: "DELETE", wantPath: "/v3/batch/conversation/op-1",
	},
}

func TestClientCalls(t *testing.T) {
	t.Parallel()
	for _, tt := range apiCalls {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, tt.reply)
			tokens := &fakeTokens{token: "tok-1"}
			client := connectorFor(stub, tokens).Client(stub.srv.URL + "/teams/")
			got, err := tt.call(t.Context(), client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			reqs := stub.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.wantMethod || r.URI != "/teams"+tt.wantPath {
				t.Errorf("request = %s %s, want %s /teams%s", r.Method, r.URI, tt.wantMethod, tt.wantPath)
			}
			if r.Auth != "Bearer tok-1" {
				t.Errorf("Authorization = %q", r.Auth)
			}
			if r.Accept != "application/json" || r.UserAgent != "herald-test/1" {
				t.Errorf("Accept %q User-Agent %q", r.Accept, r.UserAgent)
			}
			if tt.wantBody == "" {
				if len(r.Body) != 0 || r.ContentType != "" {
					t.Errorf("unexpected body %q (Content-Type %q)", r.Body, r.ContentType)
				}
				return
			}
			if r.ContentType != "application/json" {
				t.Errorf("Content-Type = %q", r.ContentType)
			}
			if diff := cmp.Diff(generic(t, []byte(tt.wantBody)), generic(t, r.Body)); diff != "" {
				t.Errorf("body (-want +got):\n%s\nraw: %s", diff, r.Body)
			}
			if strings.Contains(string(r.Body), `\u003c`) {
				t.Errorf("body escapes HTML: %s", r.Body)
			}
		})
	}
}

// TestServiceURLJoin checks that paths join the serviceUrl with or without
// a trailing slash, at the root or under a path.
func TestServiceURLJoin(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{body: `{"id":"1"}`})
	conn := connectorFor(stub, &fakeTokens{token: "tok"})
	tests := []struct{ suffix, wantURI string }{
		{"", "/v3/conversations/a:c/activities"},
		{"/", "/v3/conversations/a:c/activities"},
		{"/amer", "/amer/v3/conversations/a:c/activities"},
		{"/amer/", "/amer/v3/conversations/a:c/activities"},
		{"/x/teams//", "/x/teams/v3/conversations/a:c/activities"},
	}
	for _, tt := range tests {
		if _, err := conn.Client(stub.srv.URL+tt.suffix).SendToConversation(t.Context(), "a:c", msg("x")); err != nil {
			t.Fatalf("%q: %v", tt.suffix, err)
		}
	}
	reqs := stub.requests()
	for i, tt := range tests {
		if reqs[i].URI != tt.wantURI {
			t.Errorf("serviceUrl suffix %q: URI %q, want %q", tt.suffix, reqs[i].URI, tt.wantURI)
		}
	}
}

// TestUntrustedSendsNothing calls every method against a serviceUrl the
// Connector does not trust: each must fail with ErrUntrustedServiceURL
// without asking for a token or sending a request.
func TestUntrustedSendsNothing(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{body: `{"id":"1"}`})
	tokens := &fakeTokens{token: "secret-token"}
	conns := map[string]*Connector{
		"no trusted hosts":     NewConnector(ConnectorOptions{HTTPClient: stub.srv.Client(), Tokens: tokens}),
		"other port trusted":   NewConnector(ConnectorOptions{HTTPClient: stub.srv.Client(), Tokens: tokens, TrustedHosts: []string{"127.0.0.1:1"}}),
		"other host trusted":   NewConnector(ConnectorOptions{HTTPClient: stub.srv.Client(), Tokens: tokens, TrustedHosts: []string{"127.0.0.2"}}),
		"teams hosts only":     NewConnector(ConnectorOptions{HTTPClient: stub.srv.Client(), Tokens: tokens, TrustedHosts: []string{"smba.trafficmanager.net"}}),
		"trusted, but https":   NewConnector(ConnectorOptions{HTTPClient: stub.srv.Client(), Tokens: tokens, TrustedHosts: []string{"localhost"}}),
		"userinfo smuggling":   connectorFor(stub, tokens),
		"plain http to teams ": connectorFor(stub, tokens),
	}
	urls := map[string]string{
		"userinfo smuggling":   "http://" + stub.host() + "@evil.example/",
		"plain http to teams ": "http://smba.trafficmanager.net/teams/",
	}
	for name, conn := range conns {
		serviceURL := stub.srv.URL + "/teams/"
		if u, ok := urls[name]; ok {
			serviceURL = u
		}
		if conn.Trusted(serviceURL) {
			t.Errorf("%s: Trusted(%q) = true", name, serviceURL)
		}
		client := conn.Client(serviceURL)
		if client.ServiceURL() != "" {
			t.Errorf("%s: ServiceURL = %q for a refused url", name, client.ServiceURL())
		}
		for _, tt := range apiCalls {
			_, err := tt.call(t.Context(), client)
			if !errors.Is(err, ErrUntrustedServiceURL) {
				t.Errorf("%s: %s: err = %v, want ErrUntrustedServiceURL", name, tt.name, err)
			}
			if c := Classify(err); c.Reason != ReasonUntrusted || c.Retryable {
				t.Errorf("%s: %s: Classify = %+v", name, tt.name, c)
			}
		}
	}
	if n := len(stub.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
	if n := tokens.calls.Load(); n != 0 {
		t.Errorf("token source called %d times, want 0", n)
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{body: `{"id":"1"}`})
	tokens := &fakeTokens{token: "tok"}
	c := connectorFor(stub, tokens).Client(stub.srv.URL)
	ctx := t.Context()
	calls := map[string]func() error{
		"personal no user":    func() error { _, err := c.CreatePersonalConversation(ctx, testBot, "", "t"); return err },
		"personal no tenant":  func() error { _, err := c.CreatePersonalConversation(ctx, testBot, "29:u", ""); return err },
		"thread no channel":   func() error { _, _, err := c.CreateChannelThread(ctx, testBot, "tm", "", "t", msg("x")); return err },
		"thread no tenant":    func() error { _, _, err := c.CreateChannelThread(ctx, testBot, "tm", "ch", "", msg("x")); return err },
		"thread nil activity": func() error { _, _, err := c.CreateChannelThread(ctx, testBot, "tm", "ch", "t", nil); return err },
		"send no conv":        func() error { _, err := c.SendToConversation(ctx, "", msg("x")); return err },
		"send dot-dot conv":   func() error { _, err := c.SendToConversation(ctx, "..", msg("x")); return err },
		"send nil activity":   func() error { _, err := c.SendToConversation(ctx, "a:c", nil); return err },
		"reply no activity":   func() error { _, err := c.ReplyToActivity(ctx, "a:c", "", msg("x")); return err },
		"update nil":          func() error { _, err := c.UpdateActivity(ctx, "a:c", "1", nil); return err },
		"delete no id":        func() error { return c.DeleteActivity(ctx, "a:c", "") },
		"member no id":        func() error { _, err := c.GetMember(ctx, "a:c", ""); return err },
		"paged no conv":       func() error { _, err := c.GetPagedMembers(ctx, "", 0, ""); return err },
		"team no id":          func() error { _, err := c.GetTeamDetails(ctx, ""); return err },
		"channels no id":      func() error { _, err := c.GetTeamChannels(ctx, "."); return err },
		"users no members": func() error {
			_, err := c.SendToUsers(ctx, BatchUsersRequest{Activity: msg("x"), TenantID: "t"})
			return err
		},
		"tenant no tenant": func() error { _, err := c.SendToTenant(ctx, BatchTenantRequest{Activity: msg("x")}); return err },
		"team no team": func() error {
			_, err := c.SendToTeam(ctx, BatchTeamRequest{Activity: msg("x"), TenantID: "t"})
			return err
		},
		"channels no members": func() error {
			_, err := c.SendToChannels(ctx, BatchChannelsRequest{Activity: msg("x"), TenantID: "t"})
			return err
		},
		"state no id":  func() error { _, err := c.GetOperationState(ctx, ""); return err },
		"failed no id": func() error { _, err := c.GetFailedEntries(ctx, "", "tok"); return err },
		"cancel no id": func() error { return c.CancelOperation(ctx, "") },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
		if r := Classify(err).Reason; r != ReasonBadRequest {
			t.Errorf("%s: reason = %q", name, r)
		}
	}
	if n := len(stub.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestAPIErrorFromResponse(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{
		status: http.StatusForbidden,
		body:   `{"error":{"code":"ConversationBlockedByUser","message":"User blocked the conversation with the bot."}}`,
		header: map[string]string{"X-Correlating-OperationId": "corr-42", "Retry-After": "7"},
	})
	c := connectorFor(stub, &fakeTokens{token: "tok"}).Client(stub.srv.URL)
	_, err := c.SendToConversation(t.Context(), "a:c", msg("hello"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := &APIError{
		Op: "send to conversation", StatusCode: 403, Code: CodeConversationBlockedByUser,
		Message: "User blocked the conversation with the bot.", RetryAfter: 7 * time.Second,
		CorrelationID: "corr-42", Body: []byte(stub.reply.body),
	}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	if got := err.Error(); got != "send to conversation: status 403 ConversationBlockedByUser: User blocked the conversation with the bot." {
		t.Errorf("Error() = %q", got)
	}
	if c := Classify(err); c != (Classification{Reason: ReasonBlockedByUser, RetryAfter: 7 * time.Second, NotProcessed: true}) {
		t.Errorf("Classify = %+v", c)
	}
}

// TestNoRetry checks the client sends exactly one request whatever the
// answer: retrying is the delivery engine's decision.
func TestNoRetry(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 412, 500, 502, 503, 504} {
		stub := newStub(t, reply{status: status, header: map[string]string{"Retry-After": "1"}})
		c := connectorFor(stub, &fakeTokens{token: "tok"}).Client(stub.srv.URL)
		_, err := c.SendToConversation(t.Context(), "a:c", msg("x"))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Errorf("%d: err = %v", status, err)
		}
		if n := len(stub.requests()); n != 1 {
			t.Errorf("%d: server saw %d requests, want 1", status, n)
		}
	}
}

// TestRedirectNotFollowed checks a 3xx answer is an error and the token
// never reaches the redirect target.
func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target := newStub(t, reply{body: `{"id":"stolen"}`})
	stub := newStub(t, reply{status: http.StatusTemporaryRedirect, header: map[string]string{"Location": target.srv.URL + "/v3/conversations/a:c/activities"}})
	conn := NewConnector(ConnectorOptions{
		HTTPClient: stub.srv.Client(), Tokens: &fakeTokens{token: "tok"},
		TrustedHosts: []string{stub.host(), target.host()},
	})
	_, err := conn.Client(stub.srv.URL).SendToConversation(t.Context(), "a:c", msg("x"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want a 307 APIError", err)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("redirect target saw %d requests", n)
	}
}

func TestTokenErrorSendsNothing(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{body: `{"id":"1"}`})
	boom := errors.New("token endpoint said no")
	for _, tokens := range []*fakeTokens{{err: boom}, {token: ""}} {
		_, err := connectorFor(stub, tokens).Client(stub.srv.URL).SendToConversation(t.Context(), "a:c", msg("x"))
		if err == nil || !strings.Contains(err.Error(), "get token") {
			t.Errorf("err = %v", err)
		}
		if tokens.err != nil && !errors.Is(err, boom) {
			t.Errorf("err = %v does not wrap the token error", err)
		}
	}
	if n := len(stub.requests()); n != 0 {
		t.Errorf("server saw %d requests", n)
	}
}

func TestBadSuccessResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		call func(context.Context, *Client) error
	}{
		{"malformed JSON", `{"id":`, func(ctx context.Context, c *Client) error {
			_, err := c.SendToConversation(ctx, "a:c", msg("x"))
			return err
		}},
		{"create without id", `{}`, func(ctx context.Context, c *Client) error {
			_, err := c.CreatePersonalConversation(ctx, testBot, "29:u", "t")
			return err
		}},
		{"batch without id", `{"operationId":""}`, func(ctx context.Context, c *Client) error {
			_, err := c.SendToTenant(ctx, BatchTenantRequest{Activity: msg("x"), TenantID: "t"})
			return err
		}},
		{"batch body with spaces", `op 1 and more`, func(ctx context.Context, c *Client) error {
			_, err := c.SendToTenant(ctx, BatchTenantRequest{Activity: msg("x"), TenantID: "t"})
			return err
		}},
		{"oversized body", `{"members":[` + strings.Repeat(`{"id":"29:xxxxxxxx"},`, maxResponseBody/20) + `{"id":"last"}]}`,
			func(ctx context.Context, c *Client) error {
				_, err := c.GetPagedMembers(ctx, "a:c", 0, "")
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, reply{status: 201, body: tt.body})
			err := tt.call(t.Context(), connectorFor(stub, &fakeTokens{token: "tok"}).Client(stub.srv.URL))
			if c := Classify(err); c.Reason != ReasonBadResponse || c.Retryable {
				t.Errorf("err = %v, Classify = %+v", err, c)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	stub := newStub(t, reply{status: 201, body: `{"id":"m"}`})
	c := connectorFor(stub, &fakeTokens{token: "tok"}).Client(stub.srv.URL)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.SendToConversation(t.Context(), "a:c", msg("x")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(stub.requests()); n != 16 {
		t.Errorf("server saw %d requests, want 16", n)
	}
}

func TestNewConnectorNeedsTokens(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewConnector without Tokens did not panic")
		}
	}()
	NewConnector(ConnectorOptions{})
}

func TestDefaultsDoNotTouchCallerClient(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: time.Second}
	NewConnector(ConnectorOptions{HTTPClient: hc, Tokens: &fakeTokens{token: "t"}})
	if hc.CheckRedirect != nil {
		t.Error("NewConnector changed the caller's http.Client")
	}
	conn := NewConnector(ConnectorOptions{Tokens: &fakeTokens{token: "t"}})
	if conn.http.Timeout <= 0 || conn.userAgent != defaultAgent {
		t.Errorf("defaults: timeout %v, agent %q", conn.http.Timeout, conn.userAgent)
	}
}
