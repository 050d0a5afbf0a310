package emulator_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald/emulator"
)

// TestConversationLimit sends 20 messages in one second to one chat: the
// table (7 per 1 s, 8 per 2 s) lets exactly the first 7 through.
func TestConversationLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	var statuses []int
	var retry []string
	for range 20 {
		r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("ping"))
		statuses = append(statuses, r.status)
		if r.status == 429 {
			if r.errorCode() != "Throttled" {
				t.Fatalf("429 body %s", r.body)
			}
			retry = append(retry, r.header.Get("Retry-After"))
		}
		b.clock.Advance(50 * time.Millisecond)
	}
	want := make([]int, 20)
	for i := range want {
		want[i] = 201
		if i >= 7 {
			want[i] = 429
		}
	}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	for _, ra := range retry {
		if ra != "1" {
			t.Fatalf("Retry-After %q, want 1 (the window frees within a second)", ra)
		}
	}
	c := b.em.Counters()
	if c.Throttled.Conversation != 13 || c.Throttled.ByLimit["send/1s"] != 13 {
		t.Fatalf("counters: %+v", c.Throttled)
	}
	// At t=1.0s the 1 s window holds 6 (refused requests did not count), so
	// one more fits; then the 2 s window (8) is full.
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("ping")); r.status != 201 {
		t.Fatalf("at 1.0s: %d %s", r.status, r.body)
	}
	b.clock.Advance(50 * time.Millisecond)
	r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("ping"))
	if r.status != 429 || b.em.Counters().Throttled.ByLimit["send/2s"] != 1 {
		t.Fatalf("at 1.05s: %d %s %+v", r.status, r.body, b.em.Counters().Throttled)
	}
	// Reads have their own, doubled windows.
	for i := range 14 {
		if r := b.call(t, "GET", "v3/conversations/"+esc(conv)+"/members", nil); r.status != 200 {
			t.Fatalf("read %d: %d %s", i, r.status, r.body)
		}
	}
	if r := b.call(t, "GET", "v3/conversations/"+esc(conv)+"/members", nil); r.status != 429 {
		t.Fatalf("15th read: %d", r.status)
	}
}

// TestTenantLimit sends 100 requests at one instant from 25 goroutines to
// 25 chats of one tenant: exactly 50 pass.
func TestTenantLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	var convs []string
	for _, u := range d.Users[:25] {
		convs = append(convs, b.personal(t, u.ID))
	}
	b.token(t)
	var mu sync.Mutex
	count := map[int]int{}
	var wg sync.WaitGroup
	for _, conv := range convs {
		wg.Go(func() {
			for range 4 {
				r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("hi"))
				mu.Lock()
				count[r.status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[int]int{201: 50, 429: 50}, count); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if c := b.em.Counters(); c.Throttled.Tenant != 50 || c.Throttled.ByLimit["tenant/1s"] != 50 {
		t.Fatalf("counters: %+v", c.Throttled)
	}
	b.clock.Advance(time.Second)
	if r := b.call(t, "POST", "v3/conversations/"+esc(convs[0])+"/activities", message("hi")); r.status != 201 {
		t.Fatalf("next second: %d", r.status)
	}
}

func TestLimitsConfigurable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits emulator.Limits
		ok     int
	}{
		{"disabled", emulator.Limits{Disabled: true}, 20},
		{"custom window", emulator.Limits{Send: []emulator.Window{{Period: time.Second, Max: 3}}}, 3},
		{"no conversation windows", emulator.Limits{Send: []emulator.Window{}, TenantRPS: 12}, 12},
		{"default", emulator.Limits{}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *emulator.Config) { c.Limits = tt.limits })
			d := b.demo(t)
			conv := b.personal(t, d.Users[0].ID)
			ok := 0
			for range 20 {
				if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status == 201 {
					ok++
				}
			}
			if ok != tt.ok {
				t.Fatalf("%d sends passed, want %d", ok, tt.ok)
			}
		})
	}
}

func TestLimitsAtRunTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	must(t, b.em.SetLimits(emulator.Limits{Disabled: true}))
	for i := range 10 {
		if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message(fmt.Sprint(i))); r.status != 201 {
			t.Fatalf("send %d with limits off: %d", i, r.status)
		}
	}
	must(t, b.em.SetLimits(emulator.Limits{}))
	if got := b.em.Limits(); got.TenantRPS != 50 || len(got.Send) != 4 || got.Send[3].Max != 1800 || got.Read[0].Max != 14 {
		t.Fatalf("defaults: %+v", got)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status != 201 {
		t.Fatalf("limits back on: %d (sends while off must not count)", r.status)
	}
}

func TestSettingsValidation(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.Config{})
	defer em.Close()
	bad := []error{
		em.SetLimits(emulator.Limits{Send: []emulator.Window{{Period: 0, Max: 3}}}),
		em.SetLimits(emulator.Limits{Read: []emulator.Window{{Period: time.Second, Max: -1}}}),
		em.SetFaults(emulator.Faults{Rate412: 0.6, TimeoutRate: 0.6}),
		em.SetFaults(emulator.Faults{ErrorRate5xx: -0.1}),
		em.SetFaults(emulator.Faults{TimeoutMode: "explode"}),
		em.SetFaults(emulator.Faults{LatencyMs: -5}),
	}
	for i, err := range bad {
		if !errors.Is(err, emulator.ErrInvalid) {
			t.Errorf("setting %d: err %v, want ErrInvalid", i, err)
		}
	}
	if got := em.Limits(); len(got.Send) != 4 || got.Send[0].Max != 7 {
		t.Fatalf("a refused setting changed the limits: %+v", got)
	}
}
