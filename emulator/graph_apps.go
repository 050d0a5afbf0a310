package emulator

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// herald's manifest packager names the Teams app of a bot with a
// name-based (version 5) UUID of the bot id in this namespace, so the
// catalog holds by default the app `herald manifest` packages.
const teamsAppNamespace = "0a2dd685-d53b-471d-b21f-64c859e0f82b"

// uuid5 returns the name-based (SHA-1, version 5) UUID of name in ns.
func uuid5(ns, name string) string {
	nsb, _ := hex.DecodeString(strings.ReplaceAll(ns, "-", ""))
	h := sha1.New()
	h.Write(nsb)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatGUID(u)
}

// TeamsAppID returns the bot's Teams app id (the manifest's "id", the
// catalog app's externalId): Config.TeamsAppID, or the one Herald's
// manifest packager derives from the app id.
func (e *Emulator) TeamsAppID() string {
	if e.cfg.TeamsAppID != "" {
		return strings.ToLower(e.cfg.TeamsAppID)
	}
	return uuid5(teamsAppNamespace, strings.ToLower(e.cfg.AppID))
}

// CatalogAppID returns the id of the bot's app in a tenant's org catalog
// (the teamsApp id installs bind to). Like Teams, it differs from the
// manifest id, and from tenant to tenant.
func (e *Emulator) CatalogAppID(tenantID string) string {
	return uuid5(teamsAppNamespace, "catalog\x00"+strings.ToLower(e.cfg.AppID)+"\x00"+strings.ToLower(tenantID))
}

// catalogApp is the bot's teamsApp in the tenant's catalog, with its
// definition when expanded.
func (e *Emulator) catalogApp(c *graphCall, expandDefs bool) map[string]any {
	app := map[string]any{"id": e.CatalogAppID(c.tenant.id), "externalId": e.TeamsAppID(),
		"displayName": e.cfg.BotName, "distributionMethod": "organization"}
	if expandDefs {
		app["appDefinitions"] = []any{e.appDefinition(c)}
	}
	return app
}

func (e *Emulator) appDefinition(c *graphCall) map[string]any {
	catID := e.CatalogAppID(c.tenant.id)
	rsc := []any{}
	for _, p := range c.settings.ResourceSpecificPermissions {
		rsc = append(rsc, map[string]any{"permissionValue": p, "permissionType": "Application"})
	}
	return map[string]any{"id": base64.StdEncoding.EncodeToString([]byte(catID + "##1.0.0##Published")),
		"teamsAppId": catID, "displayName": e.cfg.BotName, "version": "1.0.0", "publishingState": "published",
		"description":   e.cfg.BotName + " sends notifications.",
		"authorization": map[string]any{"requiredPermissionSet": map[string]any{"resourceSpecificPermissions": rsc}}}
}

// gCatalog is GET /appCatalogs/teamsApps: the bot's app, when the tenant's
// catalog has it, filtered ($filter=externalId eq '…', id eq '…',
// distributionMethod eq 'organization') and with $expand=appDefinitions.
func (e *Emulator) gCatalog(c *graphCall) (graphResult, error) {
	if err := c.q.only("$filter", "$expand", "$select"); err != nil {
		return graphResult{}, err
	}
	expand := false
	for _, x := range c.q.expand {
		if x != "appDefinitions" {
			return graphResult{}, gBadRequest("Could not find a property named '%s' on type 'microsoft.graph.teamsApp'.", x)
		}
		expand = true
	}
	var value []any
	if !c.settings.AppNotInCatalog {
		app := e.catalogApp(c, expand)
		if c.q.filter == nil || c.q.filter.match(app, nil) {
			value = append(value, app)
		}
	}
	return graphResult{status: http.StatusOK, body: map[string]any{"@odata.context": e.odataContext("appCatalogs/teamsApps"), "value": nonNil(value)}}, nil
}

// installBody is the body of POST …/installedApps.
type installBody struct {
	Bind    string `json:"teamsApp@odata.bind"`
	Consent *struct {
		RSC []struct {
			Value string `json:"permissionValue"`
			Type  string `json:"permissionType"`
		} `json:"resourceSpecificPermissions"`
	} `json:"consentedPermissionSet"`
}

