package bot_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// memberFetches returns the statuses of the emulator's answers to GET
// /v3/conversations/{id}/members/{userID}, oldest first.
func memberFetches(h *harness, userID string) []int {
	var out []int
	for _, r := range h.emu.Requests() {
		if r.Method == http.MethodGet && r.Operation == "member" && strings.HasSuffix(r.Path, "/members/"+userID) {
			out = append(out, r.Status)
		}
	}
	return out
}

// soloUser adds a user, in no team, with an email and a different UPN.
func (h *harness) soloUser(name, email, upn string) emulator.User {
	h.t.Helper()
	u, err := h.emu.AddUser(emulator.UserSpec{TenantID: h.tenant.ID, Name: name, Email: email, UPN: upn})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) say(from, text string) {
	h.t.Helper()
	res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: from, Text: text})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(res.BotStatus) == 0 || res.BotStatus[0] != http.StatusOK {
		h.t.Fatalf("message %q: bot answered %v", text, res.BotStatus)
	}
}

// mustFind checks that every identifier finds the user in the directory.
func mustFind(t *testing.T, h *harness, want emulator.User, identifiers ...string) {
	t.Helper()
	for _, id := range identifiers {
		u, err := h.store.UserFind(h.ctx, "", id)
		if err != nil {
			t.Fatalf("UserFind(%q): %v", id, err)
		}
		if u.ID != want.ID || u.Email != want.Email || u.UPN != want.UPN || u.AADObjectID != want.AADObjectID ||
			u.GivenName != want.GivenName || u.Surname != want.Surname || u.TenantID != want.TenantID {
			t.Fatalf("UserFind(%q) = %+v, want %+v", id, u, want)
		}
	}
}

func TestE2EPersonalInstallLearnsEmailOnce(t *testing.T) {
	t.Parallel()
	var eng *engine.Engine
	h := newHarness(t, withEngine(t, &eng, nil))
	alice := h.soloUser("Alice Smith", "alice.smith@contoso.example", "asmith@corp.contoso.example")
	h.delivered(h.emu.InstallPersonal(h.ctx, alice.ID))
	// Teams told the bot her ids, not her email or UPN.
	if _, err := h.store.UserFind(h.ctx, "", alice.Email); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("before the fetch, UserFind(email) = %v, want ErrNotFound", err)
	}
	// She writes twice before the background work runs: still one fetch.
	h.say(alice.ID, "hello")
	h.say(alice.ID, "topics")
	h.flush()
	mustFind(t, h, alice, alice.Email, alice.UPN, strings.ToUpper(alice.Email))
	if got := memberFetches(h, alice.ID); len(got) != 1 || got[0] != http.StatusOK {
		t.Fatalf("member fetches answered %v, want one 200", got)
	}

	// Messages, an uninstall and a re-install later: the details are known,
	// nothing is fetched again.
	h.say(alice.ID, "help")
	h.delivered(h.emu.UninstallPersonal(h.ctx, alice.ID))
	h.delivered(h.emu.InstallPersonal(h.ctx, alice.ID))
	h.say(alice.ID, "topics")
	h.flush()
	if got := memberFetches(h, alice.ID); len(got) != 1 {
		t.Fatalf("member fetched %d times, want once", len(got))
	}

	// A notification addressed by email, or by UPN, reaches her.
	for _, to := range []string{alice.Email, alice.UPN} {
		n, err := eng.Send(h.ctx, herald.NotificationRequest{Audience: herald.Audience{Users: []string{to}},
			Content: herald.Content{Text: "Your report is ready (" + to + ")"}})
		if err != nil {
			t.Fatal(err)
		}
		if n, err = eng.Wait(h.ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if n.Counts != (herald.Counts{Delivered: 1}) {
			t.Fatalf("notification to %s: counts %+v, want 1 delivered", to, n.Counts)
		}
	}
}

func TestE2EUserDetailsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	var clock atomic.Pointer[time.Time]
	h := newHarness(t, clocked(&clock), func(c *bot.Config) { c.TaskAttempts = 3 })
	bo := h.soloUser("Bo Lind", "bo.lind@contoso.example", "blind@corp.contoso.example")
	if err := h.emu.SetFaults(emulator.Faults{ErrorRate5xx: 1, Operations: []string{"member"}}); err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallPersonal(h.ctx, bo.ID))
	h.flush()
	// Retried with backoff up to its attempts, then dropped.
	if got := memberFetches(h, bo.ID); len(got) != 3 || got[2] != http.StatusServiceUnavailable {
		t.Fatalf("member fetches answered %v, want three 503s", got)
	}
	// After a fetch came back empty, messages do not queue another soon.
	h.say(bo.ID, "hello")
	h.flush()
	if got := memberFetches(h, bo.ID); len(got) != 3 {
		t.Fatalf("fetched %d times right after the drop", len(got))
	}
	if err := h.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	advance(&clock, 2*time.Hour)
	h.say(bo.ID, "hello again")
	h.flush()
	if got := memberFetches(h, bo.ID); len(got) != 4 || got[3] != http.StatusOK {
		t.Fatalf("member fetches answered %v, want three 503s then 200", got)
	}
	mustFind(t, h, bo, bo.Email, bo.UPN)
}

