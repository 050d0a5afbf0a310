package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"herald"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
)

// TestE2EWelcomesInBatches installs the bot for several people at once
// through the engine (the welcomes are stored in batches while the
// installs are answered) and replays one install event: everyone gets
// exactly one welcome naming them, each welcome is recorded, and the
// batches hold fewer notifications than people whenever installs overlap.
func TestE2EWelcomesInBatches(t *testing.T) {
	t.Parallel()
	var eng *engine.Engine
	h := newHarness(t, withEngine(t, &eng, nil))
	names := []string{"Ada Byron", "Bo Chen", "Cy Diaz", "Di Egan", "Ed Fox", "Flo Gray", "Gus Hill", "Hedy Ito"}
	users := make([]emulator.User, len(names))
	for i, n := range names {
		users[i] = h.user(n)
	}
	convs := make([]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { convs[i] = h.delivered(h.emu.InstallPersonal(h.ctx, u.ID)).ConversationID })
	}
	wg.Wait()
	// Teams delivers the first install event once more.
	var install json.RawMessage
	for _, a := range h.emu.Activities(convs[0]) {
		if a.Direction == emulator.ToBot && a.Activity.Type == botframework.TypeInstallationUpdate {
			install = a.Raw
		}
	}
	if res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid, Activity: install}); err != nil || res.Status != http.StatusOK {
		t.Fatalf("replayed install event: %+v, %v", res, err)
	}
	h.flush()
	for i, u := range users {
		sent := h.fromBot(convs[i])
		if len(sent) != 1 {
			t.Fatalf("%s got %d welcomes, want 1", u.Name, len(sent))
		}
		mustContain(t, "welcome of "+u.Name, cardText(t, sent[0].Activity), u.Name)
		if last, err := h.store.WelcomeLast(context.Background(), "personal", u.ID); err != nil || last.IsZero() {
			t.Fatalf("welcome of %s not recorded: %v, %v", u.Name, last, err)
		}
	}
	ns := engineNotifications(t, h)
	if len(ns) == 0 || len(ns) > len(users) {
		t.Fatalf("%d notifications for %d welcomes", len(ns), len(users))
	}
	for _, n := range ns {
		if n.Request.Priority != herald.PriorityHigh || !n.Request.Critical || n.State != herald.NotificationCompleted {
			t.Fatalf("welcome notification = %+v", n)
		}
	}
}
