package bot

import (
	"fmt"
	"testing"

	"herald"
)

func TestMentionList(t *testing.T) {
	t.Parallel()
	people := func(n int) []herald.User {
		var out []herald.User
		for i := range n {
			out = append(out, herald.User{ID: fmt.Sprintf("29:u%d", i), Name: fmt.Sprintf("P%d", i)})
		}
		return out
	}
	tests := []struct {
		name     string
		people   []herald.User
		text     string
		entities int
	}{
		{"one", people(1), "<at>P0</at>", 1},
		{"two", people(2), "<at>P0</at> and <at>P1</at>", 2},
		{"three", people(3), "<at>P0</at>, <at>P1</at> and <at>P2</at>", 3},
		{"no name", []herald.User{{ID: "29:x"}}, "<at>a new member</at>", 1},
		{"escaped", []herald.User{{ID: "29:x", Name: "Ana <QA>"}}, "<at>Ana &lt;QA&gt;</at>", 1},
		{"past the cap", people(maxMentions + 3), "<at>P18</at>, <at>P19</at> and 3 others", maxMentions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, ents := mentionList(tt.people)
			if len(ents) != tt.entities || len(text) < len(tt.text) || text[len(text)-len(tt.text):] != tt.text {
				t.Fatalf("%q with %d entities, want one ending %q with %d", text, len(ents), tt.text, tt.entities)
			}
			for i, e := range ents {
				m, ok := e.Mention()
				if !ok || m.Mentioned.ID != tt.people[i].ID {
					t.Fatalf("entity %d: %+v", i, m)
				}
			}
		})
	}
}
