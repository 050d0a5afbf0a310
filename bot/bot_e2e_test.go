package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/bot"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore"
)

// harness is Herald's bot endpoint wired to an in-process emulator, both
// on real loopback HTTP servers, with a SQLite directory.
type harness struct {
	t      *testing.T
	ctx    context.Context
	emu    *emulator.Emulator
	emuURL string
	botURL string
	bot    *bot.Bot
	eng    *engine.Engine // the job runner (River) the bot's jobs run in
	gate   *jobGate       // the bot's jobs run only in flush, unless freed
	cfg    bot.Config
	store  *sqlstore.Store
	tenant emulator.Tenant
}

const guideURL = "https://intranet.example.com/new-hire-guide"

func newHarness(t *testing.T, configure ...func(*bot.Config)) *harness {
	t.Helper()
	// A guard against hanging only: a loaded machine running -race may
	// take its time.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	botMux := http.NewServeMux()
	botSrv := httptest.NewServer(botMux)
	t.Cleanup(botSrv.Close)
	emu := emulator.New(emulator.Config{BotURL: botSrv.URL + "/api/messages"})
	t.Cleanup(emu.Close)
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	emu.SetBaseURL(emuSrv.URL)

	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "herald.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: emu.AppID(), MetadataURL: emu.MetadataURL()})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emu.AppID(), AppSecret: emu.AppSecret(), Authority: emu.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(emuSrv.URL)
	conn := botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens, TrustedHosts: []string{u.Host}})
	cfg := bot.Config{
		AppID: emu.AppID(), Verifier: verifier, Connector: conn, Store: store,
		Welcome: bot.WelcomeConfig{GuideURL: guideURL},
		Topics: []herald.Topic{
			{Name: "deploys", Description: "a deploy finished"},
			{Name: "incidents", Description: "an incident was opened", Critical: true},
			{Name: "digest", Description: "the weekly digest", DefaultOff: true},
		},
	}
	eng := newJobRunner(t, store, conn, emu.AppID())
	cfg.Jobs = eng
	for _, f := range configure {
		f(&cfg)
	}
	bot, err := bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gate := newJobGate()
	startJobRunner(t, eng, gate.wrap(bot.RunJob))
	t.Cleanup(gate.setFree) // runs before the engine stops: held jobs end
	botMux.Handle("/api/messages", bot)
	tenant, err := emu.AddTenant(emulator.TenantSpec{Name: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.Err(); err != nil {
			t.Errorf("emulator saw unexpected requests: %v", err)
		}
	})
	return &harness{t: t, ctx: ctx, emu: emu, emuURL: emuSrv.URL, botURL: botSrv.URL + "/api/messages",
		bot: bot, eng: eng, gate: gate, cfg: cfg, store: store, tenant: tenant}
}

// newJobRunner returns a delivery engine over store, whose job runner
// runs the bot's jobs, with quick retries.
func newJobRunner(t *testing.T, store *sqlstore.Store, conn *botframework.Connector, appID string) *engine.Engine {
	t.Helper()
	eng, err := engine.New(engine.Config{Store: store, Queue: store.RiverDriver(), Connector: conn,
		Bot: botframework.ChannelAccount{ID: "28:" + appID}, NodeID: "bot-test",
		Retry: engine.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// startJobRunner registers h with eng and starts it until the test ends.
func startJobRunner(t *testing.T, eng *engine.Engine, h herald.JobHandler) {
	t.Helper()
	eng.HandleJobs(h)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Errorf("stop engine: %v", err)
		}
	})
}

