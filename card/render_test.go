package card_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald/botframework"
	"herald/card"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func boolPtr(b bool) *bool { return &b }

// goldenCases are rendered and compared with testdata/render_<name>.golden.
var goldenCases = []struct {
	name string
	s    card.Structured
}{
	{"full", card.Structured{
		Title:     "Deploy failed",
		Subject:   card.Subject{Name: "api v2.3.1 to production", URL: "https://ci.example.com/runs/812"},
		Actor:     card.Actor{Name: "Ada Lovelace", ImageURL: "https://example.com/ada.png"},
		Details:   "The **health check** failed after 3 attempts & the deploy was rolled back.",
		Facts:     []card.Fact{{Title: "Environment", Value: "production"}, {Title: "Duration", Value: "4m 12s"}},
		Actions:   []card.Action{{Title: "Open the run", URL: "https://ci.example.com/runs/812"}, {Title: "Retry", Data: json.RawMessage(`{"retry": "812"}`)}},
		Topic:     "deploys",
		Style:     card.StyleAttention,
		Timestamp: time.Date(2026, 3, 4, 15, 4, 5, 999, time.FixedZone("CET", 3600)),
	}},
	{"minimal", card.Structured{Title: "Backup finished"}},
	{"plain", card.Structured{
		Title:   "Ticket assigned to you",
		Subject: card.Subject{Name: "HR-1042 [laptop] request"},
		Actor:   card.Actor{Name: "Service desk"},
		Topic:   "tickets",
		OptOut:  boolPtr(false),
	}},
	{"placeholders", card.Structured{
		Title:   "Hello {{name}}, your report is ready",
		Subject: card.Subject{Name: "Report for {{ userId }}", URL: "https://reports.example.com/{{userId}}?a=1&b=<2>"},
		Details: "Dear {{givenName}}: \"quoted\" & <tagged>",
		Facts:   []card.Fact{{Title: "Owner", Value: "{{email}}"}},
		Actions: []card.Action{{Title: "Open {{name}}'s report", URL: "{{link}}"}},
		Topic:   "reports",
		Style:   " Good",
	}},
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := card.Render(tt.s, card.RenderOptions{})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if att.ContentType != botframework.ContentTypeAdaptiveCard {
				t.Errorf("content type %q", att.ContentType)
			}
			if err := card.ValidateAdaptiveCard(att.Content); err != nil {
				t.Errorf("rendered card does not validate: %v", err)
			}
			again, err := card.Render(tt.s, card.RenderOptions{})
			if err != nil || !bytes.Equal(att.Content, again.Content) {
				t.Errorf("second render differs (err %v)", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, att.Content, "", "  "); err != nil {
				t.Fatalf("indent: %v", err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "render_"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("render differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// renderedCard is the part of a rendered card the tests below look at.
type renderedCard struct {
	Version string            `json:"version"`
	Body    []json.RawMessage `json:"body"`
	Actions []renderedAction  `json:"actions"`
}

type renderedAction struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	URL      string          `json:"url"`
	Verb     string          `json:"verb"`
	Data     json.RawMessage `json:"data"`
	Fallback *renderedAction `json:"fallback"`
}

func decodeCard(t *testing.T, att botframework.Attachment) renderedCard {
	t.Helper()
	var c renderedCard
	if err := json.Unmarshal(att.Content, &c); err != nil {
		t.Fatalf("decode rendered card: %v", err)
	}
	return c
}

func TestRenderOptOut(t *testing.T) {
	t.Parallel()
	att, err := card.Render(card.Structured{Title: "Deploy failed", Topic: " deploys ",
		Actions: []card.Action{{Title: "Open", URL: "https://example.com"}}}, card.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := decodeCard(t, att)
	if len(c.Actions) != 2 {
		t.Fatalf("got %d actions, want the button and the opt-out", len(c.Actions))
	}
	if c.Version != "1.5" {
		t.Errorf("version %q; Action.Execute needs 1.5", c.Version)
	}
	opt := c.Actions[1]
	if opt.Type != "Action.Execute" || opt.Verb != card.SubmitOptOut || opt.Title != "Turn off deploys notifications" {
		t.Errorf("opt-out action = %+v", opt)
	}
	fb := opt.Fallback
	if fb == nil || fb.Type != "Action.Submit" || fb.Title != opt.Title {
		t.Fatalf("opt-out fallback = %+v, want an Action.Submit with the same title", fb)
	}
	// Teams sends the data back as the invoke's action data, or (the
	// fallback) as a message's value; the bot must recognise both alike.
	for _, tc := range []struct {
		path, data, want string
	}{
		{"execute", string(opt.Data), `{"herald":"optout","topics":"deploys"}`},
		{"submit fallback", string(fb.Data), `{"verb":"optout","herald":"optout","topics":"deploys"}`},
	} {
		if tc.data != tc.want {
			t.Errorf("%s data = %s, want %s", tc.path, tc.data, tc.want)
		}
		sub, ok := card.ParseSubmit(json.RawMessage(tc.data))
		if !ok || sub.Action != card.SubmitOptOut || !cmp.Equal(sub.Topics, []string{"deploys"}) {
			t.Errorf("%s: ParseSubmit(%s) = %+v, %v", tc.path, tc.data, sub, ok)
		}
	}
}

func TestRenderActionCount(t *testing.T) {
	t.Parallel()
	acts := func(n int) []card.Action {
		out := make([]card.Action, n)
		for i := range out {
			out[i] = card.Action{Title: "a", URL: "https://example.com"}
		}
		return out
	}
	tests := []struct {
		name    string
		s       card.Structured
		actions int // -1: error
	}{
		{"five and the opt-out", card.Structured{Title: "t", Topic: "x", Actions: acts(5)}, 6},
		{"six and the opt-out", card.Structured{Title: "t", Topic: "x", Actions: acts(6)}, -1},
		{"six, opt-out off", card.Structured{Title: "t", Topic: "x", OptOut: boolPtr(false), Actions: acts(6)}, 6},
		{"seven, no topic", card.Structured{Title: "t", Actions: acts(7)}, -1},
		{"none", card.Structured{Title: "t"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := card.Render(tt.s, card.RenderOptions{})
			if tt.actions < 0 {
				var ve *card.ValidationError
				if !errors.As(err, &ve) || ve.Field != "actions" {
					t.Fatalf("got %v, want an actions error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(decodeCard(t, att).Actions); got != tt.actions {
				t.Errorf("got %d actions, want %d", got, tt.actions)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	ok := card.Structured{Title: "Deploy failed"}
	tests := []struct {
		name   string
		mutate func(*card.Structured)
		field  string
	}{
		{"no title", func(s *card.Structured) { s.Title = " " }, "title"},
		{"bad style", func(s *card.Structured) { s.Style = "red" }, "style"},
		{"subject URL not http", func(s *card.Structured) { s.Subject = card.Subject{Name: "x", URL: "javascript:alert(1)"} }, "subject.url"},
		{"subject URL without a name", func(s *card.Structured) { s.Subject = card.Subject{URL: "https://x.example"} }, "subject.name"},
		{"actor image not http", func(s *card.Structured) { s.Actor = card.Actor{Name: "a", ImageURL: "ftp://x"} }, "actor.imageUrl"},
		{"actor image without a name", func(s *card.Structured) { s.Actor = card.Actor{ImageURL: "https://x.example/a.png"} }, "actor.name"},
		{"fact without value", func(s *card.Structured) { s.Facts = []card.Fact{{Title: "a", Value: "b"}, {Title: "c"}} }, "facts[1]"},
		{"action without title", func(s *card.Structured) { s.Actions = []card.Action{{URL: "https://x.example"}} }, "actions[0].title"},
		{"action with url and data", func(s *card.Structured) {
			s.Actions = []card.Action{{Title: "a", URL: "https://x.example", Data: json.RawMessage(`1`)}}
		}, "actions[0]"},
		{"action with neither", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a"}} }, "actions[0]"},
		{"action URL not http", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a", URL: "x.example"}} }, "actions[0].url"},
		{"action data not JSON", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a", Data: json.RawMessage(`{`)}} }, "actions[0].data"},
		{"action data a number", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a", Data: json.RawMessage(`12`)}} }, "actions[0].data"},
		{"action data an array", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a", Data: json.RawMessage(`[1]`)}} }, "actions[0].data"},
		{"action data null", func(s *card.Structured) { s.Actions = []card.Action{{Title: "a", Data: json.RawMessage(`null`)}} }, "actions[0].data"},
		{"action data uses Herald's key", func(s *card.Structured) {
			s.Actions = []card.Action{{Title: "a", Data: json.RawMessage(`{"herald":"optout","topics":"x"}`)}}
		}, "actions[0].data"},
		{"opt-out without topic", func(s *card.Structured) { s.OptOut = boolPtr(true) }, "topic"},
		{"topic with a comma", func(s *card.Structured) { s.Topic = "a,b" }, "topic"},
		{"too large", func(s *card.Structured) { s.Details = strings.Repeat("x", card.MaxCardBytes) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := ok
			tt.mutate(&s)
			_, err := card.Render(s, card.RenderOptions{})
			var ve *card.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("got field %q (%v), want %q", ve.Field, ve, tt.field)
			}
		})
	}
	if _, err := card.Render(ok, card.RenderOptions{}); err != nil {
		t.Fatalf("the base case must render: %v", err)
	}
	ok.Actions = []card.Action{{Title: "a", Data: json.RawMessage(` "retry"`)}, {Title: "b", Data: json.RawMessage(`{"retry":1}`)}}
	if _, err := card.Render(ok, card.RenderOptions{}); err != nil {
		t.Fatalf("string and object data must render: %v", err)
	}
}

// fill does what the delivery engine does to a rendered card: it replaces
// each {{name}} in the JSON text with the value escaped for a JSON string.
func fill(t *testing.T, raw json.RawMessage, values map[string]string) json.RawMessage {
	t.Helper()
	s := string(raw)
	for name, v := range values {
		q, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s = strings.ReplaceAll(s, "{{"+name+"}}", string(q[1:len(q)-1]))
	}
	return json.RawMessage(s)
}

func TestRenderKeepsPlaceholders(t *testing.T) {
	t.Parallel()
	s := card.Structured{
		Title:     "Hi {{name}}",
		Subject:   card.Subject{Name: "{{name}}'s <report> & more", URL: "https://x.example/{{userId}}"},
		Actor:     card.Actor{Name: "{{manager}}"},
		Details:   "Dear {{name}}",
		Facts:     []card.Fact{{Title: "{{label}}", Value: "{{name}}"}},
		Actions:   []card.Action{{Title: "Open {{name}}", URL: "{{link}}"}},
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	att, err := card.Render(s, card.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := string(att.Content)
	for _, want := range []string{
		`"Hi {{name}}"`, `"{{name}}'s <report> & more"`, `"https://x.example/{{userId}}"`, `"by {{manager}} · {{DATE(2026-01-02T03:04:05Z, SHORT)}} {{TIME(2026-01-02T03:04:05Z)}}"`,
		`"Dear {{name}}"`, `"title":"{{label}}","value":"{{name}}"`, `"Open {{name}}"`, `"url":"{{link}}"`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("rendered card lacks %s:\n%s", want, raw)
		}
	}
	filled := fill(t, att.Content, map[string]string{
		"name": `Zoë "Z" <O'Neil> \ & {{x}}`, "userId": "29:1", "manager": "Bob", "label": "Owner", "link": "https://x.example/l",
	})
	if err := card.ValidateAdaptiveCard(filled); err != nil {
		t.Fatalf("card with values filled in is invalid: %v\n%s", err, filled)
	}
	var c struct {
		Body []struct {
			Text string `json:"text"`
		} `json:"body"`
	}
	if err := json.Unmarshal(filled, &c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Body[0].Text, `Hi Zoë "Z" <O'Neil> \ & {{x}}`; got != want {
		t.Errorf("header after filling = %q, want %q", got, want)
	}
}
