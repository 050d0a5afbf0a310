package bot_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"herald/botframework"
	"herald/card"
	"herald/emulator"
)

// press presses a card button (or refreshes the card) through the
// emulator's scenario API, as a test driving Herald from outside would,
// and checks that the bot answered with a card.
func (h *harness) press(spec emulator.ExecuteSpec) emulator.ExecuteResult {
	h.t.Helper()
	body, _ := json.Marshal(spec)
	resp, err := http.Post(h.emuURL+"/scenario/execute", "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res emulator.ExecuteResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil {
		h.t.Fatalf("execute %+v: %d %s", spec, resp.StatusCode, raw)
	}
	if res.Outcome != emulator.OutcomeCard || res.BotStatus != http.StatusOK {
		h.t.Fatalf("execute %+v: %+v, want a card", spec, res)
	}
	return res
}

// viewText is the text of the card user sees on a message: their view.
func (h *harness) viewText(convID, msgID, userID string) string {
	h.t.Helper()
	a, ok := h.emu.Activity(convID, msgID)
	if !ok || a.Views[userID] == nil {
		h.t.Fatalf("%s has no view of %s: %+v", userID, msgID, a.Views)
	}
	return cardText(h.t, botframework.Activity{Attachments: []botframework.Attachment{
		{ContentType: botframework.ContentTypeAdaptiveCard, Content: a.Views[userID]}}})
}

func TestE2EExecuteTopicsCard(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.emu.SetLimits(emulator.Limits{Disabled: true})
	jo := h.user("Jo March")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, jo.ID))
	h.flush()
	h.ask(jo.ID, "", "topics")
	h.flush()
	topics := h.lastFromBot(d.ConversationID)
	sent := len(h.fromBot(d.ConversationID))

	// "Turn off" beside deploys: the answer is Jo's topics card, redrawn.
	res := h.press(emulator.ExecuteSpec{From: jo.ID, MessageID: topics.ID, Button: "Turn off"})
	if res.Trigger != "manual" || !h.optedOut(jo.ID, "deploys") {
		t.Fatalf("after the press: %+v, deploys opted out %v", res, h.optedOut(jo.ID, "deploys"))
	}
	mustContain(t, "Jo's card", h.viewText(d.ConversationID, topics.ID, jo.ID), "Turned off: deploys.", "**deploys**: off", "Turn on")

	// A command changes the state; the card's refresh shows it to Jo.
	h.ask(jo.ID, "", "start deploys")
	h.flush()
	res = h.press(emulator.ExecuteSpec{From: jo.ID, MessageID: topics.ID, Refresh: true})
	if res.Trigger != "automatic" {
		t.Fatalf("refresh trigger %q, want automatic: the card refreshes for Jo", res.Trigger)
	}
	mustContain(t, "Jo's refreshed card", h.viewText(d.ConversationID, topics.ID, jo.ID), "Your notification topics", "**deploys**: on")

	h.flush()
	if got := len(h.fromBot(d.ConversationID)); got != sent+1 {
		t.Errorf("the bot sent %d messages besides the start answer; the invokes are answered in their responses", got-sent-1)
	}
	if a, _ := h.emu.Activity(d.ConversationID, topics.ID); !a.UpdatedAt.IsZero() {
		t.Error("the topics card was updated for everyone; the answers are Jo's alone")
	}
}

// The opt-out button of a notification in a channel and a group chat: the
// preference is the clicker's, the answer card theirs alone.
func TestE2EExecuteOptOutEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, bob := h.user("Ann Lee"), h.user("Bob Roy")
	team := h.teamWithBot(ann.ID, bob.ID)
	chat := h.delivered(h.emu.AddGroupChat(h.ctx, emulator.GroupChatSpec{TenantID: h.tenant.ID, Members: []string{ann.ID, bob.ID}}))
	h.flush()
	att, err := card.Render(card.Structured{Title: "Deploy finished", Topic: "deploys"}, card.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, convID := range []string{team.ID, chat.ConversationID} {
		sent, err := h.cfg.Connector.Client(h.emu.ServiceURL()).SendToConversation(h.ctx, convID,
			&botframework.Activity{Type: botframework.TypeMessage, Attachments: []botframework.Attachment{att}})
		if err != nil {
			t.Fatal(err)
		}
		res := h.press(emulator.ExecuteSpec{From: bob.ID, ConversationID: convID, MessageID: sent.ID, Button: "Turn off deploys notifications"})
		if !h.optedOut(bob.ID, "deploys") || h.optedOut(ann.ID, "deploys") {
			t.Fatalf("%s: Bob opted out %v, Ann %v; want Bob's alone", convID, h.optedOut(bob.ID, "deploys"), h.optedOut(ann.ID, "deploys"))
		}
		bobs := h.viewText(res.ConversationID, sent.ID, bob.ID)
		mustContain(t, "Bob's card", bobs, "Turned off: deploys", "Turn deploys back on")
		if a, _ := h.emu.Activity(res.ConversationID, sent.ID); a.Views[ann.ID] != nil {
			t.Errorf("%s: Ann sees Bob's answer", convID)
		}
		// Bob changes his mind on his own card.
		h.press(emulator.ExecuteSpec{From: bob.ID, ConversationID: convID, MessageID: sent.ID, Button: "Turn deploys back on"})
		if h.optedOut(bob.ID, "deploys") {
			t.Fatalf("%s: Bob is still opted out of deploys", convID)
		}
		mustContain(t, "Bob's card", h.viewText(res.ConversationID, sent.ID, bob.ID), "Turned on: deploys", "Turn deploys off")
	}
}