func (h *harness) user(name string) emulator.User {
	h.t.Helper()
	u, err := h.emu.AddUser(emulator.UserSpec{TenantID: h.tenant.ID, Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) flush() {
	h.t.Helper()
	h.gate.open()
	defer h.gate.shut()
	if err := h.eng.Drain(h.ctx); err != nil {
		h.t.Fatalf("flush: %v", err)
	}
}

// delivered checks that the bot answered every activity of a step 200.
func (h *harness) delivered(d emulator.Delivery, err error) emulator.Delivery {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	if len(d.BotStatus) == 0 {
		h.t.Fatal("the step posted no activity")
	}
	for i, s := range d.BotStatus {
		if s != http.StatusOK {
			h.t.Fatalf("activity %d answered %d, want 200", i, s)
		}
	}
	return d
}

// fromBot returns the activities the bot sent into a conversation.
func (h *harness) fromBot(convID string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range h.emu.Activities(convID) {
		if a.Direction == emulator.FromBot {
			out = append(out, a)
		}
	}
	return out
}

// cardText returns every text of an activity's Adaptive Cards, joined.
func cardText(t *testing.T, a botframework.Activity) string {
	t.Helper()
	var sb strings.Builder
	for _, att := range a.Attachments {
		if att.ContentType != "application/vnd.microsoft.card.adaptive" {
			t.Fatalf("attachment type %q, want an Adaptive Card", att.ContentType)
		}
		var c struct {
			Version string            `json:"version"`
			Body    []json.RawMessage `json:"body"`
			Actions []json.RawMessage `json:"actions"`
		}
		raw, _ := json.Marshal(att.Content)
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("card: %v", err)
		}
		if c.Version != "1.5" {
			t.Errorf("card version %q, want 1.5", c.Version)
		}
		collectText(&sb, raw)
	}
	return sb.String()
}

// collectText appends every "text", "title", "value" and "url" string in a
// JSON document.
func collectText(sb *strings.Builder, raw []byte) {
	var v any
	_ = json.Unmarshal(raw, &v)
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "text" || k == "title" || k == "value" || k == "url") {
					sb.WriteString(s)
					sb.WriteString("\n")
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, text)
		}
	}
}

func TestE2EPersonalInstall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	alice := h.user("Alice Smith")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, alice.ID))

	u, err := h.store.UserGet(h.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.ConversationID != d.ConversationID || !u.Installed || u.TenantID != h.tenant.ID || u.AADObjectID != alice.AADObjectID ||
		u.Name != "Alice Smith" || u.Locale != alice.Locale || u.TimeZone != alice.Timezone || u.ServiceURL != h.emu.ServiceURL() {
		t.Fatalf("recorded user = %+v", u)
	}
	if tn, err := h.store.TenantGet(h.ctx, h.tenant.ID); err != nil || tn.ServiceURL != h.emu.ServiceURL() {
		t.Fatalf("tenant = %+v, %v", tn, err)
	}
	if got := h.fromBot(d.ConversationID); len(got) != 0 {
		t.Fatalf("welcome sent before the request was answered: %d", len(got))
	}

	h.flush()
	sent := h.fromBot(d.ConversationID)
	if len(sent) != 1 {
		t.Fatalf("bot sent %d activities after install (two install events), want one welcome", len(sent))
	}
	mustContain(t, "personal welcome", cardText(t, sent[0].Activity),
		"Alice Smith", "Herald", "because", "added to your personal chats", "help", "topics")

	// Uninstall and re-install within the window: no second welcome.
	h.delivered(h.emu.UninstallPersonal(h.ctx, alice.ID))
	if u, _ := h.store.UserGet(h.ctx, alice.ID); !u.Uninstalled || u.Installed {
		t.Fatalf("after uninstall: %+v", u)
	}
	h.delivered(h.emu.InstallPersonal(h.ctx, alice.ID))
	h.flush()
	if got := h.fromBot(d.ConversationID); len(got) != 1 {
		t.Fatalf("re-install within the window: bot sent %d activities, want still 1", len(got))
	}
	if u, _ := h.store.UserGet(h.ctx, alice.ID); !u.Installed || u.Uninstalled {
		t.Fatalf("after re-install: %+v", u)
	}
}

func TestE2EReinstallAfterWindow(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	h := newHarness(t, func(c *bot.Config) {
		c.Now = func() time.Time { return clock() }
		c.Welcome.Window = time.Hour
	})
	bob := h.user("Bob Jones")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, bob.ID))
	h.flush()
	h.delivered(h.emu.UninstallPersonal(h.ctx, bob.ID))
	later := now.Add(2 * time.Hour)
	clock = func() time.Time { return later }
	h.delivered(h.emu.InstallPersonal(h.ctx, bob.ID))
	h.flush()
	if got := h.fromBot(d.ConversationID); len(got) != 2 {
		t.Fatalf("re-install after the window: bot sent %d welcomes, want 2", len(got))
	}
}

