package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/emulator"
)

// world is the example running in-process against an in-process
// emulator, over loopback HTTP both ways.
type world struct {
	t   *testing.T
	ctx context.Context
	em  *emulator.Emulator
	app *app
	url string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, url: "http://" + ln.Addr().String()}
	w.em = emulator.New(emulator.Config{BotURL: w.url + "/api/messages"})
	emuSrv := httptest.NewServer(w.em)
	w.em.SetBaseURL(emuSrv.URL)
	t.Cleanup(func() { emuSrv.Close(); w.em.Close() })
	t.Cleanup(func() {
		if err := w.em.Err(); err != nil {
			t.Errorf("emulator saw unexpected requests: %v", err)
		}
	})
	w.app, err = newApp(ctx, config{DB: filepath.Join(t.TempDir(), "pricewatch.db"), Emulator: emuSrv.URL,
		AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultAppSecret, ShopURL: "https://shop.example.com/p/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.app.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := errors.Join(srv.Shutdown(sctx), w.app.Stop(sctx)); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return w
}

// person installs the bot for a new user and waits for the welcome.
func (w *world) person(name string) (emulator.User, string) {
	w.t.Helper()
	tn := w.em.SeedDemo().TenantID
	u, err := w.em.AddUser(emulator.UserSpec{TenantID: tn, Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := w.em.InstallPersonal(w.ctx, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.em.AwaitFromBot(w.ctx, d.ConversationID, 1); err != nil {
		w.t.Fatal(err)
	}
	return u, d.ConversationID
}

// say sends text as the user and waits for the bot's n-th message in
// the chat.
func (w *world) say(u emulator.User, conv, text string, n int) emulator.RecordedActivity {
	w.t.Helper()
	if _, err := w.em.SendMessage(w.ctx, emulator.MessageSpec{From: u.ID, Text: text}); err != nil {
		w.t.Fatal(err)
	}
	got, err := w.em.AwaitFromBot(w.ctx, conv, n)
	if err != nil {
		w.t.Fatal(err)
	}
	return got[n-1]
}

// price posts a price to the feed and waits for the notification (if
// any) to end.
func (w *world) price(body string) herald.Notification {
	w.t.Helper()
	resp, err := http.Post(w.url+"/prices", "application/json", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Notification string `json:"notification"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted {
		w.t.Fatalf("POST /prices %s: %d %v", body, resp.StatusCode, err)
	}
	if out.Notification == "" {
		return herald.Notification{}
	}
	n, err := w.app.eng.Wait(w.ctx, out.Notification)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// priceMessages returns the bot's messages in conv that talk about a
// price.
func (w *world) priceMessages(conv string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range w.em.Activities(conv) {
		if a.Direction == emulator.FromBot && bytes.Contains(a.Raw, []byte("Price of widget")) {
			out = append(out, a)
		}
	}
	return out
}

func TestWatchUpdateInPlaceAndOptOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	alice, aliceConv := w.person("Alice Abbott")
	bob, bobConv := w.person("Bob Bauer")
	carol, carolConv := w.person("Carol Cole")

	if r := w.say(alice, aliceConv, "watch Widget", 2); !strings.Contains(r.Activity.Text, "Watching **widget**") {
		t.Fatalf("reply to watch: %q", r.Activity.Text)
	}
	w.say(bob, bobConv, "watch widget", 2)
	w.say(carol, carolConv, "watch widget", 2)
	if r := w.say(carol, carolConv, "unwatch widget", 3); !strings.Contains(r.Activity.Text, "Stopped watching") {
		t.Fatalf("reply to unwatch: %q", r.Activity.Text)
	}

	// Two price changes: one message per watcher, updated in place.
	if n := w.price(`{"product":"widget","price":9.99}`); n.Counts.Delivered != 2 {
		t.Fatalf("first change: %+v", n.Counts)
	}
	if n := w.price(`{"product":"Widget","price":7.49}`); n.Counts.Delivered != 2 {
		t.Fatalf("second change: %+v", n.Counts)
	}
	for _, conv := range []string{aliceConv, bobConv} {
		msgs := w.priceMessages(conv)
		if len(msgs) != 1 {
			t.Fatalf("%d price messages in %s, want exactly 1", len(msgs), conv)
		}
		m := msgs[0]
		if !bytes.Contains(m.Raw, []byte("Price of widget dropped to $7.49")) || m.UpdatedAt.IsZero() || len(m.History) != 1 ||
			!bytes.Contains(m.History[0].Raw, []byte("Price of widget is $9.99")) {
			t.Fatalf("price message in %s: updated %v, %d earlier versions, now %s", conv, m.UpdatedAt, len(m.History), m.Raw)
		}
	}
	if msgs := w.priceMessages(carolConv); len(msgs) != 0 {
		t.Fatalf("carol unwatched but got %d price messages", len(msgs))
	}

	// Alice presses the card's opt-out button; Bob types the command.
	card := w.priceMessages(aliceConv)[0]
	before := len(w.em.Activities(aliceConv))
	if _, err := w.em.SendMessage(w.ctx, emulator.MessageSpec{From: alice.ID, Value: optOutData(t, card), ReplyToID: card.ID}); err != nil {
		t.Fatal(err)
	}
	err := w.em.Await(w.ctx, func(e *emulator.Emulator) bool {
		a, _ := e.Activity(aliceConv, card.ID)
		return bytes.Contains(a.Raw, []byte("Turned off: "+topic))
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := w.say(bob, bobConv, "stop price-alerts", 4); !strings.Contains(string(r.Raw), "Stopped "+topic) {
		t.Fatalf("reply to stop: %s", r.Raw)
	}

	// A third change reaches neither of them.
	aliceSeen, bobSeen := len(w.em.Activities(aliceConv)), len(w.em.Activities(bobConv))
	n := w.price(`{"product":"widget","price":5.00}`)
	if n.Counts.Delivered != 0 || n.Counts.Skipped != 2 {
		t.Fatalf("third change: %+v, want both skipped", n.Counts)
	}
	if got := len(w.em.Activities(aliceConv)); got != aliceSeen || aliceSeen != before+1 {
		t.Errorf("alice's chat went from %d to %d activities (her button press was number %d)", aliceSeen, got, before+1)
	}
	if got := len(w.em.Activities(bobConv)); got != bobSeen {
		t.Errorf("bob's chat went from %d to %d activities", bobSeen, got)
	}
	for _, conv := range []string{aliceConv, bobConv} {
		for _, a := range w.em.Activities(conv) {
			if bytes.Contains(a.Raw, []byte("$5.00")) {
				t.Errorf("the third price reached %s: %s", conv, a.Raw)
			}
		}
	}
}

// optOutData finds the data of the Action.Submit fallback of the card's
// opt-out button (an Action.Execute), which a client without Universal
// Actions sends as a message's value.
func optOutData(t *testing.T, a emulator.RecordedActivity) json.RawMessage {
	t.Helper()
	for _, att := range a.Activity.Attachments {
		var c struct {
			Actions []struct {
				Type     string `json:"type"`
				Verb     string `json:"verb"`
				Fallback struct {
					Type string          `json:"type"`
					Data json.RawMessage `json:"data"`
				} `json:"fallback"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(att.Content, &c); err != nil {
			t.Fatal(err)
		}
		for _, act := range c.Actions {
			if act.Type == "Action.Execute" && act.Verb == "optout" && act.Fallback.Type == "Action.Submit" {
				return act.Fallback.Data
			}
		}
	}
	t.Fatalf("no opt-out button on %s", a.Raw)
	return nil
}

func TestPricesRefusesBadUpdates(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `{}`, `{"product":"","price":1}`, `{"product":"x","price":0}`, `{"product":"x","price":-1}`,
		`{"product":"x","price":1e12}`, `{"product":"x","price":"1"}`, `{"product":"x","price":1,"extra":true}`,
		`{"product":"` + strings.Repeat("x", 101) + `","price":1}`} {
		if _, _, err := parsePriceUpdate(strings.NewReader(body)); err == nil {
			t.Errorf("%s was accepted", body)
		}
	}
	product, cents, err := parsePriceUpdate(strings.NewReader(`{"product":"  Blue   Widget ","price":19.999}`))
	if err != nil || product != "blue widget" || cents != 2000 {
		t.Errorf("got %q %d %v", product, cents, err)
	}
}

func TestPriceTitle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		old   int64
		had   bool
		cents int64
		want  string
	}{
		{0, false, 999, "Price of widget is $9.99"},
		{999, true, 749, "Price of widget dropped to $7.49"},
		{749, true, 1005, "Price of widget rose to $10.05"},
	} {
		if got := priceTitle("widget", tc.old, tc.had, tc.cents); got != tc.want {
			t.Errorf("priceTitle(%d, %v, %d) = %q, want %q", tc.old, tc.had, tc.cents, got, tc.want)
		}
	}
}

func FuzzParsePriceUpdate(f *testing.F) {
	f.Add([]byte(`{"product":"widget","price":9.99}`))
	f.Add([]byte(`{"product":"\u00e9t\u00e9","price":1e8}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		product, cents, err := parsePriceUpdate(bytes.NewReader(body))
		if err != nil {
			return
		}
		if product == "" || len(product) > maxProduct || cents < 1 || cents > 1e11 {
			t.Fatalf("accepted %q as %q %d", body, product, cents)
		}
		if again, _ := parseCommand("watch " + product); again != "watch" {
			t.Fatalf("product %q does not round-trip", product)
		}
	})
}
