package storetest

import (
	"context"
	"fmt"
	"testing"

	"herald"

	"github.com/google/go-cmp/cmp"
)

// seedTopicUsers adds users to t1 with every kind of choice about topic
// "deploys" and returns their ids: 0 chose nothing, 1 blocked the bot, 2
// uninstalled it, 3 stopped deploys, 4 stopped everything, 5 stopped
// everything but started deploys, 6 started deploys, 7 stopped another
// topic, 8 started deploys and blocked the bot.
func seedTopicUsers(t *testing.T, s herald.Store) []string {
	t.Helper()
	ctx := context.Background()
	u := addUsers(t, s, "t1", 9, true)
	must(t, s.UserSetBlocked(ctx, u[1], true))
	must(t, s.UserSetInstalled(ctx, u[2], false, t0))
	must(t, s.PreferenceSet(ctx, u[3], "deploys", true))
	must(t, s.PreferenceSet(ctx, u[4], herald.TopicAll, true))
	must(t, s.PreferenceSet(ctx, u[5], herald.TopicAll, true))
	must(t, s.PreferenceSet(ctx, u[5], "deploys", false))
	must(t, s.PreferenceSet(ctx, u[6], "deploys", false))
	must(t, s.PreferenceSet(ctx, u[7], "digest", true))
	must(t, s.PreferenceSet(ctx, u[8], "deploys", false))
	must(t, s.UserSetBlocked(ctx, u[8], true))
	return u
}

// testExpandTopicDefaults pages through the audience of a default-on and a
// default-off topic, critical or not, and counts it.
func testExpandTopicDefaults(t *testing.T, s herald.Store) {
	ctx := context.Background()
	u := seedTopicUsers(t, s)
	tests := []struct {
		name                string
		defaultOn, critical bool
		want                []int
	}{
		{"default-on reaches everyone reachable who did not stop it", true, false, []int{0, 5, 6, 7}},
		{"default-on critical ignores opt-outs", true, true, []int{0, 3, 4, 5, 6, 7}},
		{"default-off reaches those who started it", false, false, []int{5, 6}},
		{"default-off critical reaches those who started it", false, true, []int{5, 6}},
	}
	for i, tt := range tests {
		n := newNotification(t, s, fmt.Sprintf("n_topic%d", i), func(r *herald.NotificationRequest) {
			r.Topic, r.Critical = "deploys", tt.critical
		})
		after := ""
		for range 20 {
			res, err := s.DeliveryExpand(ctx, herald.DeliveryExpandParams{
				NotificationID: n.ID, Source: herald.SourceTopic, Value: "deploys", After: after, Limit: 2,
				Topic: "deploys", Critical: tt.critical, TopicDefaultOn: tt.defaultOn, Now: t0,
			})
			must(t, err)
			if res.Scanned < 2 {
				break
			}
			after = res.Last
		}
		var got []string
		for _, d := range allDeliveries(t, s, n.ID) {
			if d.State == herald.DeliveryPending {
				got = append(got, d.Recipient)
			}
		}
		var want []string
		for _, k := range tt.want {
			want = append(want, u[k])
		}
		if !cmp.Equal(got, want) {
			t.Errorf("%s: pending = %v, want %v", tt.name, got, want)
		}
		if tt.critical {
			continue
		}
		count, err := s.TopicAudienceCount(ctx, "deploys", tt.defaultOn)
		must(t, err)
		if count != len(want) {
			t.Errorf("%s: audience count = %d, want %d", tt.name, count, len(want))
		}
	}
}
