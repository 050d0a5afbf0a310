package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"

	"herald/botframework"
	"herald/emulator"
)

func TestPersonalInstallEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	alice := d.Users[0]
	res, err := b.em.InstallPersonal(ctx(t), alice.Email)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BotStatus) != 2 || res.BotStatus[0] != 200 || res.BotStatus[1] != 200 || !strings.HasPrefix(res.ConversationID, "a:") {
		t.Fatalf("install result %+v", res)
	}
	acts := b.bot.await(t, 2)
	inst, upd := acts[0], acts[1]
	if inst.Type != "installationUpdate" || inst.Action != "add" || upd.Type != "conversationUpdate" {
		t.Fatalf("types %s/%s %s", inst.Type, inst.Action, upd.Type)
	}
	if !upd.BotAdded() || len(upd.MembersAdded) != 2 || upd.MembersAdded[1].ID != alice.ID || upd.MembersAdded[1].AADObjectID != alice.AADObjectID {
		t.Fatalf("membersAdded %+v", upd.MembersAdded)
	}
	c := upd.Conversation
	if c.ID != res.ConversationID || c.ConversationType != "personal" || c.TenantID != d.TenantID || upd.TenantID() != d.TenantID {
		t.Fatalf("conversation %+v", c)
	}
	if upd.ChannelID != "msteams" || upd.ServiceURL != b.em.ServiceURL() || upd.Recipient.ID != "28:"+emulator.DefaultAppID || upd.Team() != nil {
		t.Fatalf("activity %+v", upd)
	}
	b.bot.mu.Lock()
	h := b.bot.headers[1]
	b.bot.mu.Unlock()
	if h.Get("x-ms-conversation-id") != res.ConversationID || h.Get("x-ms-tenant-id") != d.TenantID {
		t.Fatalf("headers %v", h)
	}
	// Teams sends the install event once.
	again, _ := b.em.InstallPersonal(ctx(t), alice.ID)
	if len(again.BotStatus) != 0 || again.ConversationID != res.ConversationID {
		t.Fatalf("second install %+v", again)
	}
}

func TestTeamEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	team := d.Teams[1]
	campaigns := team.Channels[1]
	outsider := d.Users[5]
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID, ChannelID: campaigns.ID}); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := b.em.AddMember(ctx(t), team.ID, outsider.ID); return err },
		func() error { _, err := b.em.RemoveMember(ctx(t), team.ID, outsider.ID); return err },
		func() error { _, err := b.em.RenameTeam(ctx(t), team.ID, "Growth"); return err },
		func() error { _, _, err := b.em.AddChannel(ctx(t), team.ID, "Launch"); return err },
		func() error { _, err := b.em.UninstallTeam(ctx(t), team.ID); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	acts := b.bot.await(t, 8)
	inst, added := acts[0], acts[1]
	cd := added.ChannelData
	if inst.Type != "installationUpdate" || inst.ChannelData.Settings.SelectedChannel.ID != campaigns.ID || inst.ChannelData.Source.Name != "message" {
		t.Fatalf("installationUpdate %+v", inst)
	}
	if !added.BotAdded() || added.Conversation.ID != campaigns.ID || added.Conversation.ConversationType != "channel" || !added.Conversation.IsGroup ||
		cd.EventType != "teamMemberAdded" || cd.Team.ID != team.ID || cd.Team.Name != team.Name || cd.Team.AADGroupID != team.AADGroupID ||
		cd.Settings.SelectedChannel.ID != campaigns.ID || cd.Tenant.ID != d.TenantID {
		t.Fatalf("team install %+v %+v", added, cd)
	}
	want := []struct{ eventType, conv string }{
		{"teamMemberAdded", team.ID}, {"teamMemberRemoved", team.ID}, {"teamRenamed", team.ID},
		{"channelCreated", team.ID}, {"", team.ID}, {"teamMemberRemoved", team.ID},
	}
	for i, w := range want {
		a := acts[2+i]
		if a.EventType() != w.eventType || a.Conversation.ID != w.conv {
			t.Fatalf("activity %d: %s %q in %s, want %q in %s", 2+i, a.Type, a.EventType(), a.Conversation.ID, w.eventType, w.conv)
		}
	}
	if acts[2].MembersAdded[0].ID != outsider.ID || acts[3].MembersRemoved[0].ID != outsider.ID {
		t.Fatalf("member events %+v %+v", acts[2], acts[3])
	}
	if acts[4].Team().Name != "Growth" || acts[5].ChannelData.Channel.Name != "Launch" {
		t.Fatalf("rename/channel %+v %+v", acts[4].Team(), acts[5].ChannelData.Channel)
	}
	if acts[6].Type != "installationUpdate" || acts[6].Action != "remove" || !acts[7].BotRemoved() {
		t.Fatalf("uninstall %+v %+v", acts[6], acts[7])
	}
	if r := b.call(t, "GET", "v3/teams/"+esc(team.ID), nil); r.status != 403 || r.errorCode() != "BotNotInConversationRoster" {
		t.Fatalf("team details after uninstall: %d %s", r.status, r.body)
	}
}

func TestUserMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	alice, bob := d.Users[0], d.Users[1]
	team := d.Teams[0]
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	// A personal message installs the bot first, as opening the chat does.
	res, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: alice.ID, Text: "hi bot"})
	if err != nil || !res.Delivered || len(res.BotStatus) != 3 {
		t.Fatalf("personal message %+v %v", res, err)
	}
	silent, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: alice.ID, ConversationID: team.ID, Text: "no mention", Mentions: []string{bob.ID}})
	if err != nil || silent.Delivered {
		t.Fatalf("unmentioned channel message %+v %v", silent, err)
	}
	loud, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: alice.ID, ConversationID: team.ID, Text: "please deploy", Mentions: []string{"bot"}})
	if err != nil || !loud.Delivered || loud.ConversationID != team.ID+";messageid="+loud.ActivityID {
		t.Fatalf("mentioning channel message %+v %v", loud, err)
	}
	submit, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: alice.ID, Value: json.RawMessage(`{"choice":"yes"}`), ReplyToID: "123"})
	if err != nil || !submit.Delivered {
		t.Fatalf("card submit %+v %v", submit, err)
	}
	acts := b.bot.await(t, 7) // team install (2), personal install (2), three messages
	msg := acts[4]
	ci, ok := msg.ClientInfo()
	if msg.Type != "message" || msg.Text != "hi bot" || !ok || ci.Locale != alice.Locale || ci.Timezone != alice.Timezone || msg.From.ID != alice.ID || msg.From.AADObjectID != alice.AADObjectID {
		t.Fatalf("personal message %+v %+v", msg, ci)
	}
	ch := acts[5]
	ms := ch.Mentions()
	if len(ms) != 1 || ms[0].Mentioned.ID != "28:"+emulator.DefaultAppID || !strings.Contains(ch.Text, ms[0].Text) || !strings.HasPrefix(ch.Text, "<at>") {
		t.Fatalf("mention %+v in %q", ms, ch.Text)
	}
	if ch.ChannelData.TeamsTeamID != team.ID || ch.ChannelData.Channel.ID != team.ID || ch.Conversation.ID != loud.ConversationID {
		t.Fatalf("channel message %+v", ch)
	}
	if sub := acts[6]; string(sub.Value) != `{"choice":"yes"}` || sub.ReplyToID != "123" {
		t.Fatalf("card submit %+v", sub)
	}
	rec := b.em.Activities(team.ID)
	if last := rec[len(rec)-2]; last.Direction != emulator.Silent || last.Activity.Text != "<at>Bob Brown</at> no mention" {
		t.Fatalf("silent message recorded as %+v", last)
	}
}

// TestBotRepliesDuringTurn has the bot send its welcome while the install
// event is still being delivered, as real bots do.
func TestBotRepliesDuringTurn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	tok := b.token(t)
	b.bot.mu.Lock()
	b.bot.onActivity = func(a botframework.Activity) {
		if a.BotAdded() {
			b.callWith(t, "Bearer "+tok, "POST", "v3/conversations/"+esc(a.Conversation.ID)+"/activities", message("Welcome!"))
		}
	}
	b.bot.mu.Unlock()
	res, err := b.em.InstallPersonal(ctx(t), d.Users[3].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.em.AwaitFromBot(ctx(t), res.ConversationID, 1)
	if err != nil || got[0].Activity.Text != "Welcome!" {
		t.Fatalf("welcome %+v %v", got, err)
	}
	all := b.em.Activities(res.ConversationID)
	if len(all) != 3 || all[1].Activity.Type != "conversationUpdate" || all[2].Direction != emulator.FromBot || all[1].BotStatus != 200 {
		t.Fatalf("order: %+v", all)
	}
}

func TestForge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.demo(t)
	for _, kind := range emulator.ForgeKinds() {
		t.Run(kind, func(t *testing.T) {
			res, err := b.em.Forge(ctx(t), emulator.ForgeSpec{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			want := 401
			if kind == emulator.ForgeValid {
				want = 200
			}
			if res.Status != want {
				t.Fatalf("bot answered %d, want %d", res.Status, want)
			}
		})
	}
	if _, err := b.em.Forge(ctx(t), emulator.ForgeSpec{Kind: "bogus"}); err == nil {
		t.Fatal("unknown kind accepted")
	}
}
