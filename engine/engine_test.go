package engine_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore"
	"herald/sqlstore/sqlstoretest"
)

// engBundle is an engine wired to a real store (SQLite unless told) and
// the emulator.
type engBundle struct {
	emu    *emulator.Emulator
	srv    *httptest.Server
	store  *sqlstore.Store
	eng    *engine.Engine
	cfg    engine.Config
	nUsers atomic.Int64
}

type engOpts struct {
	emuLimits   emulator.Limits
	limits      engine.Limits
	retry       engine.RetryPolicy
	concurrency int
	node        string
	db          string          // sqlstoretest.SQLite (the default) or sqlstoretest.Postgres
	store       *sqlstore.Store // a store to use rather than a fresh one on db
	heartbeat   time.Duration
	noStart     bool
}

func newEngBundle(t *testing.T, o engOpts) *engBundle {
	t.Helper()
	emu := emulator.New(emulator.Config{Limits: o.emuLimits})
	srv := httptest.NewServer(emu)
	emu.SetBaseURL(srv.URL)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	b := &engBundle{emu: emu, srv: srv}
	st := o.store
	if st == nil {
		st = sqlstoretest.Open(t, cmp.Or(o.db, sqlstoretest.SQLite))
	}
	b.store = st
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{
		AppID: emu.AppID(), AppSecret: emu.AppSecret(), Authority: srv.URL, HTTPClient: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{
		HTTPClient: srv.Client(), Tokens: tokens, TrustedHosts: []string{srv.Listener.Addr().String()},
	})
	retry := o.retry
	if retry.BaseDelay == 0 {
		retry.BaseDelay = 20 * time.Millisecond
		retry.MaxDelay = 200 * time.Millisecond
	}
	b.cfg = engine.Config{
		Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: emu.BotID(), Name: "Herald"},
		DefaultServiceURL: emu.ServiceURL(), Limits: o.limits, Retry: retry,
		Concurrency: o.concurrency, NodeID: o.node, Heartbeat: o.heartbeat,
	}
	if !o.noStart {
		b.start(t)
	}
	return b
}

// start creates and starts a new engine on the bundle's store.
func (b *engBundle) start(t *testing.T) *engine.Engine {
	t.Helper()
	eng, err := engine.New(b.cfg)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatalf("start engine: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Errorf("stop engine: %v", err)
		}
	})
	b.eng = eng
	return eng
}

