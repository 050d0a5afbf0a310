package main

import (
	"testing"

	"herald"
	"herald/api"
)

func TestReasonsLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   map[herald.DeliveryState]map[herald.Reason]int
		want string
	}{
		{"none", nil, ""},
		{"by state, then count, then name", map[herald.DeliveryState]map[herald.Reason]int{
			herald.DeliveryFailed:  {herald.ReasonBlocked: 1},
			herald.DeliverySkipped: {herald.ReasonOptedOut: 1, herald.ReasonUnresolved: 2, herald.ReasonUnreachable: 1},
		}, "skipped: unresolved 2, opted-out 1, unreachable 1; failed: blocked-by-user 1"},
	}
	for _, tt := range tests {
		if got := reasonsLine(tt.in); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNobodyReached(t *testing.T) {
	t.Parallel()
	n := func(st herald.NotificationState, c herald.Counts) api.Notification {
		return api.Notification{Notification: herald.Notification{ID: "n_1", State: st, Counts: c}}
	}
	tests := []struct {
		name string
		n    api.Notification
		want string
	}{
		{"someone reached", n(herald.NotificationCompleted, herald.Counts{Delivered: 1, Skipped: 5}), ""},
		{"uncertain may have arrived", n(herald.NotificationCompleted, herald.Counts{Uncertain: 1, Failed: 1}), ""},
		{"everything skipped or failed", n(herald.NotificationCompleted, herald.Counts{Skipped: 2, Failed: 1}),
			"notification n_1 reached nobody: 1 failed, 2 skipped"},
		{"nobody in the audience", n(herald.NotificationCompleted, herald.Counts{}), "notification n_1 reached nobody: its audience holds no one"},
		{"cancelled is reported elsewhere", n(herald.NotificationCancelled, herald.Counts{Cancelled: 3}), ""},
	}
	for _, tt := range tests {
		got := ""
		if err := nobodyReached(tt.n); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
