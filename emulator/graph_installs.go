package emulator

import (
	"net/http"
	"strings"
	"time"

	"herald/botframework"
)

// Installation types, as @odata.type says them.
const (
	userInstallationType = "#microsoft.graph.userScopeTeamsAppInstallation"
	installationType     = "#microsoft.graph.teamsAppInstallation"
)

// teamworkUser finds the user of a /users/{id}/teamwork route. Teams knows
// no disabled account (404, inferred from teams-protocol-2026.md §2.3) and
// refuses every call about a user without a Teams licence (403). Caller
// holds e.mu.
func (e *Emulator) teamworkUser(c *graphCall) (*user, error) {
	key := c.r.PathValue("id")
	u, err := e.graphUser(c, key)
	switch {
	case err != nil || u.dir.AccountDisabled:
		return nil, gErr(http.StatusNotFound, "NotFound", "User Id '%s' not found.", key)
	case u.dir.NoTeamsLicense:
		return nil, gErr(http.StatusForbidden, "Forbidden", "Failed to get license information for the user. Ensure user has a valid Office365 license assigned to them.")
	}
	return u, nil
}

// policyBlock refuses an install the tenant's app permission policy
// blocks: the whole app (or the admin disabled the bot), the user, or a
// guest when guests may not install it. u may be nil (chat, team). Caller
// holds e.mu.
func (e *Emulator) policyBlock(c *graphCall, u *user) error {
	blocked := c.tenant.disabled || c.settings.AppBlocked
	oid := ""
	if u != nil {
		oid = u.aadObjectID
		blocked = blocked || u.dir.Guest && !c.settings.GuestInstalls
		for _, k := range c.settings.BlockedUsers {
			blocked = blocked || strings.EqualFold(k, u.aadObjectID)
		}
	}
	if !blocked {
		return nil
	}
	g := gErr(http.StatusForbidden, "Forbidden", "App is blocked by app permission policy. TenantId: %s, UserObjectId: %s, AppId: %s, AppType: Private",
		c.tenant.id, oid, e.CatalogAppID(c.tenant.id))
	g.inner = "AccessDenied"
	return g
}

func errAlreadyInstalled(what string) error {
	return gErr(http.StatusConflict, "Conflict", "The app is already installed in this %s.", what)
}

func errNoInstallation(id string) error {
	return gErr(http.StatusNotFound, "NotFound", "The installation '%s' was not found.", id)
}

// gInstallUser is POST /users/{id}/teamwork/installedApps: 201 and the
// events Teams sends after a personal install (installationUpdate, then
// conversationUpdate with the bot and the user added), 409 when the app is
// installed, 403 and 404 as Teams refuses (licence, policy, guest,
// disabled account, app not in the catalog).
func (e *Emulator) gInstallUser(c *graphCall) (graphResult, error) {
	if err := e.checkInstall(c, "User"); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	u, err := e.teamworkUser(c)
	if err == nil {
		err = e.policyBlock(c, u)
	}
	if err == nil && u.installed && !u.removed {
		err = errAlreadyInstalled("user's personal scope")
	}
	if err != nil {
		e.mu.Unlock()
		return graphResult{}, err
	}
	u = e.keep(u)
	u.installed, u.removed = true, false
	acts := e.personalInstall(u, e.personalConv(u), botframework.ActionAdd)
	e.notifyLocked()
	e.mu.Unlock()
	e.deliverLater(acts)
	return graphResult{status: http.StatusCreated}, nil
}

// gListUserApps is GET /users/{id}/teamwork/installedApps ($expand,
// $filter=teamsApp/id eq '…' or teamsApp/externalId eq '…').
func (e *Emulator) gListUserApps(c *graphCall) (graphResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.teamworkUser(c)
	if err != nil {
		return graphResult{}, err
	}
	return e.listInstallations(c, u.installed && !u.removed, u.aadObjectID, userInstallationType)
}

// userInstallation finds the user and checks the installation id of a
// /users/{id}/teamwork/installedApps/{installationId} route. Caller holds
// e.mu.
func (e *Emulator) userInstallation(c *graphCall) (*user, error) {
	u, err := e.teamworkUser(c)
	if err != nil {
		return nil, err
	}
	id := c.r.PathValue("installationId")
	if !u.installed || u.removed || c.settings.AppNotInCatalog || id != e.installationID(c, u.aadObjectID) {
		return nil, errNoInstallation(id)
	}
	return u, nil
}

// gGetUserApp is GET /users/{id}/teamwork/installedApps/{installationId}.
func (e *Emulator) gGetUserApp(c *graphCall) (graphResult, error) {
	if err := c.q.only("$expand", "$select"); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userInstallation(c)
	if err != nil {
		return graphResult{}, err
	}
	inst := e.expanded(c, e.installation(c, u.aadObjectID, userInstallationType))
	inst["@odata.context"] = e.odataContext("installedApps/$entity")
	return graphResult{status: http.StatusOK, body: inst}, nil
}