func TestE2ETeamInstall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, ben, cat := h.user("Ann Lee"), h.user("Ben Ode"), h.user("Cat Ray")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Platform",
		Members: []string{ann.ID, ben.ID, cat.ID}, Channels: []string{"Releases", "Incidents"}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID, InstallerID: ben.ID}))
	tm, err := h.store.TeamGet(h.ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !tm.Installed || tm.Name != "Platform" || tm.AADGroupID != team.AADGroupID || tm.TenantID != h.tenant.ID {
		t.Fatalf("recorded team = %+v", tm)
	}
	h.flush()

	chans, err := h.store.ChannelList(h.ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range chans {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "General,Incidents,Releases" {
		t.Fatalf("channels = %v", names)
	}
	members, err := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 3 {
		t.Fatalf("members = %d, want 3", len(members))
	}
	for _, m := range members {
		want, _ := h.emu.User(m.ID)
		if m.Name != want.Name || m.Email != want.Email || m.UPN != want.UPN || m.AADObjectID != want.AADObjectID || m.TenantID != h.tenant.ID {
			t.Errorf("member %+v, want %+v", m, want)
		}
	}
	if tm, _ := h.store.TeamGet(h.ctx, team.ID); tm.RosterAt.IsZero() {
		t.Error("roster time not recorded")
	}
	sent := h.fromBot(team.ID)
	if len(sent) != 1 {
		t.Fatalf("bot posted %d activities in General, want one welcome", len(sent))
	}
	mustContain(t, "team welcome", cardText(t, sent[0].Activity), "Herald", "Platform", "Ben Ode", "help")

	// A channel created later, and a rename, reach the directory.
	ch, _, err := h.emu.AddChannel(h.ctx, team.ID, "Design")
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.RenameTeam(h.ctx, team.ID, "Platform Team"))
	if c, err := h.store.ChannelFind(h.ctx, team.ID, "design"); err != nil || c.ID != ch.ID {
		t.Fatalf("new channel: %+v, %v", c, err)
	}
	if tm, _ := h.store.TeamFind(h.ctx, "platform team"); tm.ID != team.ID {
		t.Fatalf("renamed team not found: %+v", tm)
	}
	h.delivered(h.emu.UninstallTeam(h.ctx, team.ID))
	if tm, _ := h.store.TeamGet(h.ctx, team.ID); tm.Installed {
		t.Fatal("team still installed after the bot was removed")
	}
}

func TestE2ELargeTeamSkipsWelcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *bot.Config) { c.Welcome.LargeTeam = 2 })
	a, b, c := h.user("A One"), h.user("B Two"), h.user("C Three")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Big", Members: []string{a.ID, b.ID, c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	if got := h.fromBot(team.ID); len(got) != 0 {
		t.Fatalf("team over the threshold got %d welcomes", len(got))
	}
	if ms, _ := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID}); len(ms) != 3 {
		t.Fatalf("roster not recorded: %d", len(ms))
	}
}

func TestE2EMemberAdded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.user("Ann Lee")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Sales", Members: []string{ann.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	before := len(h.fromBot(team.ID))

	dan := h.user("Dan Newman")
	h.delivered(h.emu.AddMember(h.ctx, team.ID, dan.ID))
	h.flush()
	posts := h.fromBot(team.ID)
	if len(posts) != before+1 {
		t.Fatalf("General got %d new posts, want 1", len(posts)-before)
	}
	mustContain(t, "member channel card", cardText(t, posts[len(posts)-1].Activity), "Dan Newman", "Sales")

	u, err := h.store.UserGet(h.ctx, dan.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.ConversationID == "" {
		t.Fatal("no personal conversation recorded for the new member")
	}
	dm := h.fromBot(u.ConversationID)
	if len(dm) != 1 {
		t.Fatalf("new member got %d personal messages, want 1", len(dm))
	}
	mustContain(t, "member personal message", cardText(t, dm[0].Activity), guideURL, "Sales", "Dan Newman")
	if ms, _ := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID}); len(ms) != 2 {
		t.Fatalf("memberships = %d, want 2", len(ms))
	}

	// Removing the member drops the membership.
	h.delivered(h.emu.RemoveMember(h.ctx, team.ID, dan.ID))
	if ms, _ := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID}); len(ms) != 1 {
		t.Fatalf("after removal memberships = %d, want 1", len(ms))
	}
}

