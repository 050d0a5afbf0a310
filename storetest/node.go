package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"herald"

	"github.com/google/go-cmp/cmp"
)

// RunNode runs the node registration part of the suite: identities,
// heartbeats, and recovery that never touches a running node's deliveries.
func RunNode(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s herald.Store)
	}{
		{"register, beat and stop", testNodeLifecycle},
		{"a running identity is refused", testNodeInUse},
		{"recovery waits for the heartbeat to lapse", testNodeRecover},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// lapse is how long a beat keeps a node registered in these tests.
const lapse = 12 * time.Second

func register(t *testing.T, s herald.Store, id string, at time.Time) {
	t.Helper()
	_, err := s.NodeRegister(context.Background(), herald.NodeRegisterParams{ID: id, Host: "host-" + id, PID: 100, Now: at, Expires: at.Add(lapse)})
	must(t, err)
}

func nodeByID(t *testing.T, s herald.Store, id string) herald.Node {
	t.Helper()
	ns, err := s.NodeList(context.Background())
	must(t, err)
	for _, n := range ns {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("node %s not listed in %+v", id, ns)
	return herald.Node{}
}

func testNodeLifecycle(t *testing.T, s herald.Store) {
	ctx := context.Background()
	register(t, s, "web-1", t0)
	n := nodeByID(t, s, "web-1")
	want := herald.Node{ID: "web-1", Host: "host-web-1", PID: 100, StartedAt: t0, BeatAt: t0, Expires: t0.Add(lapse)}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Fatalf("registered node (-want +got):\n%s", diff)
	}
	if !n.Running(t0.Add(lapse)) || n.Running(t0.Add(lapse+time.Microsecond)) {
		t.Fatalf("Running around its expiry is wrong: %+v", n)
	}
	t1 := t0.Add(3 * time.Second)
	must(t, s.NodeBeat(ctx, herald.NodeBeatParams{ID: "web-1", Now: t1, Expires: t1.Add(lapse)}))
	if n := nodeByID(t, s, "web-1"); !n.BeatAt.Equal(t1) || !n.Expires.Equal(t1.Add(lapse)) {
		t.Fatalf("after a beat: %+v", n)
	}
	must(t, s.NodeStop(ctx, herald.NodeStopParams{ID: "web-1", Now: t1}))
	if n := nodeByID(t, s, "web-1"); !n.StoppedAt.Equal(t1) || n.Running(t1) {
		t.Fatalf("after stop: %+v", n)
	}
	if err := s.NodeBeat(ctx, herald.NodeBeatParams{ID: "web-1", Now: t1, Expires: t1.Add(lapse)}); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("beat after stop: %v, want ErrNotFound", err)
	}
	// A stopped identity is taken over; the earlier process's stop does
	// not end the later one's registration.
	register(t, s, "web-1", t1)
	if n := nodeByID(t, s, "web-1"); !n.StoppedAt.IsZero() || !n.StartedAt.Equal(t1) {
		t.Fatalf("registered again: %+v", n)
	}
	must(t, s.NodeStop(ctx, herald.NodeStopParams{ID: "web-1", StartedAt: t0, Now: t1}))
	if n := nodeByID(t, s, "web-1"); !n.StoppedAt.IsZero() {
		t.Fatalf("an earlier registration's stop ended the later one: %+v", n)
	}
	must(t, s.NodeStop(ctx, herald.NodeStopParams{ID: "web-1", StartedAt: t1, Now: t1}))
	if n := nodeByID(t, s, "web-1"); n.StoppedAt.IsZero() {
		t.Fatalf("its own stop left it running: %+v", n)
	}
}

func testNodeInUse(t *testing.T, s herald.Store) {
	ctx := context.Background()
	register(t, s, "web-1", t0)
	tests := []struct {
		name    string
		at      time.Time
		refused bool
	}{
		{"while it beats", t0.Add(5 * time.Second), true},
		{"at its expiry", t0.Add(lapse), true},
		{"once it expired", t0.Add(lapse + time.Second), false},
	}
	for _, tt := range tests {
		_, err := s.NodeRegister(ctx, herald.NodeRegisterParams{ID: "web-1", Host: "other", PID: 200, Now: tt.at, Expires: tt.at.Add(lapse)})
		var inUse *herald.NodeInUseError
		switch {
		case !tt.refused && err != nil:
			t.Fatalf("%s: %v", tt.name, err)
		case !tt.refused:
			continue
		case !errors.As(err, &inUse) || !errors.Is(err, herald.ErrConflict):
			t.Fatalf("%s: %v, want a NodeInUseError", tt.name, err)
		case inUse.ID != "web-1" || inUse.Holder.PID != 100 || !inUse.Holder.BeatAt.Equal(t0) || inUse.Store:
			t.Fatalf("%s: refusal %+v", tt.name, inUse)
		}
	}
	if n := nodeByID(t, s, "web-1"); n.PID != 200 {
		t.Fatalf("the expired identity was not taken over: %+v", n)
	}
}

