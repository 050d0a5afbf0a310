package card_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald/card"
)

func TestLint(t *testing.T) {
	t.Parallel()
	off := false
	full := card.Structured{
		Title:   "Deploy failed",
		Subject: card.Subject{Name: "api v2.3.1"},
		Actor:   card.Actor{Name: "CI"},
		Actions: []card.Action{{Title: "Open the log", URL: "https://ci.example.com/1"}},
		Topic:   "deploys",
	}
	tests := []struct {
		name   string
		mutate func(*card.Structured)
		want   []string
	}{
		{"complete", func(*card.Structured) {}, nil},
		{"empty", func(s *card.Structured) { *s = card.Structured{} }, []string{"title", "subject", "actor", "actions", "topic"}},
		{"blank title", func(s *card.Structured) { s.Title = "  " }, []string{"title"}},
		{"no subject", func(s *card.Structured) { s.Subject = card.Subject{} }, []string{"subject"}},
		{"subject url only", func(s *card.Structured) { s.Subject = card.Subject{URL: "https://x"} }, []string{"subject"}},
		{"no actor", func(s *card.Structured) { s.Actor = card.Actor{} }, []string{"actor"}},
		{"no actions", func(s *card.Structured) { s.Actions = nil }, []string{"actions"}},
		{"no topic", func(s *card.Structured) { s.Topic = "" }, []string{"topic"}},
		{"opt-out turned off on purpose", func(s *card.Structured) { s.Topic = ""; s.OptOut = &off }, nil},
		{"subject and actor missing", func(s *card.Structured) { s.Subject, s.Actor = card.Subject{}, card.Actor{} }, []string{"subject", "actor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := full
			tt.mutate(&s)
			var got []string
			for _, w := range card.Lint(s) {
				if w.Message == "" {
					t.Errorf("warning for %s has no message", w.Field)
				}
				got = append(got, w.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lint fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderStrict(t *testing.T) {
	t.Parallel()
	s := card.Structured{Title: "Deploy failed", Topic: "deploys"}
	if _, err := card.Render(s, card.RenderOptions{}); err != nil {
		t.Fatalf("lenient render: %v", err)
	}
	_, err := card.Render(s, card.RenderOptions{Strict: true})
	var le *card.LintError
	if !errors.As(err, &le) {
		t.Fatalf("strict render: got %v, want a *LintError", err)
	}
	if want := "notification lacks parts Teams asks for: subject, actor, actions"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	s.Subject = card.Subject{Name: "api"}
	s.Actor = card.Actor{Name: "CI"}
	s.Actions = []card.Action{{Title: "Retry", Data: json.RawMessage(`{"retry":1}`)}}
	if _, err := card.Render(s, card.RenderOptions{Strict: true}); err != nil {
		t.Fatalf("strict render of a complete notification: %v", err)
	}
}
