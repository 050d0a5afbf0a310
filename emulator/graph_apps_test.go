package emulator_test

import (
	"net/url"
	"strings"
	"testing"

	"herald/emulator"
	"herald/teamsapp"
)

func TestGraphCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	if got, want := b.em.TeamsAppID(), teamsapp.DeriveAppID(emulator.DefaultAppID); got != want {
		t.Fatalf("catalog externalId %s, herald manifest id %s", got, want)
	}
	q := "/appCatalogs/teamsApps?$filter=" + url.QueryEscape("externalId eq '"+b.em.TeamsAppID()+"'")
	apps := values(t, g.get(t, q+"&$expand=appDefinitions"))
	if len(apps) != 1 || apps[0]["id"] != b.em.CatalogAppID(d.TenantID) || apps[0]["externalId"] != b.em.TeamsAppID() ||
		apps[0]["distributionMethod"] != "organization" || apps[0]["id"] == apps[0]["externalId"] {
		t.Fatalf("catalog %v", apps)
	}
	if defs := apps[0]["appDefinitions"].([]any); len(defs) != 1 || defs[0].(map[string]any)["teamsAppId"] != apps[0]["id"] {
		t.Fatalf("appDefinitions %v", defs)
	}
	if other := values(t, g.get(t, "/appCatalogs/teamsApps?$filter="+url.QueryEscape("externalId eq 'someone-else'"))); len(other) != 0 {
		t.Fatalf("other app %v", other)
	}
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{AppNotInCatalog: true}))
	if gone := values(t, g.get(t, q)); len(gone) != 0 {
		t.Fatalf("app not in catalog, found %v", gone)
	}
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{emulator.PermUserReadAll}}))
	r := g.do(t, "GET", q, nil)
	if r.status != 403 || r.errorCode() != "Forbidden" ||
		r.errorMessage() != "Missing role permissions on the request. API requires one of 'AppCatalog.Read.All, AppCatalog.ReadWrite.All'. Roles on the request 'User.Read.All'." {
		t.Fatalf("without AppCatalog.Read.All: %d %s", r.status, r.body)
	}
}

func TestGraphUserInstall(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	bob := d.Users[1]
	if apps := values(t, g.get(t, "/users/"+bob.AADObjectID+"/teamwork/installedApps")); len(apps) != 0 {
		t.Fatalf("installed before install: %v", apps)
	}
	if r := g.do(t, "POST", "/users/"+bob.AADObjectID+"/teamwork/installedApps", installBind(b.em, d.TenantID)); r.status != 201 || len(r.body) != 0 {
		t.Fatalf("install: %d %s", r.status, r.body)
	}
	// Teams then sends the bot what a personal install sends.
	acts := b.bot.await(t, 2)
	inst, upd := acts[0], acts[1]
	personal, ok := b.em.PersonalConversation(bob.ID)
	if !ok || inst.Type != "installationUpdate" || inst.Action != "add" || upd.Type != "conversationUpdate" || !upd.BotAdded() ||
		upd.Conversation.ID != personal || upd.Conversation.ConversationType != "personal" || upd.MembersAdded[1].AADObjectID != bob.AADObjectID {
		t.Fatalf("events %+v %+v", inst, upd)
	}
	filter := url.QueryEscape("teamsApp/id eq '" + b.em.CatalogAppID(d.TenantID) + "'")
	apps := values(t, g.get(t, "/users/"+bob.UPN+"/teamwork/installedApps?$expand=teamsApp&$filter="+filter))
	if len(apps) != 1 || apps[0]["teamsApp"].(map[string]any)["externalId"] != b.em.TeamsAppID() || apps[0]["teamsAppDefinition"] != nil {
		t.Fatalf("installedApps %v", apps)
	}
	instID := apps[0]["id"].(string)
	if instID == b.em.CatalogAppID(d.TenantID) {
		t.Fatal("installation id is the app id")
	}
	chat := g.get(t, "/users/"+bob.AADObjectID+"/teamwork/installedApps/"+url.PathEscape(instID)+"/chat")
	if chat["id"] != personal || chat["chatType"] != "oneOnOne" || chat["tenantId"] != d.TenantID {
		t.Fatalf("chat %v, personal conversation %s", chat, personal)
	}
	// The Connector takes that chat id.
	if r := b.call(t, "POST", "v3/conversations/"+esc(personal)+"/activities", message("hello Bob")); r.status != 201 {
		t.Fatalf("send to the installation's chat: %d %s", r.status, r.body)
	}
	r := g.do(t, "POST", "/users/"+bob.AADObjectID+"/teamwork/installedApps", installBind(b.em, d.TenantID))
	if r.status != 409 || r.errorCode() != "Conflict" {
		t.Fatalf("second install: %d %s", r.status, r.body)
	}
	if one := g.get(t, "/users/"+bob.AADObjectID+"/teamwork/installedApps/"+url.PathEscape(instID)+"?$expand=teamsAppDefinition"); one["teamsAppDefinition"] == nil {
		t.Fatalf("installation %v", one)
	}
	// Uninstall: 204 and the remove events; the chat is gone from Graph.
	if r := g.do(t, "DELETE", "/users/"+bob.AADObjectID+"/teamwork/installedApps/"+url.PathEscape(instID), nil); r.status != 204 {
		t.Fatalf("uninstall: %d %s", r.status, r.body)
	}
	if acts := b.bot.await(t, 4); acts[2].Action != "remove" || len(acts[3].MembersRemoved) != 1 {
		t.Fatalf("uninstall events %+v", acts[2:])
	}
	if r := g.do(t, "GET", "/users/"+bob.AADObjectID+"/teamwork/installedApps/"+url.PathEscape(instID)+"/chat", nil); r.status != 404 {
		t.Fatalf("chat after uninstall: %d %s", r.status, r.body)
	}
}

func TestGraphInstallRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	bind := installBind(b.em, d.TenantID)
	install := func(u emulator.User, body any) reply {
		return g.do(t, "POST", "/users/"+u.AADObjectID+"/teamwork/installedApps", body)
	}
	oskar, vera, yusuf, carol := d.Users[40], d.Users[46], d.Users[48], d.Users[2]
	checks := []struct {
		name     string
		settings *emulator.GraphSettings
		user     emulator.User
		body     any
		status   int
		code     string
		msg      string
	}{
		{"no teams licence", nil, oskar, bind, 403, "Forbidden", "Failed to get license information for the user. Ensure user has a valid Office365 license assigned to them."},
		{"disabled account", nil, vera, bind, 404, "NotFound", "User Id '" + vera.AADObjectID + "' not found."},
		{"guest", nil, yusuf, bind, 403, "Forbidden", "App is blocked by app permission policy."},
		{"blocked user", &emulator.GraphSettings{BlockedUsers: []string{carol.Email}}, carol, bind, 403, "Forbidden", "App is blocked by app permission policy."},
		{"app blocked", &emulator.GraphSettings{AppBlocked: true}, carol, bind, 403, "Forbidden", "App is blocked by app permission policy."},
		{"not in catalog", &emulator.GraphSettings{AppNotInCatalog: true}, carol, bind, 404, "NotFound", ""},
		{"wrong app", nil, carol, map[string]any{"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/nope"}, 404, "NotFound", ""},
		{"no bind", nil, carol, map[string]any{}, 400, "BadRequest", ""},
		{"no permission", &emulator.GraphSettings{Permissions: []string{"User.Read.All", "TeamsAppInstallation.ReadForUser.All"}}, carol, bind, 403, "Forbidden",
			"Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All, " +
				"TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All, TeamsAppInstallation.ReadWriteAndConsentForUser.All'. Roles on the request 'User.Read.All, TeamsAppInstallation.ReadForUser.All'."},
		{"rsc without consent permission", &emulator.GraphSettings{ResourceSpecificPermissions: []string{"ChatMessageReadReceipt.Read.Chat"}}, carol, bind, 403, "Forbidden",
			"Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All, TeamsAppInstallation.ReadWriteAndConsentForUser.All'."},
		{"rsc without consentedPermissionSet", &emulator.GraphSettings{ResourceSpecificPermissions: []string{"ChatMessageReadReceipt.Read.Chat"},
			Permissions: []string{"TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All"}}, carol, bind, 400, "BadRequest", ""},
	}
	for _, c := range checks {
		s := emulator.GraphSettings{}
		if c.settings != nil {
			s = *c.settings
		}
		must(t, b.em.SetGraphSettings(d.TenantID, s))
		r := install(c.user, c.body)
		if r.status != c.status || r.errorCode() != c.code || !strings.HasPrefix(r.errorMessage(), c.msg) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	// The denied role list names the granted roles; none at all is ''.
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{}}))
	if r := g.do(t, "GET", "/users/"+carol.AADObjectID+"/teamwork/installedApps", nil); r.status != 403 || r.errorMessage() !=
		"Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadForUser.All, TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All'. Roles on the request ''." {
		t.Fatalf("no roles: %d %s", r.status, r.body)
	}
	// With the consent permission and the permission set, an RSC app installs.
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{ResourceSpecificPermissions: []string{"ChatMessageReadReceipt.Read.Chat"},
		Permissions: []string{"TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All"}, GuestInstalls: true}))
	rsc := installBind(b.em, d.TenantID)
	rsc["consentedPermissionSet"] = map[string]any{"resourceSpecificPermissions": []any{
		map[string]any{"permissionValue": "ChatMessageReadReceipt.Read.Chat", "permissionType": "Application"}}}
	for _, u := range []emulator.User{carol, yusuf} {
		if r := install(u, rsc); r.status != 201 {
			t.Fatalf("rsc install for %s: %d %s", u.Name, r.status, r.body)
		}
	}
	if r := g.do(t, "POST", "/users/0b0b0b0b-0000-4000-8000-000000000000/teamwork/installedApps", rsc); r.status != 404 || r.errorCode() != "NotFound" {
		t.Fatalf("unknown user: %d %s", r.status, r.body)
	}
}

