package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore/sqlstoretest"
)

// team creates a team with the bot installed in the emulator and the
// directory, with one extra channel.
func (b *engBundle) team(t *testing.T, tenant string, members []user) emulator.Team {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for _, u := range members {
		ids = append(ids, u.id)
	}
	tm, err := b.emu.AddTeam(emulator.TeamSpec{TenantID: tenant, Name: "Ops", Members: ids, Channels: []string{"Alerts"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.emu.InstallTeam(ctx, emulator.InstallTeamSpec{TeamID: tm.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.TeamUpsert(ctx, herald.TeamUpsertParams{ID: tm.ID, TenantID: tenant, Name: tm.Name,
		GeneralChannelID: tm.ID, ServiceURL: b.emu.ServiceURL()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range tm.Channels {
		if err := b.store.ChannelUpsert(ctx, herald.Channel{ID: c.ID, TeamID: tm.ID, Name: c.Name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.store.MembershipReplace(ctx, tm.ID, ids); err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestEngineChannelsUpdateInPlaceAndReplies(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineChannelsUpdateInPlaceAndReplies(t, db)
		})
	}
}

func testEngineChannelsUpdateInPlaceAndReplies(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	tn := b.tenant(t)
	us := b.users(t, tn, 3, true)
	tm := b.team(t, tn, us)
	alerts := tm.Channels[1]
	if alerts.Name != "Alerts" {
		t.Fatalf("channels = %+v", tm.Channels)
	}
	post := func(text string) herald.Notification {
		return b.wait(t, b.send(t, herald.NotificationRequest{
			Key:      "btc-price",
			Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: "Ops", Channel: "Alerts"}}, Users: []string{us[0].email}},
			Content:  herald.Content{Text: text},
		}).ID, time.Minute)
	}
	first := post("BTC 60,000")
	if first.Counts.Delivered != 2 {
		t.Fatalf("first post counts = %+v", first.Counts)
	}
	second := post("BTC 61,000")
	if second.Counts.Delivered != 2 {
		t.Fatalf("second post counts = %+v", second.Counts)
	}
	// One thread in the channel and one message in the chat, each updated.
	threads := b.fromBot(alerts.ID)
	if len(threads) != 1 || threads[0].Activity.Text != "BTC 61,000" || threads[0].UpdatedAt.IsZero() {
		t.Fatalf("channel activities = %d, first %q", len(threads), firstText(threads))
	}
	chat := b.fromBot(us[0].conv)
	if len(chat) != 1 || chat[0].Activity.Text != "BTC 61,000" {
		t.Fatalf("chat activities = %d, first %q", len(chat), firstText(chat))
	}
	for _, d := range b.deliveries(t, second.ID) {
		if !d.Updated {
			t.Errorf("second delivery not marked as updated: %+v", d)
		}
	}
	// A reply goes into the thread posted under the key.
	reply := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Replies: []string{"btc-price", "no-such-thread"}},
		Content:  herald.Content{Text: "Alert cleared"},
	}).ID, time.Minute)
	if want := (herald.Counts{Delivered: 1, Skipped: 1}); reply.Counts != want {
		t.Fatalf("reply counts = %+v, want %+v", reply.Counts, want)
	}
	var threadConv string
	for _, d := range b.deliveries(t, first.ID) {
		if d.Kind == herald.KindChannel {
			threadConv = d.ConversationID
		}
	}
	acts := b.fromBot(threadConv)
	if len(acts) != 2 || acts[1].Activity.Text != "Alert cleared" {
		t.Fatalf("thread %s has %d bot activities, want root and reply", threadConv, len(acts))
	}
	// A new thread in General when the key is new.
	gen := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: tm.ID}}},
		Content:  herald.Content{Text: "Welcome to Ops"},
	}).ID, time.Minute)
	if gen.Counts.Delivered != 1 || len(b.fromBot(tm.ID)) != 1 {
		t.Fatalf("general post: %+v, %d activities", gen.Counts, len(b.fromBot(tm.ID)))
	}
}

