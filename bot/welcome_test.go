package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"herald/bot"
)

func TestParseWelcomeTemplateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"not json", `{`, "parse welcome template"},
		{"unknown member", `{"why":"a","offer":"b","next":"c","extra":1}`, "unknown field"},
		{"missing why", `{"offer":"b","next":"c"}`, `"why" is required`},
		{"missing next", `{"why":"a","offer":"b","next":"  "}`, `"next" is required`},
		{"unknown placeholder", `{"why":"{{.Nope}}","offer":"b","next":"c"}`, "Nope"},
		{"unknown placeholder for group chats", `{"why":"{{if .GroupChat}}{{.Nope}}{{end}}","offer":"b","next":"c"}`, "Nope"},
		{"bad syntax", `{"why":"{{.BotName","offer":"b","next":"c"}`, "why"},
		{"range", `{"why":"{{range 10}}x{{end}}","offer":"b","next":"c"}`, "not allowed"},
		{"define", `{"why":"{{define \"x\"}}y{{end}}a","offer":"b","next":"c"}`, "not allowed"},
		{"button without target", `{"why":"a","offer":"b","next":"c","buttons":[{"title":"x"}]}`, "button 0"},
		{"button with both", `{"why":"a","offer":"b","next":"c","buttons":[{"title":"x","url":"https://a","command":"help"}]}`, "button 0"},
		{"trailing data", `{"why":"a","offer":"b","next":"c"} {}`, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bot.ParseWelcomeTemplate([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWelcomeTemplateRender(t *testing.T) {
	t.Parallel()
	tmpl, err := bot.ParseWelcomeTemplate([]byte(`{
		"title": "Hello {{.UserName}}",
		"why": "{{if .InstallerName}}{{.InstallerName}} added {{.BotName}}{{else}}{{.BotName}} was added{{end}} to {{.TeamName}}.",
		"offer": "Offer",
		"next": "Type **{{.Command}}**.",
		"buttons": [{"title": "Guide", "url": "{{.GuideURL}}"}, {"title": "Help", "command": "{{.Command}}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    bot.WelcomeData
		texts   []string
		actions int
	}{
		{"everything", bot.WelcomeData{BotName: "Herald", TeamName: "Ops", InstallerName: "Ann", UserName: "Bo",
			GuideURL: "https://example.com/g", Command: "help"},
			[]string{"Hello Bo", "Ann added Herald to Ops.", "Offer", "Type **help**."}, 2},
		{"no installer, no guide", bot.WelcomeData{BotName: "Herald", TeamName: "Ops", Command: "help"},
			[]string{"Hello", "Herald was added to Ops.", "Offer", "Type **help**."}, 1},
		{"guide not http", bot.WelcomeData{BotName: "B", GuideURL: "javascript:alert(1)", Command: "help"},
			[]string{"Hello", "B was added to .", "Offer", "Type **help**."}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := tmpl.Render(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if att.ContentType != "application/vnd.microsoft.card.adaptive" {
				t.Fatalf("content type %q", att.ContentType)
			}
			raw, _ := json.Marshal(att.Content)
			var c struct {
				Type, Version string
				Body          []struct{ Text string }
				Actions       []map[string]any
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			if c.Type != "AdaptiveCard" || c.Version != "1.5" {
				t.Fatalf("card %s %s", c.Type, c.Version)
			}
			var texts []string
			for _, b := range c.Body {
				texts = append(texts, b.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tt.texts, "|") {
				t.Fatalf("texts %q, want %q", texts, tt.texts)
			}
			if len(c.Actions) != tt.actions {
				t.Fatalf("actions %v, want %d", c.Actions, tt.actions)
			}
		})
	}
}

func TestWelcomeLoadTemplates(t *testing.T) {
	t.Parallel()
	var c bot.WelcomeConfig
	fsys := fstest.MapFS{
		"team.json":              {Data: []byte(`{"why":"w","offer":"o","next":"n"}`)},
		"group-chat.json":        {Data: []byte(`{"why":"{{.InstallerName}} added {{.BotName}} to {{.ChatName}}","offer":"o","next":"n"}`)},
		"group-chat-member.json": {Data: []byte(`{"why":"{{.UserName}} joined","offer":"o","next":"n"}`)},
		"personal.json":          {Data: []byte(`{"why":"{{.Bad}}","offer":"o","next":"n"}`)},
	}
	if err := c.LoadTemplates(fsys); err == nil || !strings.Contains(err.Error(), "personal.json") {
		t.Fatalf("bad personal template: err = %v", err)
	}
	delete(fsys, "personal.json")
	c = bot.WelcomeConfig{}
	if err := c.LoadTemplates(fsys); err != nil {
		t.Fatal(err)
	}
	if c.Team == nil || c.GroupChat == nil || c.GroupChatMember == nil || c.Personal != nil || c.MemberChannel != nil {
		t.Fatalf("loaded: team %v group chat %v group chat member %v personal %v member %v", c.Team != nil,
			c.GroupChat != nil, c.GroupChatMember != nil, c.Personal != nil, c.MemberChannel != nil)
	}
}

func FuzzParseWelcomeTemplate(f *testing.F) {
	f.Add([]byte(`{"title":"Hi {{.UserName}}","why":"{{if .InstallerName}}{{.InstallerName}}{{end}}","offer":"o","next":"n","buttons":[{"title":"g","url":"{{.GuideURL}}"}]}`))
	f.Add([]byte(`{"why":"{{printf \"%s\" .BotName}}","offer":"{{len .TeamName}}","next":"{{index .BotName 0}}"}`))
	f.Add([]byte(`{"why":"{{with .BotName}}{{.}}{{end}}","offer":"o","next":"n","buttons":[{"title":"c","command":"{{.Command}}"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := bot.ParseWelcomeTemplate(data)
		if err != nil {
			return
		}
		for _, d := range []bot.WelcomeData{{}, {BotName: "Herald", TeamName: "T", UserName: "<b>\"x\"</b>", GuideURL: "https://g", Command: "help"}} {
			att, err := tmpl.Render(d)
			if err != nil {
				continue // runtime template errors are reported, never panics
			}
			raw, err := json.Marshal(att.Content)
			if err != nil || !json.Valid(raw) {
				t.Fatalf("rendered card is not JSON: %v", err)
			}
		}
	})
}