func TestE2EUninstalledRefusedBeforeAnyCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	eve := h.user("Eve Stone")
	h.delivered(h.emu.InstallPersonal(h.ctx, eve.ID))
	h.flush()
	h.delivered(h.emu.UninstallPersonal(h.ctx, eve.ID))
	calls := len(h.emu.Requests())
	_, err := h.bot.SendToUser(h.ctx, eve.AADObjectID, &botframework.Activity{Text: "hello"})
	if !errors.Is(err, herald.ErrUnreachable) {
		t.Fatalf("send to uninstalled user: err = %v, want ErrUnreachable", err)
	}
	if got := len(h.emu.Requests()); got != calls {
		t.Fatalf("the refused send made %d Connector calls", got-calls)
	}
}

func TestE2EBlockedMarkedOnFirst403(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fay := h.user("Fay Wong")
	h.delivered(h.emu.InstallPersonal(h.ctx, fay.ID))
	h.flush()
	if err := h.emu.SetBlocked(fay.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err := h.bot.SendToUser(h.ctx, fay.ID, &botframework.Activity{Text: "hello"})
	if c := botframework.Classify(err); c.Reason != botframework.ReasonBlockedByUser {
		t.Fatalf("send to blocking user: err = %v (reason %q)", err, c.Reason)
	}
	u, _ := h.store.UserGet(h.ctx, fay.ID)
	if !u.Blocked {
		t.Fatal("user not marked blocked after the first 403")
	}
	calls := len(h.emu.Requests())
	if _, err := h.bot.SendToUser(h.ctx, fay.ID, &botframework.Activity{Text: "again"}); !errors.Is(err, herald.ErrUnreachable) {
		t.Fatalf("second send: err = %v, want ErrUnreachable", err)
	}
	if len(h.emu.Requests()) != calls {
		t.Fatal("second send to a blocked user called Teams")
	}
}

func TestE2EDuplicateInstallEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gus := h.user("Gus Hale")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, gus.ID))
	h.flush()
	var install json.RawMessage
	for _, a := range h.emu.Activities(d.ConversationID) {
		if a.Direction == emulator.ToBot && a.Activity.Type == botframework.TypeInstallationUpdate {
			install = a.Raw
		}
	}
	if install == nil {
		t.Fatal("no installationUpdate recorded")
	}
	for range 2 {
		res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid, Activity: install})
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("replayed install event: %+v, %v", res, err)
		}
	}
	h.flush()
	if got := h.fromBot(d.ConversationID); len(got) != 1 {
		t.Fatalf("duplicate install events: bot sent %d welcomes, want 1", len(got))
	}
}

func TestE2EForgedTokensRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ivy := h.user("Ivy Moss")
	for _, kind := range emulator.ForgeKinds() {
		if kind == emulator.ForgeValid {
			continue
		}
		res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusUnauthorized {
			t.Errorf("forged %s: status %d, want 401", kind, res.Status)
		}
	}
	if _, err := h.store.UserGet(h.ctx, ivy.ID); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("a refused activity recorded its sender (err %v)", err)
	}
	if _, err := h.store.TenantGet(h.ctx, h.tenant.ID); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("a refused activity recorded its tenant (err %v)", err)
	}
	res, err := h.emu.Forge(h.ctx, emulator.ForgeSpec{Kind: emulator.ForgeValid})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("valid token: %+v, %v", res, err)
	}
	if _, err := h.store.UserGet(h.ctx, ivy.ID); err != nil {
		t.Fatalf("the verified activity's sender was not recorded: %v", err)
	}
}

