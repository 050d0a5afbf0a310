package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"herald"
	"herald/api"
	"herald/sqlstore/sqlstoretest"

	"github.com/google/go-cmp/cmp"
)

var testTopics = []herald.Topic{
	{Name: "deploys", Description: "Deploy results"},
	{Name: "outages", Critical: true},
	{Name: "digest", Description: "Weekly digest", DefaultOff: true},
}

// TestListTopics lists the configured topics with their audience sizes,
// as the OpenAPI document describes them.
func TestListTopics(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testListTopics(t, db)
		})
	}
}

func testListTopics(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{topics: testTopics, db: db})
	al, bo, cy := b.user("Al Topics"), b.user("Bo Topics"), b.user("Cy Topics")
	for _, p := range []struct {
		user, topic string
		out         bool
	}{{al.ID, "deploys", true}, {bo.ID, "digest", false}, {cy.ID, herald.TopicAll, true}} {
		if err := b.store.PreferenceSet(b.ctx, p.user, p.topic, p.out); err != nil {
			t.Fatal(err)
		}
	}
	r := b.get("/v1/topics").mustStatus(t, http.StatusOK)
	var got api.TopicList
	r.decode(t, &got)
	want := api.TopicList{Topics: []api.Topic{
		{Name: "deploys", Description: "Deploy results", Default: "on", Audience: 1},
		{Name: "outages", Critical: true, Default: "on", Audience: 2},
		{Name: "digest", Description: "Weekly digest", Default: "off", Audience: 1},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if errs := loadOAS(t).check(map[string]any{"$ref": "#/components/schemas/TopicList"}, v, "body"); len(errs) > 0 {
		t.Errorf("body does not match the document: %v", errs)
	}
}

// TestUnknownTopicRefused refuses a notification naming a topic that is not
// configured, naming the field, and records nothing.
func TestUnknownTopicRefused(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testUnknownTopicRefused(t, db)
		})
	}
}

func testUnknownTopicRefused(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{topics: testTopics, db: db})
	al := b.user("Al Unknown")
	tests := []struct {
		name  string
		r     req
		field string
	}{
		{"json topic", req{method: "POST", path: "/v1/notifications", header: map[string]string{"Content-Type": "application/json"},
			body: `{"audience":{"users":[` + jsonString(al.Email) + `]},"content":{"text":"x"},"topic":"nope"}`}, "topic"},
		{"audience topic", req{method: "POST", path: "/v1/notifications", header: map[string]string{"Content-Type": "application/json"},
			body: `{"audience":{"topics":["deploys","nope"]},"content":{"text":"x"}}`}, "audience.topics[1]"},
		{"send header", req{method: "POST", path: "/v1/send/" + al.Email, body: "x", header: map[string]string{"X-Topic": "nope"}}, "topic"},
		{"send query", req{method: "POST", path: "/v1/send/" + al.Email + "?topic=nope", body: "x"}, "topic"},
	}
	// One after another on the bundle, whose context bounds the test: a
	// paused parallel subtest could outlive it on a loaded machine.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(tt.r).mustStatus(t, http.StatusBadRequest)
			if e := r.apiErr(t); e.Field != tt.field {
				t.Errorf("field %q, want %q: %s", e.Field, tt.field, e.Message)
			}
		})
	}
	if ns := b.notifications(); len(ns) != 0 {
		t.Fatalf("refused sends left %d notifications", len(ns))
	}
	b.do(req{method: "POST", path: "/v1/send/" + al.Email, body: "x", header: map[string]string{"X-Topic": "Deploys"}}).mustStatus(t, http.StatusAccepted)
}
