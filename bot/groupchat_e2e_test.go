package bot_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"herald"
	"herald/bot"
	"herald/botframework"
	"herald/emulator"
)

// chatWithBot adds a group chat of members with the bot (added by the
// first member) and runs the install's jobs.
func (h *harness) chatWithBot(topic string, members ...string) string {
	h.t.Helper()
	d := h.delivered(h.emu.AddGroupChat(h.ctx, emulator.GroupChatSpec{TenantID: h.tenant.ID, Topic: topic, Members: members}))
	h.flush()
	return d.ConversationID
}

// chatMembers returns the ids of a group chat's recorded members.
func (h *harness) chatMembers(chatID string) []string {
	h.t.Helper()
	us, err := h.store.UserList(h.ctx, herald.UserListParams{TeamID: chatID})
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

func (h *harness) conversation(id string) herald.Conversation {
	h.t.Helper()
	c, err := h.store.ConversationGet(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// replay posts a recorded activity of a conversation to the bot again, as
// Teams' duplicate events do.
func (h *harness) replay(convID string, pick func(botframework.Activity) bool) {
	h.t.Helper()
	for _, a := range h.emu.Activities(convID) {
		if a.Direction == emulator.ToBot && pick(a.Activity) {
			res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid, Activity: a.Raw})
			if err != nil || res.Status != http.StatusOK {
				h.t.Fatalf("replay: %+v, %v", res, err)
			}
			return
		}
	}
	h.t.Fatal("no such activity to replay")
}

// TestE2EGroupChatInstall: the chat and its members (with their emails,
// from the chat's paged members) are recorded; one welcome names who
// added Herald; a duplicate event and a re-add within the window are
// silent; the bot's removal marks the chat removed; a re-add after the
// window welcomes again.
func TestE2EGroupChatInstall(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	h := newHarness(t, func(c *bot.Config) {
		c.Now = func() time.Time { return clock() }
		c.Welcome.Window = time.Hour
	})
	ann, ben, cat := h.user("Ann Lee"), h.user("Ben Ode"), h.user("Cat Ray")
	chat := h.chatWithBot("Launch", ann.ID, ben.ID, cat.ID)

	if c := h.conversation(chat); c.Type != "groupChat" || c.Name != "Launch" || c.Removed || c.TenantID != h.tenant.ID || c.ServiceURL == "" {
		t.Fatalf("recorded chat %+v", c)
	}
	if got, want := h.chatMembers(chat), slices.Sorted(slices.Values([]string{ann.ID, ben.ID, cat.ID})); !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	if u, _ := h.store.UserFind(h.ctx, "", cat.Email); u.ID != cat.ID || u.UPN != cat.UPN || u.AADObjectID != cat.AADObjectID {
		t.Fatalf("member by email: %+v", u)
	}
	if !slices.ContainsFunc(h.emu.Requests(), func(r emulator.RequestRecord) bool {
		return r.Operation == "pagedmembers" && r.ConversationID == chat
	}) {
		t.Fatal("the chat's paged members were not fetched")
	}
	sent := h.fromBot(chat)
	if len(sent) != 1 {
		t.Fatalf("the chat got %d posts, want one welcome", len(sent))
	}
	mustContain(t, "group chat welcome", cardText(t, sent[0].Activity), "Ann Lee added Herald", "Launch", "@Herald help")

	h.replay(chat, func(a botframework.Activity) bool { return a.Type == botframework.TypeInstallationUpdate })
	h.flush()
	h.delivered(h.emu.UninstallGroupChat(h.ctx, chat, ben.ID))
	if c := h.conversation(chat); !c.Removed {
		t.Fatal("the chat is not marked removed after the bot's removal")
	}
	h.delivered(h.emu.InstallGroupChat(h.ctx, emulator.InstallGroupChatSpec{ChatID: chat, InstallerID: ben.ID}))
	h.flush()
	if c := h.conversation(chat); c.Removed {
		t.Fatal("the chat is still marked removed after the bot was added back")
	}
	if got := len(h.fromBot(chat)); got != 1 {
		t.Fatalf("a duplicate event and a re-add within the window posted %d more welcomes", got-1)
	}

	h.delivered(h.emu.UninstallGroupChat(h.ctx, chat, ""))
	later := now.Add(2 * time.Hour)
	clock = func() time.Time { return later }
	h.delivered(h.emu.InstallGroupChat(h.ctx, emulator.InstallGroupChatSpec{ChatID: chat, InstallerID: cat.ID}))
	h.flush()
	sent = h.fromBot(chat)
	if len(sent) != 2 {
		t.Fatalf("a re-add after the window: %d welcomes in all, want 2", len(sent))
	}
	mustContain(t, "second welcome", cardText(t, sent[1].Activity), "Cat Ray added Herald")
}

// mentionsOf returns the ids an activity's entities and its card's
// msteams.entities mention.
func mentionsOf(t *testing.T, a botframework.Activity) (activity, card []string) {
	t.Helper()
	for _, m := range a.Mentions() {
		activity = append(activity, m.Mentioned.ID)
	}
	for _, att := range a.Attachments {
		var c struct {
			MSTeams struct {
				Entities []struct {
					Type, Text string
					Mentioned  struct{ ID, Name string }
				}
			}
		}
		if err := json.Unmarshal(att.Content, &c); err != nil {
			t.Fatal(err)
		}
		for _, e := range c.MSTeams.Entities {
			if e.Type != "mention" || e.Text != "<at>"+e.Mentioned.Name+"</at>" {
				t.Errorf("card entity %+v", e)
			}
			card = append(card, e.Mentioned.ID)
		}
	}
	return activity, card
}

// TestE2EGroupChatMembersAdded: two people added in one event get one card
// in the chat mentioning both; the one Herald can reach personally (a
// personal install) also gets a personal welcome, the other does not (no
// 1:1 chat is created); both are recorded as members with their details;
// a duplicate event posts nothing; a removal drops the membership.
func TestE2EGroupChatMembersAdded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, ben, dan, eve := h.user("Ann Lee"), h.user("Ben Ode"), h.user("Dan Newman"), h.user("Eve Stone")
	personal := h.delivered(h.emu.InstallPersonal(h.ctx, dan.ID)).ConversationID
	h.flush()
	chat := h.chatWithBot("Launch", ann.ID, ben.ID)
	before := len(h.fromBot(chat))

	h.delivered(h.emu.AddGroupChatMembers(h.ctx, chat, emulator.GroupChatMembersSpec{Members: []string{dan.ID, eve.ID}, By: ben.ID}))
	h.flush()
	posts := h.fromBot(chat)
	if len(posts) != before+1 {
		t.Fatalf("the chat got %d new posts, want one card", len(posts)-before)
	}
	card := posts[len(posts)-1].Activity
	mustContain(t, "member card", cardText(t, card), "<at>Dan Newman</at> and <at>Eve Stone</at>", "Ben Ode", "Launch")
	inActivity, inCard := mentionsOf(t, card)
	if want := []string{dan.ID, eve.ID}; !slices.Equal(inActivity, want) || !slices.Equal(inCard, want) {
		t.Fatalf("mentions: activity %v, card %v; want %v", inActivity, inCard, want)
	}

	dm := h.fromBot(personal)
	if len(dm) != 2 { // the install welcome, then this one
		t.Fatalf("Dan got %d personal messages, want 2", len(dm))
	}
	mustContain(t, "personal welcome", cardText(t, dm[1].Activity), "group chat Launch", "Ben Ode added you")
	if _, ok := h.emu.PersonalConversation(eve.ID); ok {
		t.Fatal("Herald opened a 1:1 chat with a group chat member it cannot reach personally")
	}
	if got := h.chatMembers(chat); len(got) != 4 {
		t.Fatalf("members %v, want 4", got)
	}
	if u, _ := h.store.UserFind(h.ctx, "", eve.Email); u.ID != eve.ID {
		t.Fatalf("the new member cannot be found by email: %+v", u)
	}

	h.replay(chat, func(a botframework.Activity) bool { return len(a.MembersAdded) == 2 })
	h.flush()
	if got := len(h.fromBot(chat)); got != before+1 {
		t.Fatalf("a duplicate membersAdded event posted %d more cards", got-before-1)
	}
	h.delivered(h.emu.RemoveGroupChatMember(h.ctx, chat, eve.ID, ""))
	if got := h.chatMembers(chat); slices.Contains(got, eve.ID) || len(got) != 3 {
		t.Fatalf("after Eve left: members %v", got)
	}
}

