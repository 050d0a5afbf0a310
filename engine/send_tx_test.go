package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"herald"
	"herald/engine"
)

// TestSendLeavesNoOrphan interrupts Send at every point it can be
// interrupted (contexts that end after a growing number of
// microseconds, as a process killed mid-call) and checks that every
// notification the store holds has its expansion job: the two are stored in
// one transaction, so an interruption leaves both or neither.
func TestSendLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	b := newEngBundle(t, engOpts{noStart: true}) // jobs stay queued, to be counted
	eng, err := engine.New(b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"29:nobody"}},
		Content: herald.Content{Text: "hello"}}
	interrupted := 0
	for i := range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i*20)*time.Microsecond)
		_, err := eng.Send(ctx, req)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			interrupted++
		} else if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if interrupted == 0 {
		t.Fatal("no send was interrupted: the test checks nothing")
	}
	ns, err := b.store.NotificationList(context.Background(), herald.NotificationListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(b.store.RiverDriver(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := rc.JobList(context.Background(), river.NewJobListParams().Kinds("herald_expand").
		States(rivertype.JobStateAvailable).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != len(jobs.Jobs) {
		t.Fatalf("%d notifications stored, %d expansion jobs (%d sends interrupted): an orphan or a lost job",
			len(ns), len(jobs.Jobs), interrupted)
	}
	t.Logf("%d sends, %d interrupted, %d notifications each with its job", 200, interrupted, len(ns))
}
