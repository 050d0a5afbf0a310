package main

import (
	"strings"
	"testing"

	"herald/api"

	"github.com/google/go-cmp/cmp"
)

func TestTopicsCommand(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	alice, bob := w.user("Alice Topics"), w.user("Bob Topics")
	if err := w.store.PreferenceSet(w.ctx, alice.ID, "deploys", true); err != nil {
		t.Fatal(err)
	}
	if err := w.store.PreferenceSet(w.ctx, bob.ID, "digest", false); err != nil {
		t.Fatal(err)
	}
	r := w.run("", nil, "topics").ok(t)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := [][]string{
		{"TOPIC", "DEFAULT", "CRITICAL", "AUDIENCE", "DESCRIPTION"},
		{"builds", "on", "no", "2"},
		{"deploys", "on", "no", "1", "Deploy", "results"},
		{"digest", "off", "no", "1"},
	}
	var got [][]string
	for _, l := range lines {
		got = append(got, strings.Fields(l))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topics table (-want +got):\n%s", diff)
	}
	var l api.TopicList
	r = w.run("", nil, "topics", "--json").ok(t)
	if err := jsonUnmarshal(r.stdout, &l); err != nil || len(l.Topics) != 3 || l.Topics[2].Default != "off" {
		t.Fatalf("topics --json: %v %s", err, r.stdout)
	}
}
