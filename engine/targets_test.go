package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/sqlstore/sqlstoretest"
)

// conversation records a conversation reference in the directory.
func (b *engBundle) conversation(t *testing.T, c herald.Conversation) {
	t.Helper()
	if c.ServiceURL == "" {
		c.ServiceURL = b.emu.ServiceURL()
	}
	if err := b.store.ConversationUpsert(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// byRecipient indexes a notification's deliveries by recipient.
func (b *engBundle) byRecipient(t *testing.T, id string) map[string]herald.Delivery {
	t.Helper()
	out := map[string]herald.Delivery{}
	for _, d := range b.deliveries(t, id) {
		out[d.Recipient] = d
	}
	return out
}

// requestsTo counts the Connector requests that concerned a conversation.
func (b *engBundle) requestsTo(conv string) int {
	n := 0
	for _, r := range b.emu.Requests() {
		if r.ConversationID == conv {
			n++
		}
	}
	return n
}

func TestEngineConversationTargets(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineConversationTargets(t, db)
		})
	}
}

func testEngineConversationTargets(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 4, true)
	tm := b.team(t, tn, us[:3])
	alerts := tm.Channels[1]
	chat, err := b.emu.AddGroupChat(ctx, emulator.GroupChatSpec{TenantID: tn, Topic: "Launch", Members: []string{us[0].id, us[1].id}})
	if err != nil {
		t.Fatal(err)
	}
	// A personal chat whose user the directory lacks.
	stranger, err := b.emu.AddUser(emulator.UserSpec{TenantID: tn, Name: "Sam Stranger"})
	if err != nil {
		t.Fatal(err)
	}
	strangerChat, err := b.emu.InstallPersonal(ctx, stranger.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.conversation(t, herald.Conversation{ID: us[3].conv, Type: "personal", TenantID: tn, UserID: us[3].id})
	b.conversation(t, herald.Conversation{ID: strangerChat.ConversationID, Type: "personal", TenantID: tn, UserID: stranger.ID})
	b.conversation(t, herald.Conversation{ID: alerts.ID, Type: "channel", TenantID: tn, TeamID: tm.ID, ChannelID: alerts.ID})
	b.conversation(t, herald.Conversation{ID: chat.ConversationID, Type: "groupChat", TenantID: tn, Name: "Launch"})
	b.conversation(t, herald.Conversation{ID: "19:left@thread.v2", Type: "groupChat", TenantID: tn})
	if err := b.store.ConversationSetRemoved(ctx, "19:left@thread.v2", true); err != nil {
		t.Fatal(err)
	}
	// The first post opens a thread in Alerts; its id is the thread's.
	first := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Conversations: []string{alerts.ID}}, Content: herald.Content{Text: "Deploy started"},
	}).ID, 2*time.Minute)
	post := b.byRecipient(t, first.ID)["channel:"+alerts.ID]
	if first.Counts.Delivered != 1 || post.Kind != herald.KindChannel || post.ConversationID == "" {
		t.Fatalf("channel conversation: %+v, delivery %+v", first.Counts, post)
	}
	thread := post.ConversationID
	n := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Conversations: []string{
			us[3].conv, strangerChat.ConversationID, thread, chat.ConversationID, tm.ID,
			"19:left@thread.v2", "19:nowhere@thread.v2", chat.ConversationID + ";messageid=1",
		}},
		Content: herald.Content{Text: "Deploy finished"},
	}).ID, 2*time.Minute)
	if want := (herald.Counts{Delivered: 5, Skipped: 3}); n.Counts != want {
		t.Fatalf("counts = %+v, want %+v", n.Counts, want)
	}
	ds := b.byRecipient(t, n.ID)
	checks := []struct {
		recipient string
		kind      herald.DeliveryKind
		state     herald.DeliveryState
		reason    herald.Reason
		conv      string // where the message must be
	}{
		{us[3].id, herald.KindPersonal, herald.DeliveryDelivered, "", us[3].conv},
		{stranger.ID, herald.KindPersonal, herald.DeliveryDelivered, "", strangerChat.ConversationID},
		{"reply:" + thread, herald.KindReply, herald.DeliveryDelivered, "", thread},
		{"conversation:" + chat.ConversationID, herald.KindGroupChat, herald.DeliveryDelivered, "", chat.ConversationID},
		{"channel:" + tm.ID, herald.KindChannel, herald.DeliveryDelivered, "", tm.ID},
		{"conversation:19:left@thread.v2", herald.KindGroupChat, herald.DeliverySkipped, herald.ReasonUninstalled, ""},
		{"conversation:19:nowhere@thread.v2", herald.KindGroupChat, herald.DeliverySkipped, herald.ReasonUnresolved, ""},
		{"conversation:" + chat.ConversationID + ";messageid=1", herald.KindGroupChat, herald.DeliverySkipped, herald.ReasonUnresolved, ""},
	}
	for _, c := range checks {
		d, ok := ds[c.recipient]
		if !ok || d.Kind != c.kind || d.State != c.state || d.Reason != c.reason {
			t.Errorf("delivery to %s = %+v, want %s %s/%s", c.recipient, d, c.kind, c.state, c.reason)
			continue
		}
		if c.conv == "" {
			continue
		}
		acts := b.fromBot(c.conv)
		if len(acts) == 0 || acts[len(acts)-1].Activity.Text != "Deploy finished" {
			t.Errorf("%s: conversation %s has no \"Deploy finished\" from the bot (%d activities)", c.recipient, c.conv, len(acts))
		}
	}
	if got := b.requestsTo("19:left@thread.v2"); got != 0 {
		t.Errorf("a conversation the bot was removed from got %d calls", got)
	}
}

