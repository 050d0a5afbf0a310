package engine_test

import (
	"context"
	"testing"
	"time"

	"herald"
	"herald/sqlstore/sqlstoretest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEngineTopicDefaults sends to topic audiences: a default-on topic
// reaches everyone who did not stop it, a default-off one only those who
// started it, and a topic that is not configured only its subscribers.
func TestEngineTopicDefaults(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testEngineTopicDefaults(t, db)
		})
	}
}

func testEngineTopicDefaults(t *testing.T, db string) {
	b := newEngBundle(t, engOpts{noStart: true, db: db})
	b.cfg.Topics = []herald.Topic{{Name: "deploys"}, {Name: "digest", DefaultOff: true}}
	b.start(t)
	tn := b.tenant(t)
	us := b.users(t, tn, 3, true)
	ctx := context.Background()
	for _, p := range []struct {
		user, topic string
		out         bool
	}{{us[1].id, "deploys", true}, {us[2].id, "digest", false}, {us[2].id, "legacy", false}} {
		if err := b.store.PreferenceSet(ctx, p.user, p.topic, p.out); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, topic string
		want        []string
	}{
		{"default-on", "Deploys", []string{us[0].id, us[2].id}},
		{"default-off", "digest", []string{us[2].id}},
		{"not configured", "legacy", []string{us[2].id}},
		{"nobody started it", "other", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := b.send(t, herald.NotificationRequest{Audience: herald.Audience{Topics: []string{tt.topic}}, Content: herald.Content{Text: "hi"}})
			b.wait(t, n.ID, 30*time.Second)
			var got []string
			for _, d := range b.deliveries(t, n.ID) {
				if d.State == herald.DeliveryDelivered {
					got = append(got, d.UserID)
				}
			}
			if !cmp.Equal(got, tt.want, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })) {
				t.Errorf("sent to %v, want %v", got, tt.want)
			}
		})
	}
}
