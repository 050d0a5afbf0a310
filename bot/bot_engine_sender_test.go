package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/bot"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
)

// withEngine makes the bot send through a started delivery engine over
// the harness's store, wrapped in wrap (nil: none).
func withEngine(t *testing.T, out **engine.Engine, wrap func(bot.Sender) bot.Sender) func(*bot.Config) {
	return func(c *bot.Config) {
		eng := c.Jobs.(*engine.Engine)
		account := botframework.ChannelAccount{ID: "28:" + c.AppID}
		var s bot.Sender = bot.NewEngineSender(eng, bot.NewConnectorSender(c.Connector, c.Store, account))
		if wrap != nil {
			s = wrap(s)
		}
		c.Sender = s
		*out = eng
	}
}

// engineNotifications lists every notification in the store.
func engineNotifications(t *testing.T, h *harness) []herald.Notification {
	t.Helper()
	ns, err := h.store.NotificationList(h.ctx, herald.NotificationListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// afterSend fails the first send (after it was made), as if the process
// died between Teams taking the welcome and the bot recording it.
type afterSend struct {
	bot.Sender
	fail atomic.Bool
}

func (s *afterSend) SendToUser(ctx context.Context, u herald.User, a *botframework.Activity, o bot.SendOptions) (string, error) {
	id, err := s.Sender.SendToUser(ctx, u, a, o)
	if err == nil && s.fail.CompareAndSwap(true, false) {
		return "", context.DeadlineExceeded
	}
	return id, err
}

func TestE2EWelcomeThroughEngineOnce(t *testing.T) {
	t.Parallel()
	var eng *engine.Engine
	var clock atomic.Pointer[time.Time]
	crash := &afterSend{}
	crash.fail.Store(true)
	h := newHarness(t, clocked(&clock), withEngine(t, &eng, func(s bot.Sender) bot.Sender {
		crash.Sender = s
		return crash
	}))
	hal := h.user("Hal Ives")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, hal.ID))
	// The install event arrives a second time before the welcome ran.
	var install json.RawMessage
	for _, a := range h.emu.Activities(d.ConversationID) {
		if a.Direction == emulator.ToBot && a.Activity.Type == botframework.TypeInstallationUpdate {
			install = a.Raw
		}
	}
	if res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid, Activity: install}); err != nil || res.Status != http.StatusOK {
		t.Fatalf("replayed install event: %+v, %v", res, err)
	}
	h.flush() // sends through the engine, then "crashes" before recording
	if got := len(h.fromBot(d.ConversationID)); got != 1 {
		t.Fatalf("after the first attempt: %d messages, want 1", got)
	}
	advance(&clock, time.Hour) // the welcome task's retry is due
	h.flush()
	// And once more, after the welcome was recorded.
	if res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid, Activity: install}); err != nil || res.Status != http.StatusOK {
		t.Fatalf("replayed install event: %+v, %v", res, err)
	}
	h.flush()

	sent := h.fromBot(d.ConversationID)
	if len(sent) != 1 {
		t.Fatalf("bot sent %d welcomes, want exactly 1", len(sent))
	}
	mustContain(t, "welcome", cardText(t, sent[0].Activity), "Hal Ives")
	ns := engineNotifications(t, h)
	if len(ns) != 1 {
		t.Fatalf("%d notifications, want 1", len(ns))
	}
	n := ns[0]
	if !strings.HasPrefix(n.Request.IdempotencyKey, "bot:herald-welcome:personal:"+hal.ID+":") ||
		n.Request.Priority != herald.PriorityHigh || n.State != herald.NotificationCompleted {
		t.Fatalf("notification = %+v", n)
	}
	ds, err := eng.Deliveries(h.ctx, n.ID, herald.DeliveryFilter{}, herald.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].State != herald.DeliveryDelivered || ds[0].UserID != hal.ID ||
		ds[0].ActivityID != sent[0].ID || ds[0].ConversationID != d.ConversationID {
		t.Fatalf("deliveries = %+v, want one delivered as %s", ds, sent[0].ID)
	}
	if last, err := h.store.WelcomeLast(h.ctx, bot.WelcomePersonal, hal.ID); err != nil || last.IsZero() {
		t.Fatalf("welcome not recorded: %v, %v", last, err)
	}
}

func TestE2ETeamWelcomeThroughEngine(t *testing.T) {
	t.Parallel()
	var eng *engine.Engine
	h := newHarness(t, withEngine(t, &eng, nil))
	ivo, jan := h.user("Ivo Kerr"), h.user("Jan Lund")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Payroll", Members: []string{ivo.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID, InstallerID: ivo.ID}))
	h.flush()
	h.delivered(h.emu.AddMember(h.ctx, team.ID, jan.ID))
	h.flush()
	posts := h.fromBot(team.ID)
	if len(posts) != 2 {
		t.Fatalf("General got %d posts, want the team welcome and the member card", len(posts))
	}
	mustContain(t, "member card", cardText(t, posts[1].Activity), "Jan Lund")
	kinds := map[herald.DeliveryKind]int{}
	for _, n := range engineNotifications(t, h) {
		ds, err := eng.Deliveries(h.ctx, n.ID, herald.DeliveryFilter{}, herald.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.State != herald.DeliveryDelivered {
				t.Errorf("delivery %+v not delivered", d)
			}
			kinds[d.Kind]++
		}
	}
	// Team welcome and member card in General; the member's personal
	// message.
	if kinds[herald.KindChannel] != 2 || kinds[herald.KindPersonal] != 1 {
		t.Fatalf("deliveries by kind = %v", kinds)
	}
}