func TestE2EMentionMakesUserReachable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann, kim := h.user("Ann Lee"), h.user("Kim Park")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Ops", Members: []string{ann.ID, kim.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID, InstallerID: ann.ID}))
	// No flush: the roster is not fetched, so only the mention can tell
	// the bot about Kim.
	if _, err := h.store.UserGet(h.ctx, kim.ID); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("Kim known before the mention (err %v)", err)
	}
	res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: ann.ID, ConversationID: team.ID,
		Text: "please look at this", Mentions: []string{"bot", kim.ID}})
	if err != nil || !res.Delivered {
		t.Fatalf("channel message: %+v, %v", res, err)
	}
	u, err := h.store.UserGet(h.ctx, kim.ID)
	if err != nil {
		t.Fatalf("mentioned user not recorded: %v", err)
	}
	if u.Name != "Kim Park" || u.TenantID != h.tenant.ID || u.ServiceURL == "" {
		t.Fatalf("mentioned user = %+v", u)
	}
	if _, err := h.bot.SendToUser(h.ctx, kim.ID, &botframework.Activity{Text: "you were mentioned"}); err != nil {
		t.Fatalf("send to the mentioned user: %v", err)
	}
	u, _ = h.store.UserGet(h.ctx, kim.ID)
	if got := h.fromBot(u.ConversationID); len(got) != 1 || got[0].Activity.Text != "you were mentioned" {
		t.Fatalf("mentioned user's chat: %+v", got)
	}
	// The sender is recorded as a member of the team.
	if ms, _ := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID}); len(ms) != 1 || ms[0].ID != ann.ID {
		t.Fatalf("memberships after the channel message: %+v", ms)
	}
}

func TestE2ECommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	jo := h.user("Jo March")
	say := func(text string) string {
		t.Helper()
		res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: jo.ID, Text: text})
		if err != nil || !res.Delivered {
			t.Fatalf("say %q: %+v, %v", text, res, err)
		}
		for _, s := range res.BotStatus {
			if s != http.StatusOK {
				t.Fatalf("say %q: bot answered %v", text, res.BotStatus)
			}
		}
		h.flush()
		return res.ConversationID
	}
	lastCard := func(conv string) emulator.RecordedActivity {
		t.Helper()
		sent := h.fromBot(conv)
		if len(sent) == 0 {
			t.Fatal("no answer")
		}
		return sent[len(sent)-1]
	}
	optedOut := func(topic string) bool {
		t.Helper()
		out, err := h.store.UserOptedOut(h.ctx, jo.ID, topic)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Many answers in a few milliseconds would meet Teams' per-conversation
	// rate limit (and a 429 postpones the answer past Flush).
	h.emu.SetLimits(emulator.Limits{Disabled: true})
	// Install first, so the welcome does not race the first answer.
	d := h.delivered(h.emu.InstallPersonal(h.ctx, jo.ID))
	h.flush()
	conv := say("help")
	if conv != d.ConversationID {
		t.Fatalf("message went to %s, not the personal chat %s", conv, d.ConversationID)
	}
	mustContain(t, "help card", cardText(t, lastCard(conv).Activity), "stop <topic>", "start <topic>", "topics")

	say("topics")
	topics := lastCard(conv)
	mustContain(t, "topics card", cardText(t, topics.Activity), "**deploys**: on", "incidents", "always on (critical)", "Turn off",
		"**digest**: off", "Turn on")

	// Submit the card's "turn these off" with two topics selected.
	res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: jo.ID, ReplyToID: topics.ID,
		Value: json.RawMessage(`{"herald":"optout","topics":"deploys,digest,incidents"}`)})
	if err != nil || !res.Delivered {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	h.flush()
	if !optedOut("deploys") || !optedOut("digest") || optedOut("incidents") {
		t.Fatalf("after submit: deploys %v digest %v incidents %v", optedOut("deploys"), optedOut("digest"), optedOut("incidents"))
	}
	updated, ok := h.emu.Activity(conv, topics.ID)
	if !ok || updated.UpdatedAt.IsZero() {
		t.Fatalf("topics card not updated in place: %+v", updated)
	}
	mustContain(t, "updated card", cardText(t, updated.Activity), "Turned off: deploys, digest")

	// The card's own buttons flip one topic each and redraw it in place.
	for _, step := range []struct {
		value, want string
		out         bool
	}{
		{`{"herald":"topic-on","topics":"digest"}`, "Turned on: digest.", false},
		{`{"herald":"topic-off","topics":"digest"}`, "Turned off: digest.", true},
		{`{"herald":"topic-off","topics":"incidents"}`, "Nothing changed.", true},
	} {
		res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: jo.ID, ReplyToID: topics.ID, Value: json.RawMessage(step.value)})
		if err != nil || !res.Delivered {
			t.Fatalf("toggle %s: %+v, %v", step.value, res, err)
		}
		h.flush()
		if optedOut("digest") != step.out || optedOut("incidents") {
			t.Fatalf("after %s: digest opted out %v, incidents %v", step.value, optedOut("digest"), optedOut("incidents"))
		}
		updated, _ := h.emu.Activity(conv, topics.ID)
		mustContain(t, "toggled card", cardText(t, updated.Activity), step.want, "**deploys**: off", "Turn on")
	}

	say("start deploys")
	if optedOut("deploys") || !optedOut("digest") {
		t.Fatal("start deploys did not turn deploys on alone")
	}
	mustContain(t, "start reply", cardText(t, lastCard(conv).Activity), "deploys")

	say("stop")
	// The store records "everything"; critical topics are exempt where
	// notifications are sent, and the reply says so.
	if !optedOut("deploys") || !optedOut("digest") || !optedOut("anything-else") {
		t.Fatal("stop did not turn every topic off")
	}
	mustContain(t, "stop reply", cardText(t, lastCard(conv).Activity), "incidents", "start")

	say("start")
	say("stop incidents")
	mustContain(t, "stop critical reply", cardText(t, lastCard(conv).Activity), "critical")
	if optedOut("incidents") {
		t.Fatal("a critical topic was turned off")
	}

	say("stop nonsense")
	mustContain(t, "unknown topic reply", cardText(t, lastCard(conv).Activity), "nonsense", "deploys")

	say("start")
	if optedOut("deploys") || optedOut("digest") {
		t.Fatal("start did not turn everything back on")
	}

	n := len(h.fromBot(conv))
	say("what is this?")
	if got := h.fromBot(conv); len(got) != n+1 {
		t.Fatalf("unknown text got %d answers", len(got)-n)
	}
	mustContain(t, "fallback", cardText(t, lastCard(conv).Activity), "didn't get that")
}

