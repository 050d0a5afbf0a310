package emulator_test

import (
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"herald/emulator"
)

func TestGraphTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	other, err := b.em.AddTenant(emulator.TenantSpec{Name: "Northwind"})
	must(t, err)
	must(t, b.em.SetGraphSettings(other.ID, emulator.GraphSettings{NotConsented: true}))
	tests := []struct {
		name, tenant, scope string
		status              int
		errCode             string
	}{
		{"graph, by tenant id", d.TenantID, "https://graph.microsoft.com/.default", 200, ""},
		{"graph, by domain", "contoso.com", "https://graph.microsoft.com/.default openid profile offline_access", 200, ""},
		{"graph by its app id", d.TenantID, "00000003-0000-0000-c000-000000000000/.default", 200, ""},
		{"graph from botframework.com", "botframework.com", "https://graph.microsoft.com/.default", 400, "invalid_scope"},
		{"two resources", d.TenantID, "https://graph.microsoft.com/.default https://api.botframework.com/.default", 400, "invalid_scope"},
		{"a delegated scope", d.TenantID, "https://graph.microsoft.com/User.Read", 400, "invalid_scope"},
		{"not consented", other.ID, "https://graph.microsoft.com/.default", 400, "unauthorized_client"},
	}
	for _, tt := range tests {
		status, body := b.tokenFor(t, tt.tenant, tt.scope)
		if status != tt.status || tt.errCode != "" && body["error"] != tt.errCode {
			t.Errorf("%s: %d %v", tt.name, status, body)
			continue
		}
		if status != 200 {
			continue
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), claims); err != nil {
			t.Fatal(err)
		}
		roles, _ := claims["roles"].([]any)
		if claims["aud"] != emulator.GraphAudience || claims["tid"] != d.TenantID || claims["appid"] != emulator.DefaultAppID ||
			claims["idtyp"] != "app" || !slices.Contains(roles, any(emulator.PermUserReadAll)) || len(roles) != len(emulator.DefaultGraphPermissions()) {
			t.Errorf("%s: claims %v", tt.name, claims)
		}
	}
	// No permissions granted: a token without roles.
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{}}))
	_, body := b.tokenFor(t, d.TenantID, "https://graph.microsoft.com/.default")
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(body["access_token"].(string), claims)
	if _, ok := claims["roles"]; ok {
		t.Fatalf("roles without permissions: %v", claims)
	}
}

func TestGraphAudienceSeparation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	conv := b.personal(t, d.Users[0].ID)
	// A Connector token does not open Graph.
	connector := &graphClient{b: b, tok: b.token(t)}
	r := connector.do(t, "GET", "/users", nil)
	if r.status != 401 || r.errorCode() != "InvalidAuthenticationToken" || r.errorMessage() != "Access token validation failure. Invalid audience." ||
		r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("connector token on Graph: %d %v %s", r.status, r.header, r.body)
	}
	// A Graph token does not open the Connector.
	if r := b.callWith(t, "Bearer "+g.tok, "POST", "v3/conversations/"+esc(conv)+"/activities", message("hi")); r.status != 401 {
		t.Fatalf("graph token on the Connector: %d %s", r.status, r.body)
	}
	for name, tok := range map[string]string{"no token": "", "garbage": "not-a-jwt"} {
		r := (&graphClient{b: b, tok: tok}).do(t, "GET", "/organization", nil)
		if r.status != 401 || r.errorCode() != "InvalidAuthenticationToken" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// The token's tenant is the directory read.
	other, err := b.em.AddTenant(emulator.TenantSpec{Name: "Northwind"})
	must(t, err)
	_, err = b.em.AddUser(emulator.UserSpec{TenantID: other.ID, Name: "Nina North"})
	must(t, err)
	if users := values(t, b.graphFor(t, other.ID).get(t, "/users")); len(users) != 1 || users[0]["displayName"] != "Nina North" {
		t.Fatalf("northwind users %v", users)
	}
}

func TestGraphPermissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{"Directory.Read.All"}}))
	// Directory.Read.All covers the directory reads, and not installs.
	for _, p := range []string{"/users", "/users/delta", "/organization", "/groups", "/groups/" + d.Groups[0].ID + "/transitiveMembers"} {
		if r := g.do(t, "GET", p, nil); r.status != 200 {
			t.Errorf("%s with Directory.Read.All: %d %s", p, r.status, r.body)
		}
	}
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{emulator.PermInstallSelfForUser}}))
	for _, p := range []string{"/users", "/users/delta", "/organization", "/groups"} {
		if r := g.do(t, "GET", p, nil); r.status != 403 || r.errorCode() != "Authorization_RequestDenied" {
			t.Errorf("%s without a directory permission: %d %s", p, r.status, r.body)
		}
	}
	r := g.do(t, "GET", "/teams/"+d.Teams[0].AADGroupID+"/installedApps", nil)
	if r.status != 403 || r.errorMessage() != "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadForTeam.All, "+
		"TeamsAppInstallation.ReadWriteSelfForTeam.All, TeamsAppInstallation.ReadWriteForTeam.All'. Roles on the request 'TeamsAppInstallation.ReadWriteSelfForUser.All'." {
		t.Fatalf("team apps: %d %s", r.status, r.body)
	}
	// Changes apply to tokens already issued.
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{}))
	if r := g.do(t, "GET", "/users", nil); r.status != 200 {
		t.Fatalf("after granting again: %d", r.status)
	}
}