// TestE2EMemberDetailsAtOnce: someone added to a team or a group chat can
// be found by email as soon as the event's jobs ran, without any welcome
// fetching them and before any roster refresh.
func TestE2EMemberDetailsAtOnce(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{"team", "groupChat"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *bot.Config) {
				c.Welcome = bot.WelcomeConfig{DisableMemberChannel: true, DisableMemberPersonal: true, DisableGroupChatMember: true}
			})
			ann, ben := h.user("Ann Lee"), h.user("Ben Ode")
			dan, eve := h.user("Dan Newman"), h.user("Eve Stone")
			added := []string{dan.ID, eve.ID}
			switch scope {
			case "team":
				team := h.teamWithBot(ann.ID, ben.ID)
				for _, id := range added {
					h.delivered(h.emu.AddMember(h.ctx, team.ID, id))
				}
			default:
				chat := h.chatWithBot("", ann.ID, ben.ID)
				h.delivered(h.emu.AddGroupChatMembers(h.ctx, chat, emulator.GroupChatMembersSpec{Members: added}))
			}
			if u, _ := h.store.UserGet(h.ctx, dan.ID); u.Email != "" {
				t.Fatalf("details before the jobs ran: %+v", u)
			}
			h.flush()
			for _, id := range added {
				want, _ := h.emu.User(id)
				u, err := h.store.UserFind(h.ctx, h.tenant.ID, want.Email)
				if err != nil || u.ID != id || u.UPN != want.UPN || u.AADObjectID != want.AADObjectID || u.Name != want.Name {
					t.Fatalf("%s by email: %+v, %v; want %+v", want.Name, u, err, want)
				}
			}
			for _, r := range h.emu.Requests() {
				if r.Operation == "create" {
					t.Fatalf("fetching details created a conversation: %+v", r)
				}
			}
		})
	}
}

// TestE2EConversationRemovedFollowsInstalls: a personal uninstall marks
// the personal chat removed and a re-install clears it; a team uninstall
// marks the team's conversation removed and a re-install clears it.
func TestE2EConversationRemovedFollowsInstalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.user("Ann Lee")
	personal := h.delivered(h.emu.InstallPersonal(h.ctx, ann.ID)).ConversationID
	team := h.teamWithBot(ann.ID)
	h.delivered(h.emu.UninstallPersonal(h.ctx, ann.ID))
	h.delivered(h.emu.UninstallTeam(h.ctx, team.ID))
	for _, id := range []string{personal, team.ID} {
		if !h.conversation(id).Removed {
			t.Fatalf("%s not marked removed after the uninstall", id)
		}
	}
	h.delivered(h.emu.InstallPersonal(h.ctx, ann.ID))
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	for _, id := range []string{personal, team.ID} {
		if h.conversation(id).Removed {
			t.Fatalf("%s still marked removed after the re-install", id)
		}
	}
}
