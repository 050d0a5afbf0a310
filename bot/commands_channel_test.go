package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"herald/bot"
	"herald/emulator"
)

// optedOut reports whether the directory has userID opted out of topic.
func (h *harness) optedOut(userID, topic string) bool {
	h.t.Helper()
	out, err := h.store.UserOptedOut(h.ctx, userID, topic)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// lastFromBot returns the last activity the bot sent into a conversation.
func (h *harness) lastFromBot(convID string) emulator.RecordedActivity {
	h.t.Helper()
	sent := h.fromBot(convID)
	if len(sent) == 0 {
		h.t.Fatalf("the bot sent nothing into %s", convID)
	}
	return sent[len(sent)-1]
}

// teamWithBot adds a team of members with the bot installed, its welcome
// sent, and turns the emulator's rate limits off.
func (h *harness) teamWithBot(members ...string) emulator.Team {
	h.t.Helper()
	h.emu.SetLimits(emulator.Limits{Disabled: true})
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Ops", Members: members})
	if err != nil {
		h.t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	return team
}

func TestChannelMentionCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, bob := h.user("Ann Lee"), h.user("Bob Roy")
	team := h.teamWithBot(ann.ID, bob.ID)
	for _, tc := range []struct {
		name, text string
		want       []string
		deploysOff bool // Ann's preference after the command
	}{
		{"help", "help", []string{"what I can do", "stop <topic>", "start <topic>", "@mention me"}, false},
		{"stop topic", "stop deploys", []string{"Stopped deploys"}, true},
		{"unknown", "what is this?", []string{"didn't get that", "help", "topics"}, true},
		{"start topic", "START deploys", []string{"Started deploys"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			posts := len(h.fromBot(team.ID))
			res := h.ask(ann.ID, team.ID, tc.text, "bot")
			h.flush()
			sent := h.fromBot(res.ConversationID)
			if len(sent) != 1 {
				t.Fatalf("the thread got %d answers, want 1", len(sent))
			}
			if sent[0].Activity.ReplyToID != res.ActivityID {
				t.Errorf("answer replies to %q, want the message %q", sent[0].Activity.ReplyToID, res.ActivityID)
			}
			if got := len(h.fromBot(team.ID)); got != posts {
				t.Errorf("the answer started %d new posts in the channel instead of replying in the thread", got-posts)
			}
			mustContain(t, "answer", cardText(t, sent[0].Activity), tc.want...)
			if h.optedOut(ann.ID, "deploys") != tc.deploysOff {
				t.Errorf("Ann opted out of deploys: %v, want %v", !tc.deploysOff, tc.deploysOff)
			}
			if h.optedOut(bob.ID, "deploys") {
				t.Error("Ann's command changed Bob's preference")
			}
		})
	}
}

func TestGroupChatMentionCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.emu.SetLimits(emulator.Limits{Disabled: true})
	ann, bob := h.user("Ann Lee"), h.user("Bob Roy")
	chat := h.delivered(h.emu.AddGroupChat(h.ctx, emulator.GroupChatSpec{TenantID: h.tenant.ID, Members: []string{ann.ID, bob.ID}}))
	h.flush()
	for _, tc := range []struct {
		text string
		want []string
		off  bool
	}{
		{"help", []string{"what I can do", "stop <topic>"}, false},
		{"stop deploys", []string{"Stopped deploys"}, true},
	} {
		n := len(h.fromBot(chat.ConversationID))
		res := h.ask(bob.ID, chat.ConversationID, tc.text, "bot")
		h.flush()
		if res.ConversationID != chat.ConversationID {
			t.Fatalf("message went to %s, not the chat %s", res.ConversationID, chat.ConversationID)
		}
		if got := len(h.fromBot(chat.ConversationID)); got != n+1 {
			t.Fatalf("%q: the chat got %d answers, want 1", tc.text, got-n)
		}
		last := h.lastFromBot(chat.ConversationID)
		if last.Activity.ReplyToID != res.ActivityID {
			t.Errorf("%q: answer replies to %q, want %q", tc.text, last.Activity.ReplyToID, res.ActivityID)
		}
		mustContain(t, tc.text+" answer", cardText(t, last.Activity), tc.want...)
		if h.optedOut(bob.ID, "deploys") != tc.off || h.optedOut(ann.ID, "deploys") {
			t.Errorf("%q: Bob opted out of deploys %v (want %v), Ann %v (want false)", tc.text,
				h.optedOut(bob.ID, "deploys"), tc.off, h.optedOut(ann.ID, "deploys"))
		}
	}
}

