package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// TeamsApp is an app of the tenant's Teams app catalog.
type TeamsApp struct {
	// ID is the catalog id, used to install; for an app uploaded to the
	// organisation's catalog it differs from the manifest id.
	ID string `json:"id"`
	// ExternalID is the manifest id (empty for Store apps).
	ExternalID  string `json:"externalId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	// DistributionMethod is "organization", "store" or "sideloaded".
	DistributionMethod string          `json:"distributionMethod,omitempty"`
	AppDefinitions     []AppDefinition `json:"appDefinitions,omitempty"`
}

// AppDefinition is one version of a catalog app.
type AppDefinition struct {
	ID              string            `json:"id"`
	TeamsAppID      string            `json:"teamsAppId,omitempty"`
	Version         string            `json:"version,omitempty"`
	PublishingState string            `json:"publishingState,omitempty"` // "published", "submitted", "rejected"
	Authorization   *AppAuthorization `json:"authorization,omitempty"`
}

// AppAuthorization is what an app definition asks for.
type AppAuthorization struct {
	ClientAppID           string        `json:"clientAppId,omitempty"`
	RequiredPermissionSet PermissionSet `json:"requiredPermissionSet"`
}

// PermissionSet is a set of resource-specific (RSC) permissions: what an
// app definition requires, or the consentedPermissionSet of an install.
type PermissionSet struct {
	ResourceSpecificPermissions []ResourceSpecificPermission `json:"resourceSpecificPermissions"`
}

// ResourceSpecificPermission is one RSC permission, e.g.
// ChatMessageReadReceipt.Read.Chat of type "Application".
type ResourceSpecificPermission struct {
	PermissionValue string `json:"permissionValue"`
	PermissionType  string `json:"permissionType"` // "Application" or "Delegated"
}

// ConsentSet returns the consentedPermissionSet an install of the app
// must carry: the application RSC permissions of its published definition
// (else its first). Delegated ones may be left out. Nil when the app
// declares none, so installs need no consent.
func (a *TeamsApp) ConsentSet() *PermissionSet {
	var def *AppDefinition
	for i := range a.AppDefinitions {
		d := &a.AppDefinitions[i]
		if def == nil || d.PublishingState == "published" && def.PublishingState != "published" {
			def = d
		}
	}
	if def == nil || def.Authorization == nil {
		return nil
	}
	var set PermissionSet
	for _, p := range def.Authorization.RequiredPermissionSet.ResourceSpecificPermissions {
		if strings.EqualFold(p.PermissionType, "Application") {
			set.ResourceSpecificPermissions = append(set.ResourceSpecificPermissions, p)
		}
	}
	if len(set.ResourceSpecificPermissions) == 0 {
		return nil
	}
	return &set
}

// AppByExternalID finds the catalog app whose manifest id is manifestID,
// with its definitions (for ConsentSet). None, or one the tenant's app
// policy hides, is an error matching ErrNotFound. It needs
// AppCatalog.Read.All.
func (c *Client) AppByExternalID(ctx context.Context, manifestID string) (*TeamsApp, error) {
	const op = "find catalog app"
	if manifestID == "" || strings.ContainsAny(manifestID, "\x00\r\n") {
		return nil, fmt.Errorf("%s: %w: manifest id %q", op, ErrInvalidArgument, manifestID)
	}
	var page struct {
		Value []TeamsApp `json:"value"`
	}
	cl := call{op: op, method: http.MethodGet, path: "/appCatalogs/teamsApps",
		query: query{}.add("$filter", "externalId eq "+quote(manifestID)).add("$expand", "appDefinitions").String()}
	if err := c.get(ctx, cl, &page); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, fmt.Errorf("%s %q: %w", op, manifestID, ErrNotFound)
	}
	return &page.Value[0], nil
}

// Scope is where an app is installed.
type Scope string

// Installation scopes.
const (
	ScopeUser Scope = "user" // a person's personal scope: /users/{id}/teamwork/installedApps
	ScopeChat Scope = "chat" // a group or meeting chat: /chats/{id}/installedApps
	ScopeTeam Scope = "team" // a team: /teams/{id}/installedApps
)

// installedAppsPath returns the escaped installedApps collection of one
// user, chat or team, and the permissions installing there needs (with
// consent: the …AndConsent… variant).
func installedAppsPath(op string, scope Scope, id string, consent bool) (string, []string, error) {
	esc, err := seg(op, string(scope)+" id", id)
	if err != nil {
		return "", nil, err
	}
	switch scope {
	case ScopeUser:
		return "/users/" + esc + "/teamwork/installedApps", pick(consent, PermInstallConsentForUser, PermInstallForUser), nil
	case ScopeChat:
		return "/chats/" + esc + "/installedApps", pick(consent, PermInstallConsentForChat, PermInstallForChat), nil
	case ScopeTeam:
		return "/teams/" + esc + "/installedApps", pick(consent, PermInstallConsentForTeam, PermInstallForTeam), nil
	}
	return "", nil, fmt.Errorf("%s: %w: scope %q", op, ErrInvalidArgument, scope)
}

func pick(consent bool, withConsent, without string) []string {
	if consent {
		return []string{withConsent}
	}
	return []string{without}
}

// AppInstallation is an app installed in a user's personal scope, a chat
// or a team. Its ID is the installation's, not the app's.
type AppInstallation struct {
	ID                     string         `json:"id"`
	TeamsApp               *TeamsApp      `json:"teamsApp,omitempty"`
	ConsentedPermissionSet *PermissionSet `json:"consentedPermissionSet,omitempty"`
}

// InstallResult says what an install did.
type InstallResult string

// Install results.
const (
	// Installed: Graph installed the app (201, or 200 for a team).
	Installed InstallResult = "installed"
	// AlreadyInstalled: Graph answered 409, the app was there already.
	AlreadyInstalled InstallResult = "already-installed"
)

// Install installs the catalog app teamsAppID for a user (scope user, id
// the user's Entra id or UPN), into a chat or into a team. consent must be
// the app's ConsentSet when it declares application RSC permissions (the
// install then needs the …AndConsent… permission), else nil. A 409 is not
// an error: the result is AlreadyInstalled.
func (c *Client) Install(ctx context.Context, scope Scope, id, teamsAppID string, consent *PermissionSet) (InstallResult, error) {
	op := "install app for " + string(scope)
	path, required, err := installedAppsPath(op, scope, id, consent != nil)
	if err != nil {
		return "", err
	}
	appID, err := seg(op, "teams app id", teamsAppID)
	if err != nil {
		return "", err
	}
	body := struct {
		TeamsApp string         `json:"teamsApp@odata.bind"`
		Consent  *PermissionSet `json:"consentedPermissionSet,omitempty"`
	}{c.baseURL + "/appCatalogs/teamsApps/" + appID, consent}
	_, err = c.send(ctx, call{op: op, method: http.MethodPost, path: path, body: body, required: required})
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusConflict {
		return AlreadyInstalled, nil
	}
	if err != nil {
		return "", err
	}
	return Installed, nil
}

// InstalledApps lists the apps installed for a user, in a chat or in a
// team, with their catalog app; teamsAppID, when not empty, keeps only
// that app's installation.
func (c *Client) InstalledApps(scope Scope, id, teamsAppID string) *Pager[AppInstallation] {
	op := "list installed apps of " + string(scope)
	path, required, err := installedAppsPath(op, scope, id, false)
	if err != nil {
		return failedPager[AppInstallation](c, op, err)
	}
	qs := query{}.add("$expand", "teamsApp")
	if teamsAppID != "" {
		qs = qs.add("$filter", "teamsApp/id eq "+quote(teamsAppID))
	}
	return newPager[AppInstallation](c, call{op: op, method: http.MethodGet, path: path, query: qs.String(), required: required})
}

// Installation returns the installation of the catalog app teamsAppID
// for a user, in a chat or in a team; none is an error matching
// ErrNotFound.
func (c *Client) Installation(ctx context.Context, scope Scope, id, teamsAppID string) (*AppInstallation, error) {
	if teamsAppID == "" {
		return nil, fmt.Errorf("find installation: %w: empty teams app id", ErrInvalidArgument)
	}
	p := c.InstalledApps(scope, id, teamsAppID)
	for p.More() {
		page, err := p.Next(ctx)
		if err != nil {
			return nil, err
		}
		for i := range page {
			if page[i].TeamsApp == nil || page[i].TeamsApp.ID == teamsAppID {
				return &page[i], nil
			}
		}
	}
	return nil, fmt.Errorf("find installation of %s for %s: %w", teamsAppID, scope, ErrNotFound)
}

// InstallationChat returns the id of the chat between the app and the user
// of a personal-scope installation (GET …/installedApps/{id}/chat): a
// conversation id the Bot Connector accepts.
func (c *Client) InstallationChat(ctx context.Context, userID, installationID string) (string, error) {
	const op = "get installation chat"
	path, required, err := installedAppsPath(op, ScopeUser, userID, false)
	if err != nil {
		return "", err
	}
	inst, err := seg(op, "installation id", installationID)
	if err != nil {
		return "", err
	}
	var chat struct {
		ID string `json:"id"`
	}
	if err := c.get(ctx, call{op: op, method: http.MethodGet, path: path + "/" + inst + "/chat", required: required}, &chat); err != nil {
		return "", err
	}
	if chat.ID == "" {
		return "", fmt.Errorf("%s: %w", op, &responseError{err: errors.New("chat has no id")})
	}
	return chat.ID, nil
}

// PersonalChat makes sure the app is installed for the user and returns
// the id of their chat with it: install (201, or 409 already installed),
// find the installation, read its chat. Each step is idempotent, so the
// whole may be repeated under Retry. Right after a 201 the listing may lag
// behind the install (inferred, as for any directory write): an error
// matching ErrNotFound then deserves one later attempt before the
// recipient is given up.
func (c *Client) PersonalChat(ctx context.Context, userID, teamsAppID string, consent *PermissionSet) (string, InstallResult, error) {
	res, err := c.Install(ctx, ScopeUser, userID, teamsAppID, consent)
	if err != nil {
		return "", "", err
	}
	inst, err := c.Installation(ctx, ScopeUser, userID, teamsAppID)
	if err != nil {
		return "", res, err
	}
	chatID, err := c.InstallationChat(ctx, userID, inst.ID)
	return chatID, res, err
}

// UserInstallAvailable reports whether Graph lets an application install
// apps in users' personal scope in the base URL's cloud. It does not in
// GCC High (graph.microsoft.us), DoD (dod-graph.microsoft.us) and China
// (microsoftgraph.chinacloudapi.cn): say so once, up front.
func (c *Client) UserInstallAvailable() bool {
	switch strings.ToLower(c.base.Hostname()) {
	case "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn":
		return false
	}
	return true
}