func firstText(acts []emulator.RecordedActivity) string {
	if len(acts) == 0 {
		return ""
	}
	return acts[0].Activity.Text
}

func TestEngineIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{})
	tn := b.tenant(t)
	us := b.users(t, tn, 3, true)
	req := herald.NotificationRequest{IdempotencyKey: "order-17-shipped", Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "Shipped"}}
	n1 := b.send(t, req)
	n2 := b.send(t, req)
	if n1.ID != n2.ID {
		t.Fatalf("same idempotency key gave %s and %s", n1.ID, n2.ID)
	}
	b.wait(t, n1.ID, time.Minute)
	n3 := b.send(t, req)
	if n3.ID != n1.ID || n3.State != herald.NotificationCompleted {
		t.Fatalf("after completion: %s %s", n3.ID, n3.State)
	}
	for _, u := range us {
		if got := len(b.fromBot(u.conv)); got != 1 {
			t.Fatalf("user got %d messages, want 1", got)
		}
	}
}

func TestEngineCancel(t *testing.T) {
	t.Parallel()
	// One tenant at 2 calls per second: the send is slow enough to cancel.
	b := newEngBundle(t, engOpts{limits: engine.Limits{TenantRPS: 2}})
	tn := b.tenant(t)
	b.users(t, tn, 30, true)
	n := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "x"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.emu.Await(ctx, func(e *emulator.Emulator) bool { return e.Counters().Operations["send"] >= 2 }); err != nil {
		t.Fatal(err)
	}
	got, err := b.eng.Cancel(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != herald.NotificationCancelled || got.Counts.Cancelled == 0 {
		t.Fatalf("after cancel: %s %+v", got.State, got.Counts)
	}
	final := b.wait(t, n.ID, time.Minute)
	// Every call Teams saw is delivered or still in flight, and nothing
	// is pending.
	sent := int(b.emu.Counters().Operations["send"])
	if c := final.Counts; c.Delivered > sent || sent > c.Delivered+c.Sending || c.Total() != 30 || c.Pending != 0 || c.Cancelled == 0 {
		t.Fatalf("final counts %+v with %d sends", final.Counts, sent)
	}
	// Nothing else goes out: the in-flight calls finish and are recorded.
	// (The timeout only keeps a broken engine from hanging the test.)
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	for {
		got, err := b.eng.Get(ctx2, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts.Sending == 0 {
			if int64(got.Counts.Delivered) != b.emu.Counters().Operations["send"] {
				t.Fatalf("delivered %d, emulator saw %d sends", got.Counts.Delivered, b.emu.Counters().Operations["send"])
			}
			break
		}
		select {
		case <-ctx2.Done():
			t.Fatalf("in-flight deliveries not recorded: %+v", got.Counts)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestEngineRetryFailed(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{retry: engine.RetryPolicy{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	tn := b.tenant(t)
	us := b.users(t, tn, 4, true)
	// Teams fails every send to us[0] and us[1] for now.
	if err := b.emu.SetFaults(emulator.Faults{ErrorRate5xx: 1, Operations: []string{"send"}}); err != nil {
		t.Fatal(err)
	}
	n := b.wait(t, b.send(t, herald.NotificationRequest{Audience: herald.Audience{Users: []string{us[0].id, us[1].id}}, Content: herald.Content{Text: "x"}}).ID, time.Minute)
	if n.Counts.Failed != 2 {
		t.Fatalf("counts = %+v, want 2 failed", n.Counts)
	}
	for _, d := range b.deliveries(t, n.ID) {
		if d.Attempts != 2 || d.Reason != herald.ReasonOther || d.Error == "" {
			t.Fatalf("failed delivery = %+v", d)
		}
	}
	if err := b.emu.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	k, err := b.eng.Retry(context.Background(), n.ID, herald.RetryOptions{})
	if err != nil || k != 2 {
		t.Fatalf("retry = %d, %v", k, err)
	}
	n = b.wait(t, n.ID, time.Minute)
	if n.Counts.Delivered != 2 {
		t.Fatalf("after retry counts = %+v", n.Counts)
	}
	if k, err := b.eng.Retry(context.Background(), n.ID, herald.RetryOptions{Uncertain: true}); err != nil || k != 0 {
		t.Fatalf("second retry reopened %d (%v); delivered ones must not be resent", k, err)
	}
	for _, u := range us[:2] {
		if got := len(b.fromBot(u.conv)); got != 1 {
			t.Fatalf("user got %d messages, want 1", got)
		}
	}
}

func TestEnginePriorityNotStuckBehindBroadcast(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEnginePriorityNotStuckBehindBroadcast(t, db)
		})
	}
}

func testEnginePriorityNotStuckBehindBroadcast(t *testing.T, db string) {
	// At 2 calls per second the broadcast to 200 people cannot finish in
	// less than 100 s, however fast the machine: its deliveries are queued
	// in the scheduler when the alert arrives. The test asserts the order
	// Teams saw the calls in, never how long anything took.
	const people, queuedAtLeast = 200, 150
	b := newEngBundle(t, engOpts{db: db, limits: engine.Limits{TenantRPS: 2}, concurrency: 4})
	tn := b.tenant(t)
	us := b.users(t, tn, people, true)
	bulk := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "Quarterly update"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.emu.Await(ctx, func(e *emulator.Emulator) bool { return e.Counters().Operations["send"] >= 2 }); err != nil {
		t.Fatal(err)
	}
	target := us[people-1]
	alert := b.wait(t, b.send(t, herald.NotificationRequest{Audience: herald.Audience{Users: []string{target.id}}, Content: herald.Content{Text: "Your build failed"}}).ID, time.Minute)
	if alert.Counts.Delivered != 1 || alert.Request.Priority != herald.PriorityHigh {
		t.Fatalf("alert: %+v %s", alert.Counts, alert.Request.Priority)
	}
	// The broadcast's sends Teams answered before the alert's: without
	// priority the alert would wait behind every queued one. The target
	// is in the broadcast too: its chat shows which of its sends is the
	// alert.
	nth := slices.IndexFunc(b.fromBot(target.conv), func(a emulator.RecordedActivity) bool { return a.Activity.Text == "Your build failed" })
	if nth < 0 {
		t.Fatalf("the alert is not in %s", target.conv)
	}
	before, ok := sendsBefore(b.emu.Requests(), target.conv, nth)
	if !ok {
		t.Fatalf("the emulator recorded no send %d to %s", nth, target.conv)
	}
	if people-before < queuedAtLeast {
		t.Fatalf("the alert went out after %d of the broadcast's %d sends, want at least %d still queued", before, people, queuedAtLeast)
	}
	g, err := b.eng.Get(ctx, bulk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.State.Final() || g.Counts.Pending == 0 {
		t.Fatalf("broadcast already done (%+v): pacing did not hold it back", g.Counts)
	}
	if g.Progress.ETA.IsZero() || g.Progress.Remaining <= 0 {
		t.Fatalf("broadcast progress = %+v, want an ETA", g.Progress)
	}
	if _, err := b.eng.Cancel(ctx, bulk.ID); err != nil {
		t.Fatal(err)
	}
}

// sendsBefore counts the successful sends recorded before the nth (from
// 0) successful send to conv, and reports whether there is one.
func sendsBefore(reqs []emulator.RequestRecord, conv string, nth int) (int, bool) {
	before := 0
	for _, r := range reqs {
		if r.Operation != "send" || r.Status >= 300 {
			continue
		}
		if r.ConversationID == conv {
			if nth == 0 {
				return before, true
			}
			nth--
		}
		before++
	}
	return before, false
}

func TestEngineRestartRecovers(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineRestartRecovers(t, db)
		})
	}
}

func testEngineRestartRecovers(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db, node: "node-1", noStart: true})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 6, true)
	// A previous run of node-1 died with two deliveries in flight: one of
	// an at-most-once notification, one of an at-least-once one.
	for _, atLeastOnce := range []bool{false, true} {
		eng := b.start(t)
		n, err := eng.Send(ctx, herald.NotificationRequest{Audience: herald.Audience{Users: []string{us[0].id, us[1].id, us[2].id}}, Content: herald.Content{Text: "x"}, AtLeastOnce: atLeastOnce})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Wait(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if err := eng.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Stage the crash by hand in the store: node-1 ran, and stopped
	// beating a while ago (killed); a notification expanded with one
	// delivery left sending by it and one pending.
	died := time.Now().Add(-time.Minute)
	if _, err := b.store.NodeRegister(ctx, herald.NodeRegisterParams{ID: "node-1", Host: "h", PID: 1, Now: died, Expires: died.Add(12 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	for i, atLeastOnce := range []bool{false, true} {
		id := []string{"n_crash_most", "n_crash_least"}[i]
		_, _, err := b.store.NotificationCreate(ctx, herald.Notification{ID: id, State: herald.NotificationSending, CreatedAt: time.Now(), UpdatedAt: time.Now(),
			Request: herald.NotificationRequest{Audience: herald.Audience{Users: []string{"x"}}, Content: herald.Content{Text: "after crash"}, AtLeastOnce: atLeastOnce, Priority: herald.PriorityNormal}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.DeliveryExpand(ctx, herald.DeliveryExpandParams{NotificationID: id, Source: herald.SourceUsers, UserIDs: []string{us[3+i].id, us[5].id}, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.NotificationSetState(ctx, herald.NotificationSetStateParams{ID: id, To: herald.NotificationSending, Expanded: true, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ds, err := b.store.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Recipient != us[3+i].id {
				continue
			}
			if _, err := b.store.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{d.ID}, Node: "node-1", Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	eng := b.start(t)
	most := b.wait(t, "n_crash_most", time.Minute)
	least := b.wait(t, "n_crash_least", time.Minute)
	if want := (herald.Counts{Delivered: 1, Uncertain: 1}); most.Counts != want {
		t.Fatalf("at-most-once after restart = %+v, want %+v", most.Counts, want)
	}
	if want := (herald.Counts{Delivered: 2}); least.Counts != want {
		t.Fatalf("at-least-once after restart = %+v, want %+v", least.Counts, want)
	}
	ds, err := eng.Deliveries(ctx, "n_crash_most", herald.DeliveryFilter{States: []herald.DeliveryState{herald.DeliveryUncertain}}, herald.Page{})
	if err != nil || len(ds) != 1 || ds[0].Recipient != us[3].id || ds[0].Reason != herald.ReasonInterrupted {
		t.Fatalf("uncertain deliveries = %+v (%v)", ds, err)
	}
	if got := len(b.fromBot(us[3].conv)); got != 0 {
		t.Fatalf("uncertain delivery was resent: %d messages", got)
	}
	if got := len(b.fromBot(us[4].conv)); got != 1 {
		t.Fatalf("at-least-once delivery sent %d times after restart, want 1", got)
	}
	if _, err := eng.Get(ctx, "missing"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func TestEngineSendAt(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{})
	tn := b.tenant(t)
	us := b.users(t, tn, 1, true)
	at := time.Now().Add(1500 * time.Millisecond)
	n := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Users: []string{us[0].id}}, Content: herald.Content{Text: "later"}, SendAt: at})
	if n.State != herald.NotificationScheduled {
		t.Fatalf("state = %s, want scheduled", n.State)
	}
	n = b.wait(t, n.ID, time.Minute)
	acts := b.fromBot(us[0].conv)
	if n.Counts.Delivered != 1 || len(acts) != 1 {
		t.Fatalf("counts %+v, %d messages", n.Counts, len(acts))
	}
	if acts[0].Time.Before(at) {
		t.Fatalf("sent at %v, before SendAt %v", acts[0].Time, at)
	}
}