func TestChannelOptOutSubmitIsTheClickers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, bob := h.user("Ann Lee"), h.user("Bob Roy")
	team := h.teamWithBot(ann.ID, bob.ID)
	res := h.ask(ann.ID, team.ID, "help", "bot")
	h.flush()
	shown := h.lastFromBot(res.ConversationID)
	// Bob clicks the opt-out of a card in the thread.
	sub, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: bob.ID, ConversationID: res.ConversationID,
		ReplyToID: shown.ID, Value: json.RawMessage(`{"herald":"optout","topics":"deploys,incidents"}`)})
	if err != nil || !sub.Delivered {
		t.Fatalf("submit: %+v, %v", sub, err)
	}
	h.flush()
	if !h.optedOut(bob.ID, "deploys") || h.optedOut(bob.ID, "incidents") {
		t.Fatalf("Bob: deploys %v, incidents %v; want deploys alone off", h.optedOut(bob.ID, "deploys"), h.optedOut(bob.ID, "incidents"))
	}
	if h.optedOut(ann.ID, "deploys") {
		t.Fatal("Bob's click changed Ann's preference")
	}
	updated, ok := h.emu.Activity(res.ConversationID, shown.ID)
	if !ok || updated.UpdatedAt.IsZero() {
		t.Fatalf("card not updated in place: %+v", updated)
	}
	mustContain(t, "updated card", cardText(t, updated.Activity), "Turned off: deploys", "Bob Roy")
	if n := len(h.fromBot(res.ConversationID)); n != 1 {
		t.Fatalf("the thread has %d messages from the bot, want the updated card alone", n)
	}
}

// channelMessageJSON is a channel message from 29:ann whose text is text,
// with a mention entity for each of mentioned (id → name).
func channelMessageJSON(text string, mentioned map[string]string) []byte {
	entities := []any{map[string]any{"type": "clientInfo", "locale": "en-GB"}}
	for id, name := range mentioned {
		entities = append(entities, map[string]any{"type": "mention", "text": "<at>" + name + "</at>",
			"mentioned": map[string]any{"id": id, "name": name}})
	}
	a := map[string]any{
		"type": "message", "id": "1700000000001", "channelId": "msteams", "serviceUrl": testServiceURL,
		"timestamp": "2026-01-01T00:00:00.000Z",
		"from":      map[string]any{"id": "29:ann", "name": "Ann Lee", "aadObjectId": "aad-ann"},
		"recipient": map[string]any{"id": "28:" + testAppID, "name": "Herald"},
		"conversation": map[string]any{"id": "19:ops@thread.tacv2;messageid=1700000000001", "conversationType": "channel",
			"isGroup": true, "tenantId": "tenant-1"},
		"channelData": map[string]any{"tenant": map[string]any{"id": "tenant-1"},
			"team": map[string]any{"id": "19:team@thread.tacv2"}, "channel": map[string]any{"id": "19:ops@thread.tacv2"}},
		"entities": entities,
		"text":     text,
	}
	b, _ := json.Marshal(a)
	return b
}

// Channel messages reach the bot without an @mention when it has the
// permission to read them: the built-in commands leave those (and
// messages mentioning someone else) to the handlers.
func TestChannelCommandsNeedAMention(t *testing.T) {
	t.Parallel()
	bot28 := "28:" + testAppID
	for _, tc := range []struct {
		name      string
		text      string
		mentioned map[string]string
		disable   bool
		reply     bool // a built-in answer is queued
	}{
		{"no mention", "help", nil, false, false},
		{"someone else mentioned", "<at>Bob Roy</at> help", map[string]string{"29:bob": "Bob Roy"}, false, false},
		{"bot mentioned", "<at>Herald</at> help", map[string]string{bot28: "Herald"}, false, true},
		{"bot mentioned, commands disabled", "<at>Herald</at> help", map[string]string{bot28: "Herald"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t, func(c *bot.Config) { c.DisableCommands = tc.disable })
			var seen []string
			lb.bot.OnMessage(func(ctx context.Context, turn *bot.Turn) error {
				seen = append(seen, turn.Activity.Text)
				return nil
			})
			resp, _ := post(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), channelMessageJSON(tc.text, tc.mentioned))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			replies := 0
			for _, j := range lb.jobs.take() {
				if j.Kind == "reply" {
					replies++
				}
			}
			if got := replies > 0; got != tc.reply {
				t.Fatalf("%d built-in answers queued, want an answer: %v", replies, tc.reply)
			}
			if handled := strings.Join(seen, "|") == tc.text; handled == tc.reply {
				t.Fatalf("handlers saw %q; they get the message unless a command answered it", seen)
			}
		})
	}
}