func testNodeRecover(t *testing.T, s herald.Store) {
	ctx := context.Background()
	addUsers(t, s, "t1", 4, false)
	most := newNotification(t, s, "n_most", nil)
	least := newNotification(t, s, "n_least", func(r *herald.NotificationRequest) { r.AtLeastOnce = true })
	a, b := expandAll(t, s, most.ID), expandAll(t, s, least.ID)
	// Two processes named "web" (so two identities), one that stopped
	// and one whose heartbeat will lapse.
	register(t, s, "web-live", t0)
	register(t, s, "web-dying", t0)
	register(t, s, "web-gone", t0)
	register(t, s, "web-self", t0) // the caller of recovery, late with its beat
	mark := func(node string, ids ...int64) {
		t.Helper()
		got, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: ids, Node: node, Now: t0})
		must(t, err)
		if len(got) != len(ids) {
			t.Fatalf("%s marked %v of %v", node, got, ids)
		}
	}
	mark("web-live", a[0].ID, b[0].ID)
	mark("web-dying", a[1].ID, b[1].ID)
	mark("web-gone", a[2].ID)
	mark("web-self", a[3].ID)
	must(t, s.NodeStop(ctx, herald.NodeStopParams{ID: "web-gone", StartedAt: t0, Now: t0}))
	// The live node keeps beating; the dying one beat last at t0.
	t1 := t0.Add(lapse - time.Second)
	must(t, s.NodeBeat(ctx, herald.NodeBeatParams{ID: "web-live", Now: t1, Expires: t1.Add(lapse)}))
	res, err := s.DeliveryRecover(ctx, herald.DeliveryRecoverParams{StaleBefore: t1.Add(-10 * time.Minute), Now: t1})
	must(t, err)
	if res.Uncertain != 1 || res.Repending != 0 || len(res.Lapsed) != 0 {
		t.Fatalf("before the lapse: recover = %+v, want the stopped node's delivery only", res)
	}
	t2 := t0.Add(lapse + time.Second)
	must(t, s.NodeBeat(ctx, herald.NodeBeatParams{ID: "web-live", Now: t2, Expires: t2.Add(lapse)}))
	res, err = s.DeliveryRecover(ctx, herald.DeliveryRecoverParams{Self: "web-self", StaleBefore: t2.Add(-10 * time.Minute), Now: t2})
	must(t, err)
	want := herald.DeliveryRecoverResult{Uncertain: 1, Repending: 1, Notifications: []string{least.ID}, Lapsed: []string{"web-dying"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("after the lapse: recover (-want +got):\n%s", diff)
	}
	states := func(id string) []string {
		var out []string
		for _, d := range allDeliveries(t, s, id) {
			out = append(out, string(d.State))
		}
		return out
	}
	if got, want := states(most.ID), []string{"sending", "uncertain", "uncertain", "sending"}; !cmp.Equal(got, want) {
		t.Fatalf("at-most-once states = %v, want %v", got, want)
	}
	if got, want := states(least.ID), []string{"sending", "pending", "pending", "pending"}; !cmp.Equal(got, want) {
		t.Fatalf("at-least-once states = %v, want %v", got, want)
	}
	// The lapsed node learns it at its next beat, and marks nothing until
	// it registers again.
	if err := s.NodeBeat(ctx, herald.NodeBeatParams{ID: "web-dying", Now: t2, Expires: t2.Add(lapse)}); !errors.Is(err, herald.ErrNotFound) {
		t.Fatalf("beat of a lapsed node: %v, want ErrNotFound", err)
	}
	if got, err := s.DeliveryApply(ctx, herald.DeliveryApplyParams{Mark: []int64{b[2].ID}, Node: "web-dying", Now: t2}); err != nil || len(got) != 0 {
		t.Fatalf("a lapsed node marked %v (%v)", got, err)
	}
	register(t, s, "web-dying", t2)
	mark("web-dying", b[2].ID)
	// Another node finds the caller's heartbeat lapsed too.
	res, err = s.DeliveryRecover(ctx, herald.DeliveryRecoverParams{StaleBefore: t2.Add(-10 * time.Minute), Now: t2})
	must(t, err)
	if want := (herald.DeliveryRecoverResult{Uncertain: 1, Lapsed: []string{"web-self"}}); !cmp.Equal(want, res) {
		t.Fatalf("recover by another node = %+v, want %+v", res, want)
	}
}