func TestE2EBackgroundWorker(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.runFreely()
	lea := h.user("Lea Moreau")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, lea.ID))
	got, err := h.emu.AwaitFromBot(h.ctx, d.ConversationID, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "welcome from the worker", cardText(t, got[0].Activity), "Lea Moreau")
}

// restart replaces the bot with a new one over the same store, as after a
// crash: nothing survives but the store.
func (h *harness) restart() {
	h.t.Helper()
	b, err := bot.New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	h.eng.HandleJobs(h.gate.wrap(b.RunJob))
}

// restartNode replaces the job runner and the bot with new ones over the
// same store and node id, as a restarted process: setup (nil: none)
// registers the bot's follow-ups before its jobs run. The old runner is
// taken for a process that died: its registration ends, as a restarted
// process taking the SQLite store's lock ends it.
func (h *harness) restartNode(setup func(*bot.Bot)) {
	h.t.Helper()
	if err := h.store.NodeStop(h.ctx, herald.NodeStopParams{ID: h.eng.NodeID(), Now: time.Now()}); err != nil {
		h.t.Fatal(err)
	}
	h.eng = newJobRunner(h.t, h.store, h.cfg.Connector, h.emu.AppID())
	h.restart()
	if setup != nil {
		setup(h.bot)
	}
	startJobRunner(h.t, h.eng, h.gate.wrap(h.bot.RunJob))
}

func TestE2EWelcomeSurvivesCrash(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	h := newHarness(t, func(c *bot.Config) { c.Now = func() time.Time { return *clock.Load() } })
	mo := h.user("Mo Roth")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, mo.ID))
	// Crash before any background work ran: the welcome is in the store.
	h.restart()
	h.flush()
	if got := h.fromBot(d.ConversationID); len(got) != 1 {
		t.Fatalf("after restart: %d welcomes, want 1", len(got))
	}

	// Crash while a job runs: the node's job runner took the team's job
	// and hangs there (a process that died); the restarted node, with the
	// same node id, takes the job up again at once.
	hung, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var runs atomic.Int32
	h.eng.HandleJobs(func(ctx context.Context, j herald.Job) error {
		if runs.Add(1) > 1 {
			return errors.New("the dead process takes nothing more")
		}
		close(hung)
		<-release
		return errors.New("the process died")
	})
	ann := h.user("Ann Lee")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Legal", Members: []string{ann.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	<-hung
	dead := h.eng
	go func() { _ = dead.Stop(context.Background()) }() // takes no more jobs; its one job hangs
	h.restartNode(nil)
	h.flush()
	if got := h.fromBot(team.ID); len(got) != 1 {
		t.Fatalf("after the restart: %d team welcomes, want 1", len(got))
	}
}

