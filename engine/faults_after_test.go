package engine_test

import (
	"testing"
	"time"

	"herald"
	"herald/emulator"
	"herald/engine"
)

// TestEngineNoSilentDuplicates: Teams acts on a share of the requests and
// then answers 500, or drops the connection without an answer. An
// at-most-once notification never repeats such a call: a recipient is
// delivered with exactly one message, or uncertain with at most one, and
// none is both duplicated and reported delivered. An at-least-once
// notification repeats them until every recipient is delivered.
func TestEngineNoSilentDuplicates(t *testing.T) {
	t.Parallel()
	for _, atLeastOnce := range []bool{false, true} {
		name := map[bool]string{false: "at most once", true: "at least once"}[atLeastOnce]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newEngBundle(t, engOpts{
				retry:       engine.RetryPolicy{MaxAttempts: 20, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
				concurrency: 8,
			})
			tn := b.tenant(t)
			us := b.users(t, tn, 60, true)
			if err := b.emu.SetFaults(emulator.Faults{Seed: 7, ErrorRate5xx: 0.2, Status5xx: 500, TimeoutRate: 0.15,
				TimeoutMode: "close", AfterProcessing: true, Operations: []string{"send"}}); err != nil {
				t.Fatal(err)
			}
			n := b.wait(t, b.send(t, herald.NotificationRequest{
				Audience: herald.Audience{Tenants: []string{tn}}, Content: herald.Content{Text: "Deploy finished"},
				AtLeastOnce: atLeastOnce,
			}).ID, 3*time.Minute)
			got := map[string]int{}
			for _, u := range us {
				got[u.id] = len(b.fromBot(u.conv))
			}
			uncertain := 0
			for _, d := range b.deliveries(t, n.ID) {
				switch {
				case d.State == herald.DeliveryDelivered && !atLeastOnce && got[d.UserID] != 1:
					t.Errorf("%s delivered with %d messages", d.UserID, got[d.UserID])
				case d.State == herald.DeliveryDelivered && got[d.UserID] < 1:
					t.Errorf("%s delivered with no message", d.UserID)
				case d.State == herald.DeliveryUncertain && (atLeastOnce || got[d.UserID] > 1):
					t.Errorf("%s uncertain with %d messages (at least once: %v)", d.UserID, got[d.UserID], atLeastOnce)
				case d.State != herald.DeliveryDelivered && d.State != herald.DeliveryUncertain:
					t.Errorf("%s: %s %s", d.UserID, d.State, d.Reason)
				}
				if d.State == herald.DeliveryUncertain {
					uncertain++
				}
			}
			c := b.emu.Counters()
			t.Logf("%+v uncertain=%d 500s=%d", n.Counts, uncertain, c.Statuses["500"])
			if !atLeastOnce && (uncertain == 0 || n.Counts.Delivered+uncertain != len(us)) {
				t.Fatalf("counts %+v, %d uncertain: want some uncertain, the rest delivered", n.Counts, uncertain)
			}
			if atLeastOnce && n.Counts.Delivered != len(us) {
				t.Fatalf("counts %+v: want all %d delivered", n.Counts, len(us))
			}
		})
	}
}
