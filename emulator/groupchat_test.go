package emulator_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"herald/botframework"
	"herald/emulator"
)

// TestGroupChatEvents plays a group chat's life: members join (two in one
// event) and leave, the topic changes, the bot is removed (its roster
// reads get 403, member changes post nothing) and added back.
func TestGroupChatEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	ann, ben, cat, dan, eve := d.Users[0], d.Users[1], d.Users[2], d.Users[3], d.Users[4]
	chat, err := b.em.AddGroupChat(ctx(t), emulator.GroupChatSpec{Topic: "Launch", Members: []string{ann.ID, ben.ID}})
	must(t, err)
	id := chat.ConversationID
	steps := []func() (emulator.Delivery, error){
		func() (emulator.Delivery, error) {
			return b.em.AddGroupChatMembers(ctx(t), id, emulator.GroupChatMembersSpec{Members: []string{cat.Email, dan.ID}, By: ben.ID})
		},
		func() (emulator.Delivery, error) { return b.em.RemoveGroupChatMember(ctx(t), id, dan.ID, "") },
		func() (emulator.Delivery, error) {
			return emulator.Delivery{BotStatus: []int{}}, b.em.RenameGroupChat(id, "Launch v2")
		},
		func() (emulator.Delivery, error) { return b.em.UninstallGroupChat(ctx(t), id, ben.ID) },
		func() (emulator.Delivery, error) {
			return b.em.AddGroupChatMembers(ctx(t), id, emulator.GroupChatMembersSpec{Members: []string{eve.ID}})
		},
		func() (emulator.Delivery, error) {
			return b.em.InstallGroupChat(ctx(t), emulator.InstallGroupChatSpec{ChatID: id, InstallerID: cat.ID})
		},
	}
	posted := []int{1, 1, 0, 2, 0, 2}
	for i, step := range steps {
		res, err := step()
		if err != nil || len(res.BotStatus) != posted[i] {
			t.Fatalf("step %d: %+v, %v; want %d activities", i, res, err, posted[i])
		}
		if i == 3 {
			if r := b.call(t, "GET", "v3/conversations/"+esc(id)+"/pagedmembers", nil); r.status != 403 || r.errorCode() != "BotNotInConversationRoster" {
				t.Fatalf("roster after the bot's removal: %d %s", r.status, r.body)
			}
		}
	}
	acts := b.bot.await(t, 8)
	added, left, inst, removed := acts[2], acts[3], acts[4], acts[5]
	c := added.Conversation
	if c.ID != id || c.ConversationType != "groupChat" || !c.IsGroup || c.Name != "Launch" || added.EventType() != "" ||
		added.From.ID != ben.ID || added.TenantID() != d.TenantID {
		t.Fatalf("members added %+v in %+v", added, c)
	}
	if len(added.MembersAdded) != 2 || added.MembersAdded[0].ID != cat.ID || added.MembersAdded[1].ID != dan.ID || added.MembersAdded[1].AADObjectID != dan.AADObjectID {
		t.Fatalf("membersAdded %+v", added.MembersAdded)
	}
	if len(left.MembersRemoved) != 1 || left.MembersRemoved[0].ID != dan.ID || left.From.ID != dan.ID {
		t.Fatalf("member left %+v", left)
	}
	if inst.Type != "installationUpdate" || inst.Action != "remove" || inst.From.ID != ben.ID || !removed.BotRemoved() || removed.Conversation.Name != "Launch v2" {
		t.Fatalf("bot removed %+v %+v", inst, removed)
	}
	back, again := acts[6], acts[7]
	if back.Action != "add" || back.From.ID != cat.ID || !again.BotAdded() {
		t.Fatalf("bot added back %+v %+v", back, again)
	}
	r := b.call(t, "GET", "v3/conversations/"+esc(id)+"/pagedmembers", nil)
	var page struct {
		Members []struct{ ID, Email string }
	}
	r.decode(t, &page)
	var ids []string
	for _, m := range page.Members {
		ids = append(ids, m.ID)
	}
	if want := []string{ann.ID, ben.ID, cat.ID, eve.ID}; r.status != 200 || !slices.Equal(ids, want) || page.Members[2].Email != cat.Email {
		t.Fatalf("roster %d %+v, want %v", r.status, page.Members, want)
	}
}

func TestGroupChatScenarioAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	ann, ben, cat := d.Users[0].ID, d.Users[1].ID, d.Users[2].ID
	chat := b.scenario(t, "POST", "groupchats", map[string]any{"members": []any{ann, ben}, "topic": "Lunch"}, 201)
	id := chat["conversationId"].(string)
	path := "groupchats/" + url.PathEscape(id)
	if got := b.scenario(t, "POST", path+"/members", map[string]any{"members": []any{cat}, "by": ann}, 200); len(got["botStatus"].([]any)) != 1 {
		t.Fatalf("add members %v", got)
	}
	if got := b.scenario(t, "PATCH", path, map[string]any{"topic": "Dinner"}, 200); got["title"] != "Dinner" || len(got["members"].([]any)) != 3 {
		t.Fatalf("rename %v", got)
	}
	b.scenario(t, "DELETE", path+"/members/"+url.PathEscape(cat)+"?by="+url.QueryEscape(ann), nil, 200)
	b.scenario(t, "POST", "uninstall/groupchat", map[string]any{"chatId": id}, 200)
	b.scenario(t, "POST", "install/groupchat", map[string]any{"chatId": id, "installerId": ben}, 200)
	acts := b.bot.await(t, 8)
	if last := acts[7]; !last.BotAdded() || last.From.ID != ben || last.Conversation.Name != "Dinner" {
		t.Fatalf("re-added %+v", last)
	}
	if len(acts[3].MembersRemoved) != 1 || acts[3].From.ID != ann || acts[3].MembersRemoved[0].ID != cat {
		t.Fatalf("removed by Ann %+v", acts[3])
	}

	tests := []struct {
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{"POST", path + "/members", map[string]any{"members": []any{ann}}, 409, "Conflict", "members"},
		{"POST", path + "/members", map[string]any{"members": []any{}}, 400, "Invalid", "members"},
		{"POST", path + "/members", map[string]any{"members": []any{cat}, "by": cat}, 400, "Invalid", "by"},
		{"DELETE", path + "/members/" + url.PathEscape(cat), nil, 404, "NotFound", "userId"},
		{"POST", "groupchats/" + url.PathEscape("19:none@thread.v2") + "/members", map[string]any{"members": []any{cat}}, 404, "NotFound", "chatId"},
		{"PATCH", "groupchats/" + url.PathEscape(d.Teams[0].ID), map[string]any{"topic": "x"}, 404, "NotFound", "chatId"},
		{"POST", "install/groupchat", map[string]any{"chatId": id}, 409, "Conflict", "chatId"},
		{"POST", "uninstall/groupchat", map[string]any{"chatId": "19:none@thread.v2"}, 404, "NotFound", "chatId"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got := b.scenario(t, tt.method, tt.path, tt.body, tt.status)
			e, _ := got["error"].(map[string]any)
			if e["code"] != tt.code || e["field"] != tt.field || e["message"] == "" {
				t.Fatalf("error %v, want code %s field %s", got, tt.code, tt.field)
			}
		})
	}
}

// TestCreateGroupChatRefused: bots cannot create group chats; every
// variant gets Teams' 400 BadSyntax, as does a channel thread without its
// first message.
func TestCreateGroupChatRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	alice, bob := d.Users[0], d.Users[1]
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: d.Teams[0].ID}); err != nil {
		t.Fatal(err)
	}
	member := func(id string) map[string]any { return map[string]any{"id": id} }
	bot := map[string]any{"id": "28:" + emulator.DefaultAppID}
	tests := []struct {
		name string
		body map[string]any
	}{
		{"two members", map[string]any{"isGroup": true, "bot": bot, "members": []any{member(alice.ID), member(bob.ID)}, "tenantId": d.TenantID}},
		{"one member", map[string]any{"isGroup": true, "bot": bot, "members": []any{member(alice.ID)}, "tenantId": d.TenantID}},
		{"topic and activity", map[string]any{"isGroup": true, "members": []any{member(alice.ID), member(bob.ID)}, "topicName": "Launch",
			"activity": message("hi"), "channelData": map[string]any{"tenant": map[string]any{"id": d.TenantID}}}},
		{"not flagged as group", map[string]any{"members": []any{member(alice.ID), member(bob.ID)}, "tenantId": d.TenantID}},
		{"thread without activity", map[string]any{"isGroup": true, "channelData": map[string]any{"channel": map[string]any{"id": d.Teams[0].ID}}, "tenantId": d.TenantID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.call(t, http.MethodPost, "v3/conversations", tt.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			r.decode(t, &e)
			if r.status != 400 || e.Error.Code != "BadSyntax" || e.Error.Message != "Incorrect conversation creation parameters" {
				t.Fatalf("%d %s, want 400 BadSyntax", r.status, r.body)
			}
		})
	}
	if got := b.em.Conversations(); slices.ContainsFunc(got, func(c emulator.ConversationInfo) bool { return c.Type == botframework.ConversationGroupChat }) {
		t.Fatal("a refused create made a group chat")
	}
}
