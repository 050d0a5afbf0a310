package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// GraphAudience is the aud of app-only Graph tokens, and the resource of
// the token request's scope (https://graph.microsoft.com/.default).
const GraphAudience = "https://graph.microsoft.com"

// graphAppID is Microsoft Graph's own application id, which also names it
// as a resource in a scope.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// Application permissions (app roles) the Graph side knows.
const (
	PermUserReadAll         = "User.Read.All"
	PermGroupMemberReadAll  = "GroupMember.Read.All"
	PermOrganizationReadAll = "Organization.Read.All"
	PermAppCatalogReadAll   = "AppCatalog.Read.All"
	PermInstallSelfForUser  = "TeamsAppInstallation.ReadWriteSelfForUser.All"
	PermInstallSelfForChat  = "TeamsAppInstallation.ReadWriteSelfForChat.All"
	PermInstallSelfForTeam  = "TeamsAppInstallation.ReadWriteSelfForTeam.All"
)

// DefaultGraphPermissions are the application permissions a tenant's admin
// granted the app unless the scenario says otherwise: the least each call
// Herald makes needs (teams-protocol-2026.md §1.9).
func DefaultGraphPermissions() []string {
	return []string{PermUserReadAll, PermGroupMemberReadAll, PermOrganizationReadAll, PermAppCatalogReadAll,
		PermInstallSelfForUser, PermInstallSelfForChat, PermInstallSelfForTeam}
}

// permSet is what a route needs: one of anyOf (named in the 403), or one
// of alsoOK (broader permissions Graph accepts without naming them). teams
// selects the Teams workload's 403 ("Missing role permissions…") over the
// directory's (Authorization_RequestDenied).
type permSet struct {
	teams  bool
	anyOf  []string
	alsoOK []string
}