func TestGraphChatAndTeamInstall(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	chat, err := b.em.AddGroupChat(ctx(t), emulator.GroupChatSpec{Topic: "Lunch", Members: []string{d.Users[0].ID, d.Users[1].ID, d.Users[2].ID}, WithoutBot: true})
	must(t, err)
	path := "/chats/" + url.PathEscape(chat.ConversationID) + "/installedApps"
	if apps := values(t, g.get(t, path)); len(apps) != 0 {
		t.Fatalf("chat apps before install %v", apps)
	}
	if r := g.do(t, "POST", path, installBind(b.em, d.TenantID)); r.status != 201 {
		t.Fatalf("chat install: %d %s", r.status, r.body)
	}
	acts := b.bot.await(t, 2)
	if acts[0].Type != "installationUpdate" || acts[1].Conversation.ID != chat.ConversationID || acts[1].Conversation.ConversationType != "groupChat" || !acts[1].BotAdded() {
		t.Fatalf("chat install events %+v", acts)
	}
	if r := g.do(t, "POST", path, installBind(b.em, d.TenantID)); r.status != 409 {
		t.Fatalf("second chat install: %d %s", r.status, r.body)
	}
	if apps := values(t, g.get(t, path+"?$expand=teamsApp")); len(apps) != 1 || apps[0]["teamsApp"] == nil {
		t.Fatalf("chat apps %v", apps)
	}
	team := d.Teams[1]
	tpath := "/teams/" + team.AADGroupID + "/installedApps"
	if r := g.do(t, "POST", tpath, installBind(b.em, d.TenantID)); r.status != 200 {
		t.Fatalf("team install: %d %s", r.status, r.body)
	}
	acts = b.bot.await(t, 4)
	if acts[2].Type != "installationUpdate" || acts[3].Conversation.ID != team.ID || acts[3].Team() == nil || !acts[3].BotAdded() {
		t.Fatalf("team install events %+v", acts[2:])
	}
	if r := g.do(t, "POST", tpath, installBind(b.em, d.TenantID)); r.status != 409 {
		t.Fatalf("second team install: %d %s", r.status, r.body)
	}
	if apps := values(t, g.get(t, tpath)); len(apps) != 1 {
		t.Fatalf("team apps %v", apps)
	}
	for _, p := range []string{"/teams/" + url.PathEscape(team.ID) + "/installedApps", "/chats/" + url.PathEscape(team.ID) + "/installedApps"} {
		if r := g.do(t, "POST", p, installBind(b.em, d.TenantID)); r.status != 404 {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}