func TestE2ERosterRefresh(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	h := newHarness(t, func(c *bot.Config) {
		c.Now = func() time.Time { return *clock.Load() }
		c.RosterRefresh = time.Hour
	})
	ann, ben := h.user("Ann Lee"), h.user("Ben Ode")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Finance", Members: []string{ann.ID, ben.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	// The directory drifts (a missed event): Ben's membership is lost and
	// a stale one appears.
	if err := h.store.MembershipRemove(h.ctx, team.ID, ben.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.store.MembershipAdd(h.ctx, team.ID, "29:gone"); err != nil {
		t.Fatal(err)
	}
	members := func() string {
		us, err := h.store.UserList(h.ctx, herald.UserListParams{TeamID: team.ID})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		return strings.Join(ids, ",")
	}
	drifted := members()
	// Not due yet: nothing changes.
	if err := h.bot.RefreshRosters(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if got := members(); got != drifted {
		t.Fatalf("refresh before it was due changed members: %s", got)
	}
	later := now.Add(2 * time.Hour)
	clock.Store(&later)
	if err := h.bot.RefreshRosters(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.flush()
	want := []string{ann.ID, ben.ID}
	slices.Sort(want)
	if got := members(); got != strings.Join(want, ",") {
		t.Fatalf("after refresh members = %s, want %v", got, want)
	}
}

func TestE2EGoBotHandlers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *bot.Config) { c.DisableCommands = true })
	h.bot.OnMessage(func(ctx context.Context, turn *bot.Turn) error {
		id, err := turn.Send(ctx, &botframework.Activity{Text: "echo: " + turn.Activity.Text})
		if err != nil {
			return err
		}
		return turn.Update(ctx, id, &botframework.Activity{Text: "echo (edited): " + turn.Activity.Text})
	})
	nia := h.user("Nia Cole")
	res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: nia.ID, Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.BotStatus {
		if s != http.StatusOK {
			t.Fatalf("bot answered %v", res.BotStatus)
		}
	}
	var echo []emulator.RecordedActivity
	for _, a := range h.fromBot(res.ConversationID) {
		if strings.HasPrefix(a.Activity.Text, "echo") {
			echo = append(echo, a)
		}
	}
	if len(echo) != 1 || echo[0].Activity.Text != "echo (edited): help" || echo[0].UpdatedAt.IsZero() {
		t.Fatalf("handler's reply: %+v", echo)
	}
	if echo[0].Activity.ReplyToID != res.ActivityID {
		t.Errorf("reply to %q, want %q", echo[0].Activity.ReplyToID, res.ActivityID)
	}
}

// jobGate holds the bot's jobs until the test flushes, so that a test sees
// what a request did before any background work ran, as it would on a
// busy node; free lets them run at once.
type jobGate struct {
	mu   sync.Mutex
	ch   chan struct{} // closed while jobs may run
	free bool
}

func newJobGate() *jobGate { return &jobGate{ch: make(chan struct{})} }

// wrap returns h behind the gate.
func (g *jobGate) wrap(h herald.JobHandler) herald.JobHandler {
	return func(ctx context.Context, j herald.Job) error {
		g.mu.Lock()
		ch := g.ch
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		return h(ctx, j)
	}
}

// open lets jobs run; shut holds them again (unless freed).
func (g *jobGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ch:
	default:
		close(g.ch)
	}
}

func (g *jobGate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free {
		return
	}
	select {
	case <-g.ch:
		g.ch = make(chan struct{})
	default:
	}
}

// setFree lets jobs run from now on, without flushes.
func (g *jobGate) setFree() {
	g.open()
	g.mu.Lock()
	g.free = true
	g.mu.Unlock()
}

// runFreely lets the job runner work on its own, without flushes, and
// starts the bot's roster refresh until the test ends: the bot as a
// running node has it.
func (h *harness) runFreely() {
	h.t.Helper()
	h.gate.setFree()
	if err := h.bot.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		if err := h.bot.Stop(context.Background()); err != nil {
			h.t.Error(err)
		}
	})
}
