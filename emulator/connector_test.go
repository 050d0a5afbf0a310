package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"herald/emulator"
)

func TestCreatePersonalConversation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	alice, bob, carol := d.Users[0], d.Users[1], d.Users[2]
	convID := b.personal(t, alice.ID)
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: d.Teams[0].ID}); err != nil {
		t.Fatal(err)
	}
	b.bot.await(t, 4)
	outsider, _ := b.em.AddUser(emulator.UserSpec{Name: "Olga Outsider"})

	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantCode   string
		wantID     string
	}{
		{"by 29 id, installed", params(alice.ID, d.TenantID), 201, "", convID},
		{"by Entra id, installed", params(alice.AADObjectID, d.TenantID), 201, "", convID},
		{"by 29 id via shared team", params(bob.ID, d.TenantID), 201, "", ""},
		{"by Entra id, not installed", params(carol.AADObjectID, d.TenantID), 403, "ForbiddenOperationException", ""},
		{"no shared team", params(outsider.ID, d.TenantID), 403, "ForbiddenOperationException", ""},
		{"no tenant", map[string]any{"bot": map[string]any{"id": "28:x"}, "members": []any{map[string]any{"id": alice.ID}}}, 400, "BadSyntax", ""},
		{"tenant in channelData", map[string]any{"members": []any{map[string]any{"id": alice.ID}}, "channelData": map[string]any{"tenant": map[string]any{"id": d.TenantID}}}, 201, "", convID},
		{"aadObjectId field instead of id", map[string]any{"members": []any{map[string]any{"aadObjectId": alice.AADObjectID}}, "tenantId": d.TenantID}, 400, "BadArgument", ""},
		{"unknown user", params("29:1nobody", d.TenantID), 400, "BadArgument", ""},
		{"by UPN", params(alice.UPN, d.TenantID), 400, "BadArgument", ""},
		{"group chat", map[string]any{"isGroup": true, "members": []any{map[string]any{"id": alice.ID}, map[string]any{"id": bob.ID}}, "tenantId": d.TenantID}, 400, "BadSyntax", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.call(t, http.MethodPost, "v3/conversations", tt.body)
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode {
				t.Fatalf("status %d code %q (%s), want %d %q", r.status, r.errorCode(), r.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != 201 {
				return
			}
			var res struct{ ID string }
			r.decode(t, &res)
			if !strings.HasPrefix(res.ID, "a:") || tt.wantID != "" && res.ID != tt.wantID {
				t.Fatalf("id %q, want %q", res.ID, tt.wantID)
			}
		})
	}
	if r := b.call(t, http.MethodPost, "v3/conversations", params(alice.ID, d.TenantID)); !strings.Contains(string(r.body), convID) {
		t.Fatalf("creating again must return the same chat: %s", r.body)
	}
	if r := b.call(t, http.MethodPost, "v3/conversations", map[string]any{}); r.status != 400 || !strings.Contains(string(r.body), "Could not parse tenant id") {
		t.Fatalf("missing tenant: %d %s", r.status, r.body)
	}
}

func params(member, tenant string) map[string]any {
	return map[string]any{
		"bot":      map[string]any{"id": "28:" + emulator.DefaultAppID},
		"members":  []any{map[string]any{"id": member}},
		"tenantId": tenant,
	}
}

func TestSendUpdateDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	b.bot.await(t, 2)

	// Sent escaped and unescaped: both reach the same conversation.
	r1 := b.call(t, http.MethodPost, "v3/conversations/"+esc(conv)+"/activities", message("one"))
	r2 := b.call(t, http.MethodPost, "v3/conversations/"+conv+"/activities", message("two"))
	if r1.status != 201 || r2.status != 201 {
		t.Fatalf("send: %d %s / %d %s", r1.status, r1.body, r2.status, r2.body)
	}
	var sent struct{ ID string }
	r1.decode(t, &sent)
	upd := b.call(t, http.MethodPut, "v3/conversations/"+esc(conv)+"/activities/"+sent.ID, message("one, edited"))
	if upd.status != 200 || !strings.Contains(string(upd.body), sent.ID) {
		t.Fatalf("update: %d %s", upd.status, upd.body)
	}
	var second struct{ ID string }
	r2.decode(t, &second)
	if del := b.call(t, http.MethodDelete, "v3/conversations/"+esc(conv)+"/activities/"+second.ID, nil); del.status != 200 {
		t.Fatalf("delete: %d %s", del.status, del.body)
	}
	acts, err := b.em.AwaitActivities(ctx(t), conv, 4)
	if err != nil {
		t.Fatal(err)
	}
	one, two := acts[2], acts[3]
	if one.Direction != emulator.FromBot || one.Activity.Text != "one, edited" || len(one.History) != 1 ||
		one.History[0].Activity.Text != "one" || one.UpdatedAt.IsZero() {
		t.Fatalf("updated activity: %+v", one)
	}
	if !two.Deleted || two.Activity.Text != "two" {
		t.Fatalf("deleted activity: %+v", two)
	}
	if one.Activity.From.ID != "28:"+emulator.DefaultAppID || one.Activity.Conversation.ID != conv {
		t.Fatalf("Teams-set fields: from %+v conversation %+v", one.Activity.From, one.Activity.Conversation)
	}

	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown conversation", "POST", "v3/conversations/a:nope/activities", message("x"), 404, "ConversationNotFound"},
		{"update unknown activity", "PUT", "v3/conversations/" + esc(conv) + "/activities/123", message("x"), 404, "ActivityNotFoundInConversation"},
		{"update deleted activity", "PUT", "v3/conversations/" + esc(conv) + "/activities/" + second.ID, message("x"), 404, "ActivityNotFoundInConversation"},
		{"update a user's activity", "PUT", "v3/conversations/" + esc(conv) + "/activities/" + acts[0].ID, message("x"), 403, "NotEnoughPermissions"},
		{"too big", "POST", "v3/conversations/" + esc(conv) + "/activities", message(strings.Repeat("x", 101*1024)), 413, "MessageSizeTooBig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.call(t, tt.method, tt.path, tt.body)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.errorCode(), r.body, tt.status, tt.code)
			}
		})
	}
}

func TestBlockedAndUninstalled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	alice, bob := d.Users[0], d.Users[1]
	aliceChat, bobChat := b.personal(t, alice.ID), b.personal(t, bob.ID)
	if err := b.em.SetBlocked(alice.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.em.UninstallPersonal(ctx(t), bob.UPN); err != nil {
		t.Fatal(err)
	}
	acts := b.bot.await(t, 6)
	if last := acts[5]; !last.BotRemoved() || acts[4].Action != "remove" {
		t.Fatalf("uninstall events: %+v %+v", acts[4], last)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(aliceChat)+"/activities", message("hi")); r.status != 403 || r.errorCode() != "ConversationBlockedByUser" {
		t.Fatalf("blocked: %d %s", r.status, r.body)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(bobChat)+"/activities", message("hi")); r.status != 403 || r.errorCode() != "BotNotInConversationRoster" {
		t.Fatalf("uninstalled: %d %s", r.status, r.body)
	}
	if err := b.em.SetBlocked(alice.ID, false); err != nil {
		t.Fatal(err)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(aliceChat)+"/activities", message("hi")); r.status != 201 {
		t.Fatalf("unblocked: %d %s", r.status, r.body)
	}
	if err := b.em.SetTenantDisabled(d.TenantID, true); err != nil {
		t.Fatal(err)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(aliceChat)+"/activities", message("hi")); r.status != 403 || r.errorCode() != "BotDisabledByAdmin" {
		t.Fatalf("disabled: %d %s", r.status, r.body)
	}
}