// gUninstallUser is DELETE /users/{id}/teamwork/installedApps/{installationId}:
// 204 and the uninstall events.
func (e *Emulator) gUninstallUser(c *graphCall) (graphResult, error) {
	e.mu.Lock()
	u, err := e.userInstallation(c)
	if err != nil {
		e.mu.Unlock()
		return graphResult{}, err
	}
	u = e.keep(u)
	u.installed, u.removed = false, true
	acts := e.personalInstall(u, e.personalConv(u), botframework.ActionRemove)
	e.notifyLocked()
	e.mu.Unlock()
	e.deliverLater(acts)
	return graphResult{status: http.StatusNoContent}, nil
}

// gUserAppChat is GET /users/{id}/teamwork/installedApps/{installationId}/chat:
// the 1:1 chat between the user and the bot, whose id is the personal
// conversation id the Connector takes.
func (e *Emulator) gUserAppChat(c *graphCall) (graphResult, error) {
	if err := c.q.only("$select"); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userInstallation(c)
	if err != nil {
		return graphResult{}, err
	}
	conv := e.personalConv(u)
	chat := map[string]any{"@odata.context": e.odataContext("chats/$entity"), "id": conv.id, "topic": nil,
		"createdDateTime": conv.created.UTC().Format(time.RFC3339Nano), "lastUpdatedDateTime": conv.created.UTC().Format(time.RFC3339Nano),
		"chatType": "oneOnOne", "tenantId": c.tenant.id, "onlineMeetingInfo": nil, "viewpoint": nil,
		"webUrl": "https://teams.microsoft.com/l/chat/" + conv.id + "/0?tenantId=" + c.tenant.id}
	return graphResult{status: http.StatusOK, body: chat}, nil
}

// graphChat finds the group chat of a /chats/{id} route. Caller holds e.mu.
func (e *Emulator) graphChat(c *graphCall) (*conversation, error) {
	id := c.r.PathValue("id")
	conv := e.convs[id]
	if conv == nil || conv.kind != kindGroupChat || conv.tenantID != c.tenant.id {
		return nil, gErr(http.StatusNotFound, "NotFound", "Chat '%s' was not found.", id)
	}
	return conv, nil
}

// gListChatApps is GET /chats/{id}/installedApps.
func (e *Emulator) gListChatApps(c *graphCall) (graphResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	conv, err := e.graphChat(c)
	if err != nil {
		return graphResult{}, err
	}
	return e.listInstallations(c, conv.botInstalled, conv.id, installationType)
}

// gInstallChat is POST /chats/{id}/installedApps: 201 and the events of
// the bot joining the group chat, or 409 when it is in it.
func (e *Emulator) gInstallChat(c *graphCall) (graphResult, error) {
	if err := e.checkInstall(c, "Chat"); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	conv, err := e.graphChat(c)
	if err == nil {
		err = e.policyBlock(c, nil)
	}
	if err == nil && conv.botInstalled {
		err = errAlreadyInstalled("chat")
	}
	var acts []inbound
	if err == nil {
		if acts, err = e.setChatBotLocked(conv.id, "", true); err != nil {
			err = gBadRequest("%v", err)
		}
	}
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return graphResult{}, err
	}
	e.deliverLater(acts)
	return graphResult{status: http.StatusCreated}, nil
}

// graphTeam finds the team of a /teams/{id} route: Graph names a team by
// its group id. Caller holds e.mu.
func (e *Emulator) graphTeam(c *graphCall) (*team, error) {
	id := c.r.PathValue("id")
	for _, tid := range e.teamOrder {
		if t := e.teams[tid]; t.tenantID == c.tenant.id && strings.EqualFold(t.aadGroupID, id) {
			return t, nil
		}
	}
	return nil, gErr(http.StatusNotFound, "NotFound", "No team found with Group Id %s", id)
}

// gListTeamApps is GET /teams/{id}/installedApps.
func (e *Emulator) gListTeamApps(c *graphCall) (graphResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.graphTeam(c)
	if err != nil {
		return graphResult{}, err
	}
	return e.listInstallations(c, t.installed, t.aadGroupID, installationType)
}

// gInstallTeam is POST /teams/{id}/installedApps: the team install events
// in the General channel (no channel was selected), answered 200 as the
// stored documentation shows (teams-protocol-2026.md §2.1), or 409.
func (e *Emulator) gInstallTeam(c *graphCall) (graphResult, error) {
	if err := e.checkInstall(c, "Team"); err != nil {
		return graphResult{}, err
	}
	e.mu.Lock()
	t, err := e.graphTeam(c)
	if err == nil {
		err = e.policyBlock(c, nil)
	}
	if err == nil && t.installed {
		err = errAlreadyInstalled("team")
	}
	var acts []inbound
	if err == nil {
		if acts, _, err = e.installTeamLocked(InstallTeamSpec{TeamID: t.id}); err != nil {
			err = gBadRequest("%v", err)
		}
	}
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return graphResult{}, err
	}
	e.deliverLater(acts)
	return graphResult{status: http.StatusOK}, nil
}
