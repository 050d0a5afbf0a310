package engine

import (
	"encoding/json"
	"testing"

	"herald"

	"herald/botframework"
)

func TestRender(t *testing.T) {
	t.Parallel()
	vals := map[string]string{"name": "Zoë", "q": `say "hi" <b>`, "empty": ""}
	look := func(k string) (string, bool) { v, ok := vals[k]; return v, ok }
	tests := []struct {
		in, want string
		json     bool
	}{
		{"Hello {{name}}!", "Hello Zoë!", false},
		{"Hello {{ name }} and {{name}}", "Hello Zoë and Zoë", false},
		{"{{unknown}} stays", "{{unknown}} stays", false},
		{"{{empty}}|", "|", false},
		{"open {{name", "open {{name", false},
		{"{{bad name}}", "{{bad name}}", false},
		{"{{}}", "{{}}", false},
		{"no placeholders", "no placeholders", false},
		{`{"text":"{{q}}"}`, `{"text":"say \"hi\" \u003cb\u003e"}`, true},
	}
	for _, tt := range tests {
		if got := render(tt.in, look, tt.json); got != tt.want {
			t.Errorf("render(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRuntimeActivity(t *testing.T) {
	t.Parallel()
	card := json.RawMessage(`{"type":"AdaptiveCard","body":[{"type":"TextBlock","text":"Hi {{givenName}}, {{amount}}"}]}`)
	n := herald.Notification{Request: herald.NotificationRequest{
		Content: herald.Content{Text: "For {{name}} ({{email}})", Attachments: []botframework.Attachment{botframework.AdaptiveCardAttachment(card)}},
		Alert:   true, Variables: map[string]string{"amount": "global"},
	}}
	rt := newRuntime(n, 0)
	d := &herald.Delivery{Kind: herald.KindPersonal, Name: "Ada Lovelace", Email: "ada@x", Variables: map[string]string{"amount": "€5"}}
	a := rt.activity(d)
	if a.Text != "For Ada Lovelace (ada@x)" || a.TextFormat != botframework.TextFormatMarkdown {
		t.Fatalf("text = %q format %q", a.Text, a.TextFormat)
	}
	var body struct {
		Body []struct{ Text string } `json:"body"`
	}
	if err := json.Unmarshal(a.Attachments[0].Content, &body); err != nil || body.Body[0].Text != "Hi Ada, €5" {
		t.Fatalf("card = %s (%v)", a.Attachments[0].Content, err)
	}
	if a.ChannelData == nil || !a.ChannelData.Notification.Alert {
		t.Fatal("alert not set on a personal message")
	}
	if ch := rt.activity(&herald.Delivery{Kind: herald.KindChannel}); ch.ChannelData != nil {
		t.Fatal("alert set on a channel post")
	}
	plain := newRuntime(herald.Notification{Request: herald.NotificationRequest{Content: herald.Content{Text: "static"}}}, 0)
	if plain.templated || plain.activity(d).Text != "static" {
		t.Fatal("static content treated as a template")
	}
}
