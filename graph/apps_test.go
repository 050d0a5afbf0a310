package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

const catalogApp = `{"value":[{"id":"cat-1","externalId":"manifest-1","displayName":"Herald","distributionMethod":"organization",
 "appDefinitions":[
  {"id":"d0","teamsAppId":"cat-1","version":"1.0.0","publishingState":"submitted"},
  {"id":"d1","teamsAppId":"cat-1","version":"1.1.0","publishingState":"published","authorization":{"requiredPermissionSet":{"resourceSpecificPermissions":[
    {"permissionValue":"ChatMessageReadReceipt.Read.Chat","permissionType":"Application"},
    {"permissionValue":"ChatMessage.Read.Chat","permissionType":"Delegated"}]}}}]}]}`

func TestAppByExternalID(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Query().Get("$filter"), "manifest-1") {
			writeRaw(w, 200, catalogApp)
			return
		}
		writeRaw(w, 200, `{"value":[]}`)
	})
	ctx := context.Background()
	app, err := c.AppByExternalID(ctx, "manifest-1")
	if err != nil || app.ID != "cat-1" {
		t.Fatalf("app = %+v, %v", app, err)
	}
	if got := f.requests()[0]; got.Path != "/v1.0/appCatalogs/teamsApps" || got.Query != "$filter=externalId%20eq%20'manifest-1'&$expand=appDefinitions" {
		t.Errorf("request %s ? %s", got.Path, got.Query)
	}
	set := app.ConsentSet()
	if set == nil || len(set.ResourceSpecificPermissions) != 1 || set.ResourceSpecificPermissions[0].PermissionValue != "ChatMessageReadReceipt.Read.Chat" {
		t.Errorf("ConsentSet = %+v, want the one application RSC permission", set)
	}
	if (&TeamsApp{ID: "x"}).ConsentSet() != nil {
		t.Error("an app without definitions needs no consent")
	}
	if _, err := c.AppByExternalID(ctx, "other"); !errors.Is(err, ErrNotFound) || Classify(err).Kind != KindNotFound {
		t.Errorf("unknown app: err = %v", err)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1.0/users/new/teamwork/installedApps", "/v1.0/chats/19:c@thread.v2/installedApps":
			w.WriteHeader(http.StatusCreated)
		case "/v1.0/teams/t1/installedApps":
			w.WriteHeader(http.StatusOK)
		case "/v1.0/users/has/teamwork/installedApps":
			writeRaw(w, 409, `{"error":{"code":"Conflict","message":"App is already installed."}}`)
		case "/v1.0/users/blocked/teamwork/installedApps":
			writeRaw(w, 403, `{"error":{"code":"Forbidden","message":"App is blocked by app permission policy. TenantId: t","innerError":{"code":"AccessDenied"}}}`)
		case "/v1.0/users/denied/teamwork/installedApps":
			writeRaw(w, 403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
		}
	})
	ctx := context.Background()
	consent := &PermissionSet{ResourceSpecificPermissions: []ResourceSpecificPermission{{PermissionValue: "ChatMessageReadReceipt.Read.Chat", PermissionType: "Application"}}}
	tests := []struct {
		scope   Scope
		id      string
		consent *PermissionSet
		want    InstallResult
		kind    Kind
	}{
		{ScopeUser, "new", nil, Installed, ""},
		{ScopeChat, "19:c@thread.v2", consent, Installed, ""},
		{ScopeTeam, "t1", nil, Installed, ""},
		{ScopeUser, "has", nil, AlreadyInstalled, ""},
		{ScopeUser, "blocked", nil, "", KindBlockedByPolicy},
		{ScopeUser, "denied", consent, "", KindPermissionMissing},
		{ScopeUser, "", nil, "", KindBadRequest},
		{Scope("meeting"), "m", nil, "", KindBadRequest},
	}
	for _, tt := range tests {
		got, err := c.Install(ctx, tt.scope, tt.id, "cat-1", tt.consent)
		if got != tt.want || Classify(err).Kind != tt.kind {
			t.Errorf("Install(%s, %q) = %q, %v; want %q, kind %q", tt.scope, tt.id, got, err, tt.want, tt.kind)
		}
		if tt.id == "denied" && !strings.Contains(err.Error(), PermInstallConsentForUser) {
			t.Errorf("denied with consent: %v does not name %s", err, PermInstallConsentForUser)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(f.requests()[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["teamsApp@odata.bind"] != f.base()+"/appCatalogs/teamsApps/cat-1" || body["consentedPermissionSet"] == nil {
		t.Errorf("chat install body = %v", body)
	}
	if strings.Contains(string(f.requests()[0].Body), "consentedPermissionSet") {
		t.Errorf("install without consent sent a consentedPermissionSet: %s", f.requests()[0].Body)
	}
}

func TestPersonalChat(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			writeRaw(w, 409, `{"error":{"code":"Conflict","message":"App is already installed."}}`)
		case strings.HasSuffix(r.URL.Path, "/installedApps"):
			writeRaw(w, 200, `{"value":[{"id":"inst-1","teamsApp":{"id":"cat-1","externalId":"manifest-1"}}]}`)
		case strings.HasSuffix(r.URL.Path, "/installedApps/inst-1/chat"):
			writeRaw(w, 200, `{"id":"19:bot_u1@unq.gbl.spaces","chatType":"oneOnOne"}`)
		default:
			http.NotFound(w, r)
		}
	})
	chatID, res, err := c.PersonalChat(context.Background(), "u1", "cat-1", nil)
	if err != nil || chatID != "19:bot_u1@unq.gbl.spaces" || res != AlreadyInstalled {
		t.Fatalf("PersonalChat = %q, %q, %v", chatID, res, err)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[1].Query != "$expand=teamsApp&$filter=teamsApp/id%20eq%20'cat-1'" || reqs[2].Path != "/v1.0/users/u1/teamwork/installedApps/inst-1/chat" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestInstallationNotFound(t *testing.T) {
	t.Parallel()
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, `{"value":[{"id":"other","teamsApp":{"id":"cat-9"}}]}`)
	})
	if _, err := c.Installation(context.Background(), ScopeChat, "19:c@thread.v2", "cat-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestUserInstallAvailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		want bool
	}{
		{"", true},
		{"https://graph.microsoft.us/v1.0", false},
		{"https://dod-graph.microsoft.us/v1.0", false},
		{"https://microsoftgraph.chinacloudapi.cn/v1.0", false},
		{"http://127.0.0.1:3979/v1.0", true},
	}
	for _, tt := range tests {
		c, err := New(Options{BaseURL: tt.base, Tokens: staticTokens{token: "t"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.UserInstallAvailable(); got != tt.want {
			t.Errorf("%q: UserInstallAvailable = %v, want %v", tt.base, got, tt.want)
		}
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1.0/organization":
			writeRaw(w, 200, `{"value":[{"id":"t1","displayName":"Contoso","verifiedDomains":[{"name":"contoso.com","type":"Managed","isDefault":true},{"name":"contoso.onmicrosoft.com","isInitial":true}]}]}`)
		case "/v1.0/groups":
			if strings.Contains(r.URL.Query().Get("$filter"), "o''brien") {
				writeRaw(w, 200, `{"value":[{"id":"g1","mail":"o'brien@contoso.com","groupTypes":["Unified"]}]}`)
				return
			}
			writeRaw(w, 200, `{"value":[]}`)
		case "/v1.0/groups/g1/transitiveMembers/microsoft.graph.user":
			writeRaw(w, 200, `{"value":[{"id":"u1"},{"id":"u2"}]}`)
		case "/v1.0/groups/g1":
			writeRaw(w, 200, `{"id":"g1","displayName":"Everyone"}`)
		}
	})
	ctx := context.Background()
	org, err := c.Organization(ctx)
	if err != nil || !org.HasDomain("CONTOSO.com") || org.HasDomain("fabrikam.com") {
		t.Fatalf("organization = %+v, %v", org, err)
	}
	g, err := c.GroupByMail(ctx, "o'brien@contoso.com")
	if err != nil || g.ID != "g1" {
		t.Fatalf("group by mail = %+v, %v", g, err)
	}
	if _, err := c.GroupByMail(ctx, "none@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown mail: %v", err)
	}
	if g, err := c.Group(ctx, "g1"); err != nil || g.DisplayName != "Everyone" {
		t.Errorf("group = %+v, %v", g, err)
	}
	members, err := c.GroupMembers("g1", MemberQuery{}).All(ctx, RetryPolicy{})
	if err != nil || len(members) != 2 {
		t.Fatalf("members = %v, %v", members, err)
	}
	reqs := f.requests()
	last := reqs[len(reqs)-1]
	if last.Header.Get("ConsistencyLevel") != "eventual" || !strings.Contains(last.Query, "$count=true") || !strings.Contains(last.Query, "$top=999") {
		t.Errorf("members request %q, headers %v", last.Query, last.Header)
	}
}
