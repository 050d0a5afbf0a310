package bot_test

import (
	"testing"
	"time"

	"herald/emulator"
)

// TestMessageClearsBlocked: a user Herald flagged as blocking the bot who
// writes to it (in their personal chat, or by @mentioning it in a channel)
// is not flagged any more.
func TestMessageClearsBlocked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, bob := h.user("Ann Heal"), h.user("Bob Heal")
	team := h.teamWithBot(ann.ID, bob.ID)
	for _, tc := range []struct {
		name, from, conv string
		mentions         []string
	}{
		{"personal message", ann.ID, "", nil},
		{"channel @mention", bob.ID, team.ID, []string{"bot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.store.UserSetBlocked(h.ctx, tc.from, true); err != nil {
				t.Fatal(err)
			}
			h.ask(tc.from, tc.conv, "help", tc.mentions...)
			h.flush()
			u, err := h.store.UserGet(h.ctx, tc.from)
			if err != nil || u.Blocked {
				t.Fatalf("after the message: %+v, %v (want not blocked)", u, err)
			}
		})
	}
}

// TestTeamInstallClearsUninstalled: members Herald flagged as unreachable
// (a send failed while the team was uninstalled) are reachable again once
// the team installs the bot again.
func TestTeamInstallClearsUninstalled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, bob := h.user("Ann Again"), h.user("Bob Again")
	team := h.teamWithBot(ann.ID, bob.ID)
	h.delivered(h.emu.UninstallTeam(h.ctx, team.ID))
	for _, id := range []string{ann.ID, bob.ID} {
		if err := h.store.UserSetInstalled(h.ctx, id, false, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	for _, id := range []string{ann.ID, bob.ID} {
		if u, err := h.store.UserGet(h.ctx, id); err != nil || u.Uninstalled || !u.Reachable() {
			t.Errorf("after the reinstall: %+v, %v (want reachable)", u, err)
		}
	}
}

// TestCardClickClearsBlocked: a user flagged as blocking the bot who
// presses a button on one of its cards is not flagged any more.
func TestCardClickClearsBlocked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.emu.SetLimits(emulator.Limits{Disabled: true})
	jo := h.user("Jo Heal")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, jo.ID))
	h.flush()
	h.ask(jo.ID, "", "topics")
	h.flush()
	topics := h.lastFromBot(d.ConversationID)
	if err := h.store.UserSetBlocked(h.ctx, jo.ID, true); err != nil {
		t.Fatal(err)
	}
	h.press(emulator.ExecuteSpec{From: jo.ID, MessageID: topics.ID, Refresh: true})
	u, err := h.store.UserGet(h.ctx, jo.ID)
	if err != nil || u.Blocked {
		t.Fatalf("after the click: %+v, %v (want not blocked)", u, err)
	}
}