var (
	dirRead = []string{"Directory.Read.All", "Directory.ReadWrite.All"}

	permUsers        = permSet{anyOf: []string{"User.Read.All", "User.ReadWrite.All"}, alsoOK: dirRead}
	permGroups       = permSet{anyOf: []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All"}, alsoOK: dirRead}
	permOrganization = permSet{anyOf: []string{"Organization.Read.All", "Organization.ReadWrite.All"}, alsoOK: dirRead}
	permCatalog      = permSet{teams: true, anyOf: []string{"AppCatalog.Read.All", "AppCatalog.ReadWrite.All"}, alsoOK: dirRead}

	permUserAppsRead  = installPerms("User", true)
	permUserAppsWrite = installPerms("User", false)
	permChatAppsRead  = installPerms("Chat", true)
	permChatAppsWrite = installPerms("Chat", false)
	permTeamAppsRead  = installPerms("Team", true)
	permTeamAppsWrite = installPerms("Team", false)
)

// installPerms are the TeamsAppInstallation permissions of a scope (User,
// Chat, Team): reading accepts Read…, ReadWriteSelf… and ReadWrite…
// (the list the 403 names); writing needs ReadWriteSelf… or ReadWrite…,
// and the …AndConsent… variants do both.
func installPerms(scope string, read bool) permSet {
	p := func(kind string) string { return "TeamsAppInstallation." + kind + "For" + scope + ".All" }
	consent := []string{p("ReadWriteAndConsentSelf"), p("ReadWriteAndConsent")}
	if read {
		return permSet{teams: true, anyOf: []string{p("Read"), p("ReadWriteSelf"), p("ReadWrite")}, alsoOK: consent}
	}
	return permSet{teams: true, anyOf: append([]string{p("ReadWriteSelf"), p("ReadWrite")}, consent...)}
}

// consentPerms are the permissions an install of an app with
// resource-specific permissions needs in scope.
func consentPerms(scope string) permSet {
	p := func(kind string) string { return "TeamsAppInstallation." + kind + "For" + scope + ".All" }
	return permSet{teams: true, anyOf: []string{p("ReadWriteAndConsentSelf"), p("ReadWriteAndConsent")}}
}

// allow checks the tenant's granted permissions against what a route needs.
func (s GraphSettings) allow(need permSet) error {
	if len(need.anyOf) == 0 {
		return nil
	}
	for _, p := range s.permissions() {
		if slices.Contains(need.anyOf, p) || slices.Contains(need.alsoOK, p) {
			return nil
		}
	}
	if !need.teams {
		return &graphError{status: http.StatusForbidden, code: "Authorization_RequestDenied",
			message: "Insufficient privileges to complete the operation."}
	}
	return &graphError{status: http.StatusForbidden, code: "Forbidden", message: fmt.Sprintf(
		"Missing role permissions on the request. API requires one of '%s'. Roles on the request '%s'.",
		strings.Join(need.anyOf, ", "), strings.Join(s.permissions(), ", "))}
}

// scopeResource returns the resource a token request's scope names: the
// Bot Framework or Microsoft Graph (".default" of one resource, next to the
// OpenID scopes MSAL may add).
func scopeResource(scope string) (string, bool) {
	found := ""
	for _, s := range strings.Fields(scope) {
		res := ""
		switch s {
		case ConnectorAudience + "/.default", ConnectorAudience + "//.default":
			res = ConnectorAudience
		case GraphAudience + "/.default", GraphAudience + "//.default", graphAppID + "/.default":
			res = GraphAudience
		case "openid", "profile", "offline_access":
			continue
		default:
			return "", false
		}
		if found != "" && found != res {
			return "", false
		}
		found = res
	}
	return found, found != ""
}

// graphTokenClaims turns a token's claims into a Graph token's for tenant
// tid: audience Graph and the granted permissions as roles. It refuses
// the botframework.com tenant (Graph tokens come from the customer's
// tenant) and tenants whose admin never consented.
func (e *Emulator) graphTokenClaims(tid string, claims jwt.MapClaims) *oauthError {
	if tid == BotFrameworkTenantID {
		return &oauthError{Error: "invalid_scope", Codes: []int{1002012}, Description: "AADSTS1002012: " +
			"Microsoft Graph tokens are issued by the customer's tenant: request them from /{tenant}/oauth2/v2.0/token, not botframework.com."}
	}
	e.mu.Lock()
	s := e.graphSettings(tid)
	e.mu.Unlock()
	if s.NotConsented {
		return &oauthError{Error: "unauthorized_client", Codes: []int{700016}, Description: "AADSTS700016: Application with identifier '" +
			e.cfg.AppID + "' was not found in the directory '" + tid + "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."}
	}
	claims["aud"] = GraphAudience
	claims["idtyp"] = "app"
	claims["app_displayname"] = e.cfg.BotName
	if roles := s.permissions(); len(roles) > 0 {
		claims["roles"] = roles
	}
	return nil
}

// verifyGraphToken checks a Graph request's bearer token and returns its
// tenant: RS256 by a published key, audience Graph, issued for the bot's
// app id, in date. A Connector token is refused (wrong audience).
func (e *Emulator) verifyGraphToken(r *http.Request) (string, error) {
	deny := func(msg string) error {
		g := gErr(http.StatusUnauthorized, "InvalidAuthenticationToken", "%s", msg)
		g.header = http.Header{"Www-Authenticate": {`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="` + graphAppID + `"`}}
		return g
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return "", deny("Access token is empty.")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k := e.keys.lookup(kid)
		if k == nil {
			return nil, fmt.Errorf("unknown key %q", kid)
		}
		return &k.priv.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(e.now), jwt.WithExpirationRequired())
	switch {
	case err != nil:
		return "", deny("Access token validation failure: " + err.Error())
	case !audienceIs(claims, GraphAudience):
		return "", deny("Access token validation failure. Invalid audience.")
	}
	if appID, _ := claims["appid"].(string); appID != e.cfg.AppID {
		return "", deny("Access token validation failure: the token is not for this application.")
	}
	tid, _ := claims["tid"].(string)
	if iss, _ := claims["iss"].(string); iss != "https://sts.windows.net/"+tid+"/" {
		return "", deny("Access token validation failure. Invalid issuer.")
	}
	return tid, nil
}

func audienceIs(claims jwt.MapClaims, want string) bool {
	aud, err := claims.GetAudience()
	return err == nil && slices.Contains(aud, want)
}
