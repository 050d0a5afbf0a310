package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBenchInboundInstalls runs the installs part at a small size and
// checks its counts: every install accepted, one welcome per user.
func TestBenchInboundInstalls(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := run(ctx, []string{"bench", "inbound", "--parts", "installs", "--installs", "50", "--concurrency", "8",
		"--installs-settle", "300ms", "--json"}, &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("bench inbound installs: %v\n%s", err, errb.String())
	}
	var res struct {
		ActivitiesPerS *float64        `json:"activities_per_s"`
		Installs       *installsResult `json:"installs"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	if res.ActivitiesPerS != nil {
		t.Errorf("the throughput part ran with --parts installs")
	}
	r := res.Installs
	if r == nil {
		t.Fatalf("no installs result in %s", out.String())
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"installs", r.Installs, 50},
		{"accepted", r.Accepted, 50},
		{"welcomes", r.Welcomes, 50},
		{"users welcomed once", r.WelcomedOnce, 50},
		{"concurrency", r.Concurrency, 8},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if r.Store != "sqlite" {
		t.Errorf("store = %q, want sqlite", r.Store)
	}
}

// TestBenchInboundWelcomeTally checks that a wrong count of welcomes is an
// error: missing, duplicated, sent elsewhere, or not a message.
func TestBenchInboundWelcomeTally(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		tally    welcomeTally
		wantOnce int
		wantErr  string
	}{
		{"one each", welcomeTally{perUser: []int{1, 1, 1}, sent: 3}, 3, ""},
		{"missing", welcomeTally{perUser: []int{1, 0, 1}, sent: 2}, 2, "1 of 3 users have no welcome"},
		{"duplicate", welcomeTally{perUser: []int{1, 2, 1}, sent: 4}, 2, "0 of 3 users have no welcome and 1 more than one"},
		{"elsewhere", welcomeTally{perUser: []int{1, 1, 1}, sent: 5}, 3, "2 of them outside"},
		{"not a message", welcomeTally{perUser: []int{1, 1}, sent: 2, nonMessage: 1}, 2, "not (or no longer) messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			once, err := tc.tally.check()
			if once != tc.wantOnce {
				t.Errorf("once = %d, want %d", once, tc.wantOnce)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestBenchInboundInstallFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--parts", "throughput,bogus"},
		{"--installs", "0"},
		{"--installs-timeout", "0s"},
		{"--installs-settle", "-1s"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			if _, err := runCmd(t, append([]string{"bench", "inbound"}, args...)...); err == nil {
				t.Fatalf("%v accepted", args)
			}
		})
	}
}