func TestEngineGroupChatKeyAndRemoval(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineGroupChatKeyAndRemoval(t, db)
		})
	}
}

func testEngineGroupChatKeyAndRemoval(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 2, true)
	chat, err := b.emu.AddGroupChat(ctx, emulator.GroupChatSpec{TenantID: tn, Members: []string{us[0].id, us[1].id}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := b.emu.AddGroupChat(ctx, emulator.GroupChatSpec{TenantID: tn, Members: []string{us[0].id, us[1].id}, WithoutBot: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{chat.ConversationID, gone.ConversationID} {
		b.conversation(t, herald.Conversation{ID: id, Type: "groupChat", TenantID: tn})
	}
	post := func(text string) herald.Notification {
		return b.wait(t, b.send(t, herald.NotificationRequest{
			Key:      "build-42",
			Audience: herald.Audience{Conversations: []string{chat.ConversationID, gone.ConversationID}},
			Content:  herald.Content{Text: text},
		}).ID, 2*time.Minute)
	}
	first := post("Build 42 running")
	ds := b.byRecipient(t, first.ID)
	if d := ds["conversation:"+gone.ConversationID]; d.State != herald.DeliveryFailed || d.Reason != herald.ReasonUninstalled || d.Attempts != 1 {
		t.Fatalf("chat without the bot: %+v, want failed app-uninstalled after one call", d)
	}
	if c, err := b.store.ConversationGet(ctx, gone.ConversationID); err != nil || !c.Removed {
		t.Fatalf("the chat the bot is not in was not marked removed: %+v %v", c, err)
	}
	second := post("Build 42 passed")
	if want := (herald.Counts{Delivered: 1, Skipped: 1}); second.Counts != want {
		t.Fatalf("second post counts = %+v, want %+v", second.Counts, want)
	}
	ds = b.byRecipient(t, second.ID)
	if d := ds["conversation:"+chat.ConversationID]; !d.Updated || d.Kind != herald.KindGroupChat {
		t.Fatalf("second post in the chat was not an update in place: %+v", d)
	}
	acts := b.fromBot(chat.ConversationID)
	if len(acts) != 1 || acts[0].Activity.Text != "Build 42 passed" || acts[0].UpdatedAt.IsZero() {
		t.Fatalf("chat has %d bot messages (first %q), want one, updated", len(acts), firstText(acts))
	}
	if got := b.requestsTo(gone.ConversationID); got != 1 {
		t.Fatalf("chat without the bot got %d calls, want the first only", got)
	}
}

func TestEngineUnseenUser(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineUnseenUser(t, db)
		})
	}
}

