package card_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"herald/card"
)

func FuzzValidateAdaptiveCard(f *testing.F) {
	for _, seed := range []string{
		cardJSON(`"1.5"`, 2), cardJSON(`"1.10"`, 0), cardJSON("", 7), `{"type":"AdaptiveCard","version":"1.5","body":null}`,
		`[]`, `null`, `"x"`, `{`, ``, `{"type":"AdaptiveCard","version":"01.005","actions":[1,2,3]}`,
		`{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Execute"},"userIds":["29:a"]}}`,
		`{"type":"AdaptiveCard","version":"1.4","actions":[{"type":"Action.Execute"}],"refresh":""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := card.ValidateAdaptiveCard(raw)
		if err == nil {
			var compact bytes.Buffer
			if json.Compact(&compact, raw) != nil {
				t.Fatalf("accepted invalid JSON %q", raw)
			}
			if compact.Len() > card.MaxCardBytes {
				t.Fatalf("accepted %d bytes", compact.Len())
			}
			var c struct {
				Type    string            `json:"type"`
				Version string            `json:"version"`
				Actions []json.RawMessage `json:"actions"`
			}
			if json.Unmarshal(raw, &c) != nil || c.Type != "AdaptiveCard" || c.Version == "" || len(c.Actions) > card.MaxActions {
				t.Fatalf("accepted %q", raw)
			}
			return
		}
		var ve *card.ValidationError
		if !errors.As(err, &ve) || ve.Message == "" {
			t.Fatalf("error %v is not a *ValidationError with a message", err)
		}
	})
}

func FuzzParseSubmit(f *testing.F) {
	for _, seed := range []string{`{"herald":"optout","topics":"a, b,a"}`, `{"herald":"optout","topic":"x"}`, `{"herald":1}`, `null`, `[]`,
		`{"verb":"optin","herald":"optin","topics":"deploys"}`, `{"herald":"topics-card","verb":7}`, `{"herald":"optout-card","topics":"a,,b"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, ok := card.ParseSubmit(raw)
		if !ok {
			return
		}
		if s.Action == "" {
			t.Fatalf("ok with an empty action for %q", raw)
		}
		seen := map[string]bool{}
		for _, tp := range s.Topics {
			if tp == "" || tp != strings.TrimSpace(tp) || strings.Contains(tp, ",") || seen[tp] {
				t.Fatalf("bad topic %q in %q", tp, raw)
			}
			seen[tp] = true
		}
	})
}

// FuzzRender feeds Render structured notifications as the HTTP API would
// decode them: whatever it renders must be a card Teams takes.
func FuzzRender(f *testing.F) {
	for _, tt := range goldenCases {
		b, err := json.Marshal(tt.s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`{"title":"x","actions":[{"title":"a","data":{"herald":1}}]}`), true)
	f.Fuzz(func(t *testing.T, raw []byte, strict bool) {
		var s card.Structured
		if json.Unmarshal(raw, &s) != nil {
			return
		}
		att, err := card.Render(s, card.RenderOptions{Strict: strict})
		if err != nil {
			var ve *card.ValidationError
			var le *card.LintError
			if !errors.As(err, &ve) && !errors.As(err, &le) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if err := card.ValidateAdaptiveCard(att.Content); err != nil {
			t.Fatalf("rendered an invalid card: %v", err)
		}
		if strict && len(card.Lint(s)) > 0 {
			t.Fatalf("strict render accepted %q", raw)
		}
	})
}
