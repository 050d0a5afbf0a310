package card_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald/card"
)

func TestParseSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  card.Submit
		ok    bool
	}{
		{"opt-out button", `{"herald":"optout","topics":"deploys"}`, card.Submit{Action: "optout", Topics: []string{"deploys"}}, true},
		{"topics card choices", `{"herald":"optout","topics":"deploys, digest,,deploys"}`, card.Submit{Action: "optout", Topics: []string{"deploys", "digest"}}, true},
		{"topics card toggle", `{"herald":"topic-on","topics":"digest"}`, card.Submit{Action: card.SubmitTopicOn, Topics: []string{"digest"}}, true},
		{"submit fallback with its verb", `{"verb":"optout","herald":"optout","topics":"deploys"}`, card.Submit{Action: "optout", Topics: []string{"deploys"}}, true},
		{"refresh data", `{"herald":"topics-card"}`, card.Submit{Action: card.SubmitTopicsCard}, true},
		{"verb alone is not Herald's", `{"verb":"optout","topics":"deploys"}`, card.Submit{}, false},
		{"singular topic", `{"herald":"optout","topic":"deploys"}`, card.Submit{Action: "optout", Topics: []string{"deploys"}}, true},
		{"both", `{"herald":"optout","topics":"a","topic":"b"}`, card.Submit{Action: "optout", Topics: []string{"a", "b"}}, true},
		{"no topics", `{"herald":"optout"}`, card.Submit{Action: "optout"}, true},
		{"other action", `{"herald":"later","x":1}`, card.Submit{Action: "later"}, true},
		{"someone else's button", `{"retry":"812"}`, card.Submit{}, false},
		{"empty action", `{"herald":""}`, card.Submit{}, false},
		{"action not a string", `{"herald":1}`, card.Submit{}, false},
		{"topics not a string", `{"herald":"optout","topics":["a"]}`, card.Submit{}, false},
		{"string value", `"optout"`, card.Submit{}, false},
		{"array", `[{"herald":"optout"}]`, card.Submit{}, false},
		{"null", `null`, card.Submit{}, false},
		{"empty", ``, card.Submit{}, false},
		{"invalid", `{"herald":`, card.Submit{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := card.ParseSubmit(json.RawMessage(tt.value))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSubmit (-want +got):\n%s", diff)
			}
		})
	}
}