// checkInstall validates an install request of scope (User, Chat, Team):
// the bound app must be the bot's app in the tenant's catalog, and an app
// with resource-specific permissions needs the …AndConsent… permissions
// and a consentedPermissionSet equal to its application permissions.
func (e *Emulator) checkInstall(c *graphCall, scope string) error {
	var b installBody
	if err := e.decodeGraphBody(c, &b); err != nil {
		return err
	}
	if b.Bind == "" {
		return gBadRequest("The request body must bind the app: \"teamsApp@odata.bind\": \"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{id}\".")
	}
	_, appID, ok := strings.Cut(b.Bind, "/appCatalogs/teamsApps/")
	if !ok || appID == "" || strings.Contains(appID, "/") {
		return gBadRequest("teamsApp@odata.bind '%s' does not name a teamsApp.", b.Bind)
	}
	if c.settings.AppNotInCatalog || !strings.EqualFold(appID, e.CatalogAppID(c.tenant.id)) {
		return gErr(http.StatusNotFound, "NotFound", "The app with id '%s' was not found in the tenant's app catalog.", appID)
	}
	need := c.settings.ResourceSpecificPermissions
	if len(need) == 0 {
		return nil
	}
	if err := c.settings.allow(consentPerms(scope)); err != nil {
		return err
	}
	var got []string
	if b.Consent != nil {
		for _, p := range b.Consent.RSC {
			if p.Type == "Application" {
				got = append(got, p.Value)
			}
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(need))
	if !slices.Equal(got, want) {
		return gBadRequest("The consentedPermissionSet must list the app's resource-specific application permissions: %s.", strings.Join(want, ", "))
	}
	return nil
}

// installationID is the id of the bot's installation in a scope (a user's
// object id, a chat or team id), stable like Graph's.
func (e *Emulator) installationID(c *graphCall, scopeID string) string {
	return base64.StdEncoding.EncodeToString([]byte(scopeID + "##" + e.CatalogAppID(c.tenant.id)))
}

// installation is the bot's installation object, with the expansions the
// query asks for; listInstallations filters and expands a scope's list.
func (e *Emulator) installation(c *graphCall, scopeID, odataType string) map[string]any {
	return map[string]any{"@odata.type": odataType, "id": e.installationID(c, scopeID),
		"teamsApp": e.catalogApp(c, false), "teamsAppDefinition": e.appDefinition(c), "consentedPermissionSet": nil}
}

func (e *Emulator) listInstallations(c *graphCall, installed bool, scopeID, odataType string) (graphResult, error) {
	if err := c.q.only("$filter", "$expand", "$select"); err != nil {
		return graphResult{}, err
	}
	for _, x := range c.q.expand {
		if x != "teamsApp" && x != "teamsAppDefinition" {
			return graphResult{}, gBadRequest("Could not find a property named '%s' on type 'microsoft.graph.teamsAppInstallation'.", x)
		}
	}
	var value []any
	if installed && !c.settings.AppNotInCatalog {
		inst := e.installation(c, scopeID, odataType)
		if c.q.filter == nil || c.q.filter.match(inst, nil) {
			value = append(value, e.expanded(c, inst))
		}
	}
	return graphResult{status: http.StatusOK, body: map[string]any{"@odata.context": e.odataContext("installedApps"), "value": nonNil(value)}}, nil
}

// expanded drops the navigation properties the query did not $expand.
func (e *Emulator) expanded(c *graphCall, inst map[string]any) map[string]any {
	for _, nav := range []string{"teamsApp", "teamsAppDefinition"} {
		if !slices.Contains(c.q.expand, nav) {
			delete(inst, nav)
		}
	}
	return inst
}

// deliverLater posts activities to the bot after the Graph answer, as
// Teams sends the events of a Graph install on its own time. At most a few
// such deliveries run at once.
func (e *Emulator) deliverLater(acts []inbound) {
	if len(acts) == 0 {
		return
	}
	go func() {
		select {
		case e.graphEvents <- struct{}{}:
		case <-e.closed:
			return
		}
		defer func() { <-e.graphEvents }()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-e.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		e.deliver(ctx, acts)
	}()
}
