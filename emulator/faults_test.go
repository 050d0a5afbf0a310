package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald/emulator"
)

// statuses sends n messages to a fresh chat of a fresh emulator with the
// given faults and returns the statuses.
func statuses(t *testing.T, f emulator.Faults, n int) []int {
	b := setup(t, func(c *emulator.Config) { c.Limits.Disabled = true })
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	must(t, b.em.SetFaults(f))
	var out []int
	for range n {
		out = append(out, b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")).status)
	}
	return out
}

func TestSeededFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	f := emulator.Faults{Seed: 42, ErrorRate5xx: 0.2, Status5xx: 502, Rate412: 0.3}
	first, second := statuses(t, f, 40), statuses(t, f, 40)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Fatalf("same seed, different outcomes (-first +second):\n%s", diff)
	}
	count := map[int]int{}
	for _, s := range first {
		count[s]++
	}
	if count[201] == 0 || count[502] == 0 || count[412] == 0 || count[201]+count[502]+count[412] != 40 {
		t.Fatalf("outcomes %v", count)
	}
	f.Seed = 43
	if cmp.Equal(first, statuses(t, f, 40)) {
		t.Fatal("another seed gave the same 40 outcomes")
	}
}

func TestStorm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	must(t, b.em.SetFaults(emulator.Faults{Storm429Seconds: 10}))
	r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x"))
	if r.status != 429 || r.errorCode() != "Throttled" || r.header.Get("Retry-After") != "10" {
		t.Fatalf("storm: %d %v %s", r.status, r.header, r.body)
	}
	if left := b.em.Faults().Storm429Seconds; left != 10 {
		t.Fatalf("storm left %v", left)
	}
	b.clock.Advance(10 * time.Second)
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status != 201 {
		t.Fatalf("after the storm: %d", r.status)
	}
	if c := b.em.Counters(); c.Throttled.Storm != 1 {
		t.Fatalf("counters %+v", c.Throttled)
	}
}

func TestTimeoutsAndLatency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	path := b.em.ServiceURL() + "v3/conversations/" + esc(conv) + "/activities"
	send := func(client *http.Client) (int, error) {
		req, _ := http.NewRequest("POST", path, strings.NewReader(`{"type":"message","text":"x"}`))
		req.Header.Set("Authorization", "Bearer "+b.token(t))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	must(t, b.em.SetFaults(emulator.Faults{TimeoutRate: 1, TimeoutMode: "close"}))
	if status, err := send(http.DefaultClient); err == nil {
		t.Fatalf("closed connection answered %d", status)
	}
	must(t, b.em.SetFaults(emulator.Faults{TimeoutRate: 1}))
	if status, err := send(&http.Client{Timeout: 100 * time.Millisecond}); err == nil {
		t.Fatalf("held request answered %d", status)
	}
	must(t, b.em.SetFaults(emulator.Faults{TimeoutRate: 1, HoldMs: 20}))
	if status, err := send(http.DefaultClient); err != nil || status != http.StatusGatewayTimeout {
		t.Fatalf("bounded hold: %d %v", status, err)
	}
	must(t, b.em.SetFaults(emulator.Faults{LatencyMs: 30}))
	start := time.Now()
	if status, err := send(http.DefaultClient); err != nil || status != 201 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("latency: %d %v after %v", status, err, time.Since(start))
	}
}

func TestFaultOperations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	must(t, b.em.SetFaults(emulator.Faults{Rate412: 1, Operations: []string{"members"}}))
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status != 201 {
		t.Fatalf("send: %d", r.status)
	}
	if r := b.call(t, "GET", "v3/conversations/"+esc(conv)+"/members", nil); r.status != 412 || r.errorCode() != "PreconditionFailed" {
		t.Fatalf("members: %d %s", r.status, r.body)
	}
	if c := b.em.Counters(); c.ErrorsByCode["PreconditionFailed"] != 1 || c.Statuses["412"] != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestBlocked209(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	if err := b.em.SetBlocked(d.Users[0].ID, true); err != nil {
		t.Fatal(err)
	}
	must(t, b.em.SetFaults(emulator.Faults{Blocked209: true}))
	r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x"))
	var body struct {
		ErrorCode int
		Message   string
	}
	r.decode(t, &body)
	if r.status != 403 || body.ErrorCode != 209 || !strings.Contains(body.Message, `"subCode":"MessageWritesBlocked"`) {
		t.Fatalf("blocked: %d %s", r.status, r.body)
	}
}

// TestFaultsAfterProcessing: with AfterProcessing, the message is recorded
// and then the answer is the fault; without it, nothing is recorded.
func TestFaultsAfterProcessing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		f          emulator.Faults
		wantStatus int
		wantCount  int
	}{
		{"5xx before", emulator.Faults{ErrorRate5xx: 1, Status5xx: 500}, 500, 0},
		{"5xx after", emulator.Faults{ErrorRate5xx: 1, Status5xx: 500, AfterProcessing: true}, 500, 1},
		{"412 stays before", emulator.Faults{Rate412: 1, AfterProcessing: true}, 412, 0},
		{"hold then 504 after", emulator.Faults{TimeoutRate: 1, HoldMs: 1, AfterProcessing: true}, 504, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *emulator.Config) { c.Limits.Disabled = true })
			d := b.demo(t)
			conv := b.personal(t, d.Users[0].ID)
			before, _ := b.em.Conversation(conv)
			must(t, b.em.SetFaults(tc.f))
			r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x"))
			after, _ := b.em.Conversation(conv)
			if r.status != tc.wantStatus || after.ActivityCount-before.ActivityCount != tc.wantCount {
				t.Fatalf("status %d, %d recorded; want %d, %d", r.status, after.ActivityCount-before.ActivityCount, tc.wantStatus, tc.wantCount)
			}
		})
	}
}