// tenant creates a tenant in the emulator and the directory.
func (b *engBundle) tenant(t *testing.T) string {
	t.Helper()
	tn, err := b.emu.AddTenant(emulator.TenantSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.TenantUpsert(context.Background(), herald.Tenant{ID: tn.ID, ServiceURL: b.emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// user is a user known to the emulator and the directory.
type user struct {
	id, conv, email, name string
}

// users creates n users in tenant, installs the bot for them and records
// them in the directory (with their conversation when withConv).
func (b *engBundle) users(t *testing.T, tenant string, n int, withConv bool) []user {
	t.Helper()
	ctx := context.Background()
	out := make([]user, n)
	for i := range n {
		k := b.nUsers.Add(1)
		u, err := b.emu.AddUser(emulator.UserSpec{TenantID: tenant, Name: fmt.Sprintf("Person%d Test", k)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := b.emu.InstallPersonal(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := herald.UserUpsertParams{ID: u.ID, TenantID: tenant, AADObjectID: u.AADObjectID, UPN: u.UPN, Email: u.Email,
			Name: u.Name, GivenName: u.GivenName, Surname: u.Surname}
		if withConv {
			p.ConversationID = d.ConversationID
		}
		if _, err := b.store.UserUpsert(ctx, p); err != nil {
			t.Fatal(err)
		}
		out[i] = user{id: u.ID, conv: d.ConversationID, email: u.Email, name: u.Name}
	}
	return out
}

// fromBot returns the activities the bot sent in a conversation.
func (b *engBundle) fromBot(conv string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range b.emu.Activities(conv) {
		if a.Direction == emulator.FromBot {
			out = append(out, a)
		}
	}
	return out
}

func (b *engBundle) send(t *testing.T, req herald.NotificationRequest) herald.Notification {
	t.Helper()
	n, err := b.eng.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return n
}

func (b *engBundle) wait(t *testing.T, id string, d time.Duration) herald.Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n, err := b.eng.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait for %s: %v (counts %+v)", id, err, n.Counts)
	}
	return n
}

func (b *engBundle) deliveries(t *testing.T, id string) []herald.Delivery {
	t.Helper()
	var out []herald.Delivery
	var after int64
	for {
		ds, err := b.eng.Deliveries(context.Background(), id, herald.DeliveryFilter{}, herald.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ds...)
		if len(ds) < 1000 {
			return out
		}
		after = ds[len(ds)-1].ID
	}
}

func TestEngineDeliversToTenants(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{})
	t1, t2 := b.tenant(t), b.tenant(t)
	us := append(b.users(t, t1, 12, true), b.users(t, t2, 8, false)...)
	n := b.send(t, herald.NotificationRequest{
		Audience:  herald.Audience{Tenants: []string{t1, t2}},
		Content:   herald.Content{Text: "Hello {{givenName}}, build {{build}} is done"},
		Variables: map[string]string{"build": "#42"},
	})
	if n.Request.Priority != herald.PriorityNormal {
		t.Fatalf("priority = %q, want normal for a tenant audience", n.Request.Priority)
	}
	n = b.wait(t, n.ID, time.Minute)
	if n.State != herald.NotificationCompleted || n.Counts.Delivered != 20 || n.Counts.Total() != 20 || n.Progress.Done != 1 {
		t.Fatalf("notification = %s %+v %+v", n.State, n.Counts, n.Progress)
	}
	for _, u := range us {
		acts := b.fromBot(u.conv)
		if len(acts) != 1 {
			t.Fatalf("user %s got %d messages, want 1", u.id, len(acts))
		}
		want := "Hello " + strings.Fields(u.name)[0] + ", build #42 is done"
		if got := acts[0].Activity.Text; got != want {
			t.Errorf("text = %q, want %q", got, want)
		}
	}
	for _, d := range b.deliveries(t, n.ID) {
		if d.State != herald.DeliveryDelivered || d.ActivityID == "" || d.ConversationID == "" || d.Attempts != 1 || d.DeliveredAt.IsZero() {
			t.Errorf("delivery = %+v", d)
		}
	}
	// Users without a stored conversation got one, and the directory keeps it.
	for _, u := range us[12:] {
		got, err := b.store.UserGet(context.Background(), u.id)
		if err != nil || got.ConversationID != u.conv {
			t.Errorf("user %s conversation = %q (%v), want %q", u.id, got.ConversationID, err, u.conv)
		}
	}
}

func TestEngineSkipsAndFails(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 6, true)
	// us[0] opted out of the topic, us[1] of everything; us[2] blocked the
	// bot and us[3] removed the app (Teams knows, Herald does not yet).
	if err := b.store.PreferenceSet(ctx, us[0].id, "deploys", true); err != nil {
		t.Fatal(err)
	}
	if err := b.store.PreferenceSet(ctx, us[1].id, herald.TopicAll, true); err != nil {
		t.Fatal(err)
	}
	if err := b.emu.SetBlocked(us[2].id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.emu.UninstallPersonal(ctx, us[3].id); err != nil {
		t.Fatal(err)
	}
	req := herald.NotificationRequest{
		Audience: herald.Audience{Users: []string{us[0].email, strings.ToUpper(us[1].email), us[2].id, us[3].id, us[4].id, "nobody@nowhere.example"}},
		Content:  herald.Content{Text: "Deploy finished"},
		Topic:    "deploys",
	}
	n := b.send(t, req)
	if n.Request.Priority != herald.PriorityHigh {
		t.Fatalf("priority = %q, want high for a few users", n.Request.Priority)
	}
	n = b.wait(t, n.ID, time.Minute)
	want := herald.Counts{Delivered: 1, Skipped: 3, Failed: 2}
	if n.Counts != want {
		t.Fatalf("counts = %+v, want %+v", n.Counts, want)
	}
	byRecipient := map[string]herald.Delivery{}
	for _, d := range b.deliveries(t, n.ID) {
		byRecipient[d.Recipient] = d
	}
	checks := []struct {
		recipient string
		state     herald.DeliveryState
		reason    herald.Reason
		attempts  int
	}{
		{us[0].id, herald.DeliverySkipped, herald.ReasonOptedOut, 0},
		{us[1].id, herald.DeliverySkipped, herald.ReasonOptedOut, 0},
		{us[2].id, herald.DeliveryFailed, herald.ReasonBlocked, 1},
		{us[3].id, herald.DeliveryFailed, herald.ReasonUninstalled, 1},
		{us[4].id, herald.DeliveryDelivered, "", 1},
		{"user:nobody@nowhere.example", herald.DeliverySkipped, herald.ReasonUnresolved, 0},
	}
	for _, c := range checks {
		d, ok := byRecipient[c.recipient]
		if !ok || d.State != c.state || d.Reason != c.reason || d.Attempts != c.attempts {
			t.Errorf("delivery to %s = %+v, want %s/%s after %d attempts", c.recipient, d, c.state, c.reason, c.attempts)
		}
	}
	// The directory learnt who is unreachable: the next notification skips
	// them without calling Teams; a critical topic ignores opt-outs.
	for i, field := range []func(herald.User) bool{func(u herald.User) bool { return u.Blocked }, func(u herald.User) bool { return u.Uninstalled }} {
		u, err := b.store.UserGet(ctx, us[2+i].id)
		if err != nil || !field(u) {
			t.Fatalf("directory did not learn about %s: %+v %v", us[2+i].id, u, err)
		}
	}
	before := b.emu.Counters().Requests
	req.Critical = true
	n = b.wait(t, b.send(t, req).ID, time.Minute)
	if want := (herald.Counts{Delivered: 3, Skipped: 3}); n.Counts != want {
		t.Fatalf("critical counts = %+v, want %+v", n.Counts, want)
	}
	if got := b.emu.Counters().Requests - before; got != 3 {
		t.Fatalf("critical send made %d requests, want 3", got)
	}
}

func TestEngineFaults(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineFaults(t, db)
		})
	}
}

func testEngineFaults(t *testing.T, db string) {
	// Teams answers 10% of calls 503, adds latency, and allows the tenant
	// less than Herald's pacing assumes, so Herald meets 429s too: every
	// reachable recipient gets exactly one message.
	b := newEngBundle(t, engOpts{
		db:          db,
		emuLimits:   emulator.Limits{TenantRPS: 30},
		limits:      engine.Limits{TenantRPS: 60},
		retry:       engine.RetryPolicy{MaxAttempts: 10, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		concurrency: 16,
	})
	if err := b.emu.SetFaults(emulator.Faults{ErrorRate5xx: 0.10, LatencyMs: 15}); err != nil {
		t.Fatal(err)
	}
	tn := b.tenant(t)
	us := b.users(t, tn, 150, true)
	blocked, gone := us[0], us[1]
	if err := b.emu.SetBlocked(blocked.id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.emu.UninstallPersonal(context.Background(), gone.id); err != nil {
		t.Fatal(err)
	}
	n := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Tenants: []string{tn}},
		Content:  herald.Content{Text: "Incident resolved"},
	}).ID, 2*time.Minute)
	if want := (herald.Counts{Delivered: 148, Failed: 2}); n.Counts != want {
		t.Fatalf("counts = %+v, want %+v", n.Counts, want)
	}
	for _, u := range us[2:] {
		if got := len(b.fromBot(u.conv)); got != 1 {
			t.Errorf("user %s got %d messages, want exactly 1", u.id, got)
		}
	}
	// The 403 ended each unreachable user's delivery: the emulator saw
	// exactly one 403 for the conversation, and nothing after it.
	for _, u := range []user{blocked, gone} {
		var statuses []int
		for _, r := range b.emu.Requests() {
			if r.ConversationID == u.conv {
				statuses = append(statuses, r.Status)
			}
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != 403 || countOf(statuses, 403) != 1 {
			t.Errorf("requests to %s answered %v: want the last and only 403", u.id, statuses)
		}
	}
	retried, throttled := 0, 0
	for _, d := range b.deliveries(t, n.ID) {
		switch d.Recipient {
		case blocked.id, gone.id:
			if d.State != herald.DeliveryFailed {
				t.Errorf("unreachable user not failed: %+v", d)
			}
		}
		if d.Attempts > 1 {
			retried++
		}
		throttled += d.Throttles
	}
	c := b.emu.Counters()
	t.Logf("503s=%d 429s=%d retried=%d throttled=%d", c.Statuses["503"], c.Statuses["429"], retried, throttled)
	if retried == 0 || c.Statuses["503"] == 0 {
		t.Fatalf("no transient failure was retried (503s=%d)", c.Statuses["503"])
	}
	if c.Statuses["429"] == 0 || int64(throttled) != c.Statuses["429"] {
		t.Fatalf("429s = %d, throttles recorded = %d: want some, all recorded", c.Statuses["429"], throttled)
	}
}

func countOf(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