func TestE2EUserDetailsDroppedOnForbidden(t *testing.T) {
	t.Parallel()
	var clock atomic.Pointer[time.Time]
	h := newHarness(t, clocked(&clock))
	cy := h.soloUser("Cy Moss", "cy.moss@contoso.example", "cmoss@corp.contoso.example")
	h.delivered(h.emu.InstallPersonal(h.ctx, cy.ID))
	// The admin disables the bot before the fetch runs: 403, not retried.
	if err := h.emu.SetTenantDisabled(h.tenant.ID, true); err != nil {
		t.Fatal(err)
	}
	h.flush()
	advance(&clock, 10*time.Minute)
	h.flush()
	if got := memberFetches(h, cy.ID); len(got) != 1 || got[0] != http.StatusForbidden {
		t.Fatalf("member fetches answered %v, want one 403", got)
	}
	if u, err := h.store.UserGet(h.ctx, cy.ID); err != nil || u.Blocked || u.Email != "" {
		t.Fatalf("after the 403: %+v, %v (want not blocked, no email)", u, err)
	}

	// Re-enabled: his messages do not fetch again until the back-off has
	// passed; the first message after it does.
	if err := h.emu.SetTenantDisabled(h.tenant.ID, false); err != nil {
		t.Fatal(err)
	}
	h.say(cy.ID, "hello")
	h.flush()
	if got := memberFetches(h, cy.ID); len(got) != 1 {
		t.Fatalf("fetched %d times within the back-off", len(got))
	}
	advance(&clock, time.Hour)
	h.say(cy.ID, "hello again")
	h.flush()
	if got := memberFetches(h, cy.ID); len(got) != 2 || got[1] != http.StatusOK {
		t.Fatalf("member fetches answered %v, want 403 then 200", got)
	}
	mustFind(t, h, cy, cy.Email, cy.UPN)
}

// staticToken is a TokenSource for a Connector whose Teams accepts any
// token.
type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

func TestUserDetailsBlockedMarksUserBlocked(t *testing.T) {
	t.Parallel()
	// Teams answers the member fetch with the 403 of a user who blocked
	// the bot (the emulator blocks only writes, so a plain server plays
	// Teams here).
	const userID = "29:blocker"
	var fetches atomic.Int32
	teams := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/teams/v3/conversations/a:conv-"+userID+"/members/"+userID {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":{"code":"ConversationBlockedByUser","message":"User blocked the conversation with the bot."}}`)
	}))
	t.Cleanup(teams.Close)
	host, _ := url.Parse(teams.URL)
	lb := newLocalBot(t, func(c *bot.Config) {
		c.DisableCommands = true
		c.Connector = botframework.NewConnector(botframework.ConnectorOptions{Tokens: staticToken("token"),
			TrustedHosts: []string{host.Host}})
	})
	// The bot's jobs run only when the test flushes.
	gate := newJobGate()
	startJobRunner(t, lb.eng, gate.wrap(lb.bot.RunJob))
	t.Cleanup(gate.setFree)
	flush := func() {
		t.Helper()
		gate.open()
		defer gate.shut()
		if err := lb.eng.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	serviceURL := teams.URL + "/teams/"
	write := func(text string) {
		t.Helper()
		body := activityJSON(t, map[string]any{"type": "message", "text": text, "serviceUrl": serviceURL,
			"from":         map[string]any{"id": userID, "name": "Di Block", "aadObjectId": "aad-blocker"},
			"conversation": map[string]any{"id": "a:conv-" + userID, "conversationType": "personal", "tenantId": "tenant-1"}})
		resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, serviceURL, nil), body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	write("hi")
	write("anyone?")
	flush()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("member fetched %d times, want once (a 403 is not retried)", n)
	}
	if u, err := lb.store.UserGet(ctx, userID); err != nil || !u.Blocked {
		t.Fatalf("after the 403: %+v, %v (want blocked)", u, err)
	}
	// Writing again unblocks her, and the details are tried again at once.
	write("back")
	if u, err := lb.store.UserGet(ctx, userID); err != nil || u.Blocked {
		t.Fatalf("after she wrote: %+v, %v (want not blocked)", u, err)
	}
	flush()
	if n := fetches.Load(); n != 2 {
		t.Fatalf("member fetched %d times, want twice", n)
	}
}