func TestChannelThreads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	team := d.Teams[0]
	backend := team.Channels[1]
	post := map[string]any{
		"isGroup":     true,
		"channelData": map[string]any{"channel": map[string]any{"id": backend.ID}, "tenant": map[string]any{"id": d.TenantID}},
		"activity":    message("deploy started"),
		"tenantId":    d.TenantID,
	}
	if r := b.call(t, "POST", "v3/conversations", post); r.status != 403 || r.errorCode() != "BotNotInConversationRoster" {
		t.Fatalf("thread before install: %d %s", r.status, r.body)
	}
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID, ChannelID: backend.ID}); err != nil {
		t.Fatal(err)
	}
	r := b.call(t, "POST", "v3/conversations", post)
	var res struct{ ID, ActivityID string }
	r.decode(t, &res)
	if r.status != 201 || res.ID != backend.ID+";messageid="+res.ActivityID {
		t.Fatalf("create thread: %d %s", r.status, r.body)
	}
	// Reply by thread id, and by channel id + reply-to.
	if r := b.call(t, "POST", "v3/conversations/"+esc(res.ID)+"/activities", message("step 1")); r.status != 201 {
		t.Fatalf("send to thread: %d %s", r.status, r.body)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(backend.ID)+"/activities/"+res.ActivityID, message("step 2")); r.status != 201 {
		t.Fatalf("reply in channel: %d %s", r.status, r.body)
	}
	thread := b.em.Activities(res.ID)
	if len(thread) != 3 || thread[0].Activity.Text != "deploy started" || thread[2].Activity.Text != "step 2" || thread[2].Activity.ReplyToID != res.ActivityID {
		t.Fatalf("thread: %+v", thread)
	}
	roots := b.em.Activities(backend.ID)
	if n := len(roots); n != 3 || roots[2].Activity.Text != "deploy started" { // install events, then the post
		t.Fatalf("channel roots: %d", n)
	}
	// botbuilder's sendMessageToTeamsChannel sends no tenant: Teams knows it.
	noTenant := map[string]any{"isGroup": true, "channelData": map[string]any{"channel": map[string]any{"id": backend.ID}}, "activity": message("no tenant")}
	if r := b.call(t, "POST", "v3/conversations", noTenant); r.status != 201 {
		t.Fatalf("thread without tenant: %d %s", r.status, r.body)
	}
	// Posting to the channel itself starts another thread.
	r = b.call(t, "POST", "v3/conversations/"+esc(team.ID)+"/activities", message("hello General"))
	var sent struct{ ID string }
	r.decode(t, &sent)
	if _, ok := b.em.Conversation(team.ID + ";messageid=" + sent.ID); !ok {
		t.Fatalf("a post to a channel must start a thread")
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(backend.ID+";messageid=1")+"/activities", message("x")); r.status != 404 {
		t.Fatalf("unknown thread: %d %s", r.status, r.body)
	}
}

// TestCreatePersonalConversationUnseenUser creates a 1:1 chat with a user
// the bot has never heard from (the app installed for everyone by the
// admin, no event posted), knowing only the user's id and tenant id.
func TestCreatePersonalConversationUnseenUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed, err := b.em.SeedUsers(100)
	if err != nil {
		t.Fatal(err)
	}
	var m wireMember
	b.call(t, http.MethodGet, "v3/conversations/"+esc(seed.TeamID)+"/members/user42@fabrikam.com", nil).decode(t, &m)
	if !strings.HasPrefix(m.ID, "29:") {
		t.Fatalf("member = %+v", m)
	}
	r := b.call(t, http.MethodPost, "v3/conversations", params(m.ID, seed.TenantID))
	var res struct{ ID string }
	r.decode(t, &res)
	if r.status != 201 || !strings.HasPrefix(res.ID, "a:") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	sent := b.call(t, http.MethodPost, "v3/conversations/"+esc(res.ID)+"/activities", map[string]any{"type": "message", "text": "Hello"})
	if sent.status != 201 {
		t.Fatalf("send: %d %s", sent.status, sent.body)
	}
	if acts := b.em.Activities(res.ID); len(acts) != 1 || acts[0].Activity.Text != "Hello" {
		t.Fatalf("chat holds %d activities", len(acts))
	}
	b.bot.mu.Lock()
	heard := len(b.bot.got)
	b.bot.mu.Unlock()
	if heard != 0 {
		t.Fatalf("the bot got %d activities, want none: it never heard from the user", heard)
	}
}