func testEngineUnseenUser(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	ctx := context.Background()
	known := b.tenant(t)
	// A tenant the directory has never heard of: the default serviceUrl
	// applies.
	other, err := b.emu.AddTenant(emulator.TenantSpec{Name: "Northwind"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tn := range []string{known, other.ID} {
		u, err := b.emu.AddUser(emulator.UserSpec{TenantID: tn, Name: "Una Unseen"})
		if err != nil {
			t.Fatal(err)
		}
		// The app is installed for the user (Herald was not told).
		if _, err := b.emu.InstallPersonal(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	n := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Users: []string{ids[0] + "@" + known, ids[1] + "@" + other.ID, "29:1neverseen"}},
		Content:  herald.Content{Text: "Hello {{userId}}"},
	}).ID, 2*time.Minute)
	if want := (herald.Counts{Delivered: 2, Skipped: 1}); n.Counts != want {
		t.Fatalf("counts = %+v, want %+v", n.Counts, want)
	}
	ds := b.byRecipient(t, n.ID)
	if d := ds["user:29:1neverseen"]; d.Reason != herald.ReasonUnresolved {
		t.Fatalf("a 29: id without a tenant that nobody knows: %+v, want unresolved", d)
	}
	for i, tn := range []string{known, other.ID} {
		d := ds[ids[i]]
		if d.State != herald.DeliveryDelivered || d.TenantID != tn || d.ConversationID == "" {
			t.Fatalf("delivery to unseen user %s: %+v", ids[i], d)
		}
		if acts := b.fromBot(d.ConversationID); len(acts) != 1 || acts[0].Activity.Text != "Hello "+ids[i] {
			t.Fatalf("user %s's chat has %d bot messages", ids[i], len(acts))
		}
		u, err := b.store.UserGet(ctx, ids[i])
		if err != nil || u.TenantID != tn || u.ConversationID != d.ConversationID || u.ServiceURL != b.emu.ServiceURL() {
			t.Fatalf("directory record of %s = %+v, %v", ids[i], u, err)
		}
	}
}

func TestEngineTeamUninstalledSkips(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineTeamUninstalledSkips(t, db)
		})
	}
}

func testEngineTeamUninstalledSkips(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{db: db})
	ctx := context.Background()
	tn := b.tenant(t)
	us := b.users(t, tn, 4, true)
	tm := b.team(t, tn, us)
	if err := b.store.TeamSetInstalled(ctx, tm.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	// us[0] has the app personally, as the directory knows; the bot leaves
	// the team.
	if err := b.store.UserSetInstalled(ctx, us[0].id, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.emu.UninstallTeam(ctx, tm.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.store.TeamSetInstalled(ctx, tm.ID, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	before := b.emu.Counters().Requests
	n := b.wait(t, b.send(t, herald.NotificationRequest{
		Audience: herald.Audience{Teams: []string{"Ops"}, Channels: []herald.ChannelTarget{{Team: "Ops", Channel: "Alerts"}}},
		Content:  herald.Content{Text: "Maintenance tonight"},
	}).ID, 2*time.Minute)
	if want := (herald.Counts{Delivered: 1, Skipped: 4}); n.Counts != want {
		t.Fatalf("counts = %+v, want %+v", n.Counts, want)
	}
	if got := b.emu.Counters().Requests - before; got != 1 {
		t.Fatalf("made %d calls, want 1 (the member with the app)", got)
	}
	for _, d := range b.deliveries(t, n.ID) {
		if d.Recipient != us[0].id && (d.State != herald.DeliverySkipped || d.Reason != herald.ReasonUninstalled) {
			t.Errorf("delivery %s = %s/%s, want skipped app-uninstalled", d.Recipient, d.State, d.Reason)
		}
	}
	for _, u := range us[1:] {
		got, err := b.store.UserGet(ctx, u.id)
		if err != nil || got.Uninstalled {
			t.Errorf("user %s marked uninstalled by a skip: %+v %v", u.id, got, err)
		}
	}
}

func TestEngineWaitExpanded(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{})
	tn := b.tenant(t)
	us := b.users(t, tn, 2, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against hanging only
	defer cancel()
	n := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Users: []string{us[0].email, "ghost@nowhere.example"}}, Content: herald.Content{Text: "hi"}})
	got, err := b.eng.WaitExpanded(ctx, n.ID)
	if err != nil || !got.Expanded || got.Counts.Total() != 2 || got.Counts.Skipped != 1 {
		t.Fatalf("WaitExpanded = %s expanded=%v %+v, %v", got.State, got.Expanded, got.Counts, err)
	}
	later := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Users: []string{us[1].email}}, Content: herald.Content{Text: "later"},
		SendAt: time.Now().Add(time.Hour)})
	got, err = b.eng.WaitExpanded(ctx, later.ID)
	if err != nil || got.State != herald.NotificationScheduled || got.Expanded {
		t.Fatalf("WaitExpanded of a scheduled notification = %s expanded=%v, %v", got.State, got.Expanded, err)
	}
	if _, err := b.eng.WaitExpanded(ctx, "n_missing"); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("WaitExpanded of a missing notification: %v", err)
	}
}
