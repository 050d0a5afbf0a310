package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/engine"
	"herald/sqlstore"
	"herald/sqlstore/sqlstoretest"
)

// TestEngineRefusesASecondLiveProcess starts a second engine, on a store
// of its own, on the database an engine runs on, as a second process
// would: on PostgreSQL it is refused only when it claims the running
// identity; on SQLite it is refused whatever its identity.
func TestEngineRefusesASecondLiveProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		db, id  string
		refused bool
	}{
		{sqlstoretest.Postgres, "web-1", true},
		{sqlstoretest.Postgres, "", false}, // the name "web" again, and a suffix of its own
		{sqlstoretest.SQLite, "web-1", true},
		{sqlstoretest.SQLite, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.db+"/"+cmpOr(tt.id, "generated"), func(t *testing.T) {
			t.Parallel()
			db := sqlstoretest.NewDatabase(t, tt.db)
			first, second := db.Open(t), db.Open(t) // on SQLite, opened after the first started, refused there
			b := newEngBundle(t, engOpts{store: first, node: "web-1"})
			cfg := b.cfg
			cfg.Store, cfg.Queue, cfg.NodeID, cfg.NodeName = second, second.RiverDriver(), tt.id, "web"
			eng, err := engine.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = eng.Start(context.Background())
			if !tt.refused {
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				if !strings.HasPrefix(eng.NodeID(), "web-") || eng.NodeID() == b.eng.NodeID() {
					t.Fatalf("identities %q and %q", eng.NodeID(), b.eng.NodeID())
				}
				if err := eng.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			var inUse *herald.NodeInUseError
			if !errors.As(err, &inUse) || inUse.Holder.ID != "web-1" || inUse.Store != (tt.db == sqlstoretest.SQLite) {
				t.Fatalf("start: %v, want refused for web-1", err)
			}
			if !strings.Contains(err.Error(), `"web-1"`) || !strings.Contains(err.Error(), "last heartbeat") {
				t.Fatalf("refusal %q does not name the holder and when it was seen", err)
			}
		})
	}
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// heldTransport holds every call until the test ends: the calls of a
// node that dies with them in flight.
type heldTransport struct {
	calls   chan struct{}
	release chan struct{}
}

func (h *heldTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case h.calls <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-r.Context().Done():
	}
	return nil, errors.New("held")
}

// TestEngineNodesNeverSettleALiveNode runs two nodes named alike on one
// PostgreSQL database. Node A has deliveries in flight (Teams holds its
// calls); node B, started next to it, leaves them alone however many times
// it looks. Then A loses its database (dies, as far as the others can
// tell): once its heartbeat has lapsed, B settles A's deliveries in flight
// as uncertain and delivers the rest.
func TestEngineNodesNeverSettleALiveNode(t *testing.T) {
	t.Parallel()
	const people, inFlight, beat = 10, 4, 20 * time.Millisecond
	ctx := context.Background()
	db := sqlstoretest.NewDatabase(t, sqlstoretest.Postgres)
	sa := db.Open(t)
	b := newEngBundle(t, engOpts{store: db.Open(t), heartbeat: beat, noStart: true})
	b.cfg.NodeName = "web"
	tn := b.tenant(t)
	us := b.users(t, tn, people, true)

	a, held := startHeldNode(t, b, sa, inFlight)
	n, err := a.Send(ctx, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	counts := func() herald.Counts {
		t.Helper()
		c, _, err := b.store.NotificationCounts(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	waitFor(t, "A's deliveries in flight", func() bool { return counts().Sending == inFlight })
	<-held.calls

	nb := b.start(t)
	if !strings.HasPrefix(nb.NodeID(), "web-") || !strings.HasPrefix(a.NodeID(), "web-") || nb.NodeID() == a.NodeID() {
		t.Fatalf("identities %q and %q", a.NodeID(), nb.NodeID())
	}
	// B beats (and looks for nodes gone) for three lapses of A's heartbeat.
	waitFor(t, "B's beats", func() bool {
		me := nodeOf(t, b.store, nb.NodeID())
		return me.BeatAt.Sub(me.StartedAt) > 3*4*beat
	})
	if c := counts(); c.Sending != inFlight || c.Uncertain != 0 {
		t.Fatalf("with A alive, its deliveries became %+v", c)
	}
	if !nodeOf(t, b.store, a.NodeID()).StoppedAt.IsZero() {
		t.Fatal("A's registration ended while it was alive")
	}

	sa.Close() // A can no longer write: its heartbeat lapses
	got := b.wait(t, n.ID, 2*time.Minute)
	if want := (herald.Counts{Delivered: people - inFlight, Uncertain: inFlight}); got.Counts != want {
		t.Fatalf("after A died: %+v, want %+v", got.Counts, want)
	}
	if nodeOf(t, b.store, a.NodeID()).StoppedAt.IsZero() {
		t.Fatal("A's registration still runs")
	}
	for _, u := range us {
		if got := len(b.fromBot(u.conv)); got > 1 {
			t.Errorf("user %s got %d messages", u.id, got)
		}
	}
}

// startHeldNode starts node A of TestEngineNodesNeverSettleALiveNode on its
// own store, with calls to Teams held until the test ends.
func startHeldNode(t *testing.T, b *engBundle, st *sqlstore.Store, inFlight int) (*engine.Engine, *heldTransport) {
	t.Helper()
	held := &heldTransport{calls: make(chan struct{}, 1), release: make(chan struct{})}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: b.emu.AppID(), AppSecret: b.emu.AppSecret(), Authority: b.srv.URL, HTTPClient: b.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.cfg
	cfg.Store, cfg.Queue, cfg.Concurrency, cfg.InFlight = st, st.RiverDriver(), 2, inFlight
	cfg.Connector = botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: &http.Client{Transport: held},
		Tokens: tokens, TrustedHosts: []string{b.srv.Listener.Addr().String()}})
	a, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(held.release)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.Stop(ctx) // its store is closed: the stop cannot write
	})
	return a, held
}

func nodeOf(t *testing.T, s herald.Store, id string) herald.Node {
	t.Helper()
	ns, err := s.NodeList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("node %s not registered", id)
	return herald.Node{}
}

// waitFor polls cond until it holds (a guard of minutes against hanging).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 2 minutes", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
