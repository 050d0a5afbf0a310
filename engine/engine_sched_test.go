package engine

import (
	"context"
	"testing"
	"time"

	"herald"
)

// schedItems returns n items of one tenant; conv picks each item's
// conversation.
func schedItems(p *pacer, tenant string, n int, firstID int64, high bool, conv func(i int) string) []*item {
	run := &senderRun{signal: make(chan struct{}, 1)}
	out := make([]*item, n)
	for i := range n {
		out[i] = &item{d: herald.Delivery{ID: firstID + int64(i), TenantID: tenant}, run: run, conv: p.convKey(conv(i)), high: high}
	}
	return out
}

func TestSchedulerManyItemsOneConversation(t *testing.T) {
	t.Parallel()
	// More items than one pick examines, all for one conversation that
	// allows one call per 2 ms: every item must come out, in order.
	p := newPacer(Limits{TenantRPS: -1, Conversation: []Window{{Period: 2 * time.Millisecond, Max: 1}}}, time.Now)
	s := newScheduler(p, time.Now)
	items := schedItems(p, "t", 3*maxTries+5, 1, false, func(int) string { return "c:one" })
	if n := s.submit(items); n != len(items) {
		t.Fatalf("accepted %d of %d", n, len(items))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := map[int64]bool{}
	for range items {
		it, err := s.next(ctx)
		if err != nil {
			t.Fatalf("after %d items: %v", len(seen), err)
		}
		if seen[it.d.ID] {
			t.Fatalf("item %d handed out twice", it.d.ID)
		}
		seen[it.d.ID] = true
		p.done("t", it.conv)
	}
}

func TestSchedulerTenantsTakeTurnsAndHighGoesFirst(t *testing.T) {
	t.Parallel()
	p := newPacer(Limits{Disabled: true}, time.Now)
	s := newScheduler(p, time.Now)
	conv := func(i int) string { return "u:" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }
	s.submit(schedItems(p, "big", 100, 1, false, conv))
	s.submit(schedItems(p, "small", 3, 1000, false, conv))
	ctx := context.Background()
	var order []string
	for range 40 {
		it, err := s.next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, it.d.TenantID)
	}
	small := 0
	for _, tn := range order {
		if tn == "small" {
			small++
		}
	}
	if small != 3 {
		t.Fatalf("small tenant got %d of its 3 items in the first 40 picks: %v", small, order)
	}
	s.submit(schedItems(p, "big", 1, 5000, true, conv))
	it, err := s.next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !it.high {
		t.Fatalf("picked %d before the high priority item", it.d.ID)
	}
	if s.submit(schedItems(p, "big", 1, 50, false, conv)) != 0 {
		t.Fatal("an item already waiting was accepted twice")
	}
	gone := s.withdraw(func(it *item) bool { return it.d.TenantID == "big" })
	if len(gone) == 0 {
		t.Fatal("withdraw returned nothing")
	}
	s.close()
	if _, err := s.next(ctx); err == nil {
		t.Fatal("next after close returned an item")
	}
}
