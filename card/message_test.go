package card_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald/botframework"
	"herald/card"
)

const cardHead = `{"type":"AdaptiveCard","$schema":"http://adaptivecards.io/schemas/adaptive-card.json","version":"1.5",`

func TestRenderMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    card.Message
		want string
	}{
		{"empty", card.Message{}, cardHead + `"body":[]}`},
		{"heading and text", card.Message{Heading: "Stopped deploys", Paragraphs: []string{"You won't get **deploys** <any> more & that's that."}},
			cardHead + `"body":[{"type":"TextBlock","text":"Stopped deploys","weight":"Bolder","size":"Medium","wrap":true},` +
				`{"type":"TextBlock","text":"You won't get **deploys** <any> more & that's that.","wrap":true}]}`},
		{"empty texts left out", card.Message{Paragraphs: []string{"", "why", "", "next"}},
			cardHead + `"body":[{"type":"TextBlock","text":"why","wrap":true},{"type":"TextBlock","text":"next","wrap":true}]}`},
		{"preface, facts and a command", card.Message{Preface: "Sorry?", Heading: "Help", Facts: []card.Fact{{Title: "stop <topic>", Value: "stop one topic"}},
			Buttons: []card.Button{{Title: "Show topics", Command: "topics"}}},
			cardHead + `"body":[{"type":"TextBlock","text":"Sorry?","wrap":true},` +
				`{"type":"TextBlock","text":"Help","weight":"Bolder","size":"Medium","wrap":true},` +
				`{"type":"FactSet","facts":[{"title":"stop <topic>","value":"stop one topic"}]}],` +
				`"actions":[{"type":"Action.Submit","title":"Show topics","data":{"msteams":{"type":"imBack","value":"topics"}}}]}`},
		{"link", card.Message{Paragraphs: []string{"Welcome"}, Buttons: []card.Button{{Title: "Open the guide", URL: "https://example.com/guide?a=1&b=2"}}},
			cardHead + `"body":[{"type":"TextBlock","text":"Welcome","wrap":true}],` +
				`"actions":[{"type":"Action.OpenUrl","title":"Open the guide","url":"https://example.com/guide?a=1&b=2"}]}`},
		{"picker", card.Message{Heading: "Your topics", Paragraphs: []string{"**deploys**: on"},
			Picker: &card.TopicPicker{Label: "Select", Topics: []string{"deploys", "digest"}, Button: "Turn these off"}},
			cardHead + `"body":[{"type":"TextBlock","text":"Your topics","weight":"Bolder","size":"Medium","wrap":true},` +
				`{"type":"TextBlock","text":"**deploys**: on","wrap":true},` +
				`{"type":"Input.ChoiceSet","id":"topics","isMultiSelect":true,"style":"expanded","label":"Select",` +
				`"choices":[{"title":"deploys","value":"deploys"},{"title":"digest","value":"digest"}]}],` +
				`"actions":[{"type":"Action.Execute","title":"Turn these off","verb":"optout","data":{"herald":"optout"},"fallback":{"type":"Action.Submit","title":"Turn these off","data":{"verb":"optout","herald":"optout"}}}]}`},
		{"toggles", card.Message{Toggles: []card.Toggle{{Topic: "deploys", Text: "**deploys**: on", On: true, Button: "Turn off"},
			{Topic: "digest", Text: "**digest**: off", Button: "Turn on"}, {Topic: "outages", Text: "**outages**: always on", On: true}}},
			cardHead + `"body":[` +
				`{"type":"ColumnSet","columns":[{"type":"Column","width":"stretch","verticalContentAlignment":"Center","items":[{"type":"TextBlock","text":"**deploys**: on","wrap":true}]},` +
				`{"type":"Column","width":"auto","verticalContentAlignment":"Center","items":[{"type":"ActionSet","actions":[{"type":"Action.Execute","title":"Turn off","verb":"topic-off","data":{"herald":"topic-off","topics":"deploys"},"fallback":{"type":"Action.Submit","title":"Turn off","data":{"verb":"topic-off","herald":"topic-off","topics":"deploys"}}}]}]}]},` +
				`{"type":"ColumnSet","columns":[{"type":"Column","width":"stretch","verticalContentAlignment":"Center","items":[{"type":"TextBlock","text":"**digest**: off","wrap":true}]},` +
				`{"type":"Column","width":"auto","verticalContentAlignment":"Center","items":[{"type":"ActionSet","actions":[{"type":"Action.Execute","title":"Turn on","verb":"topic-on","data":{"herald":"topic-on","topics":"digest"},"fallback":{"type":"Action.Submit","title":"Turn on","data":{"verb":"topic-on","herald":"topic-on","topics":"digest"}}}]}]}]},` +
				`{"type":"ColumnSet","columns":[{"type":"Column","width":"stretch","verticalContentAlignment":"Center","items":[{"type":"TextBlock","text":"**outages**: always on","wrap":true}]}]}]}`},
		{"herald button and refresh", card.Message{Heading: "Turned off: deploys",
			Buttons: []card.Button{{Title: "Turn deploys back on", Submit: &card.Submit{Action: card.SubmitOptIn, Topics: []string{"deploys"}}}},
			Refresh: &card.Refresh{Submit: card.Submit{Action: card.SubmitOptOutCard, Topics: []string{"deploys"}}, UserIDs: []string{"29:ann"}}},
			`{"type":"AdaptiveCard","$schema":"http://adaptivecards.io/schemas/adaptive-card.json","version":"1.5",` +
				`"refresh":{"action":{"type":"Action.Execute","verb":"refresh","data":{"herald":"optout-card","topics":"deploys"}},"userIds":["29:ann"]},` +
				`"body":[{"type":"TextBlock","text":"Turned off: deploys","weight":"Bolder","size":"Medium","wrap":true}],` +
				`"actions":[{"type":"Action.Execute","title":"Turn deploys back on","verb":"optin","data":{"herald":"optin","topics":"deploys"},` +
				`"fallback":{"type":"Action.Submit","title":"Turn deploys back on","data":{"verb":"optin","herald":"optin","topics":"deploys"}}}]}`},
		{"refresh for everyone", card.Message{Refresh: &card.Refresh{Submit: card.Submit{Action: card.SubmitTopicsCard}}},
			`{"type":"AdaptiveCard","$schema":"http://adaptivecards.io/schemas/adaptive-card.json","version":"1.5",` +
				`"refresh":{"action":{"type":"Action.Execute","verb":"refresh","data":{"herald":"topics-card"}}},"body":[]}`},
		{"picker without topics left out", card.Message{Heading: "Your topics", Picker: &card.TopicPicker{Label: "Select", Button: "Turn these off"}},
			cardHead + `"body":[{"type":"TextBlock","text":"Your topics","weight":"Bolder","size":"Medium","wrap":true}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := card.RenderMessage(tt.m)
			if err != nil {
				t.Fatalf("RenderMessage: %v", err)
			}
			if att.ContentType != botframework.ContentTypeAdaptiveCard {
				t.Errorf("content type %q", att.ContentType)
			}
			if diff := cmp.Diff(tt.want, string(att.Content)); diff != "" {
				t.Errorf("card (-want +got):\n%s", diff)
			}
			if err := card.ValidateAdaptiveCard(att.Content); err != nil {
				t.Errorf("rendered card does not validate: %v", err)
			}
		})
	}
}

func TestRenderMessageRefuses(t *testing.T) {
	t.Parallel()
	six := make([]card.Button, card.MaxActions)
	for i := range six {
		six[i] = card.Button{Title: "b", Command: "help"}
	}
	tests := []struct {
		name  string
		m     card.Message
		field string
	}{
		{"button with neither", card.Message{Buttons: []card.Button{{Title: "x"}}}, "buttons[0]"},
		{"button with both", card.Message{Buttons: []card.Button{{Title: "ok", Command: "help"}, {Title: "x", URL: "https://x", Command: "help"}}}, "buttons[1]"},
		{"not a link", card.Message{Buttons: []card.Button{{Title: "x", URL: "javascript:alert(1)"}}}, "buttons[0].url"},
		{"no host", card.Message{Buttons: []card.Button{{Title: "x", URL: "https://"}}}, "buttons[0].url"},
		{"placeholder", card.Message{Buttons: []card.Button{{Title: "x", URL: "{{link}}"}}}, "buttons[0].url"},
		{"too many buttons", card.Message{Buttons: append(six, card.Button{Title: "b", Command: "help"})}, "buttons"},
		{"too many with the picker", card.Message{Buttons: six, Picker: &card.TopicPicker{Topics: []string{"a"}, Button: "off"}}, "buttons"},
		{"button with submit and command", card.Message{Buttons: []card.Button{{Title: "x", Command: "help", Submit: &card.Submit{Action: "optin"}}}}, "buttons[0]"},
		{"submit without action", card.Message{Buttons: []card.Button{{Title: "x", Submit: &card.Submit{}}}}, "buttons[0].submit"},
		{"refresh for too many", card.Message{Refresh: &card.Refresh{Submit: card.Submit{Action: card.SubmitTopicsCard},
			UserIDs: make([]string, card.MaxRefreshUsers+1)}}, "refresh.userIds"},
		{"too large", card.Message{Paragraphs: []string{strings.Repeat("x", card.MaxCardBytes)}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := card.RenderMessage(tt.m)
			var ve *card.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("RenderMessage error = %v, want a *ValidationError for %q", err, tt.field)
			}
		})
	}
}

// TestTopicPickerSubmit checks that what Teams sends when the picker's
// button is pressed (its data, with the input's value merged in) is the
// opt-out ParseSubmit reads.
func TestTopicPickerSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, selected string
		want           card.Submit
	}{
		{"two", "deploys,digest", card.Submit{Action: card.SubmitOptOut, Topics: []string{"deploys", "digest"}}},
		{"one", "digest", card.Submit{Action: card.SubmitOptOut, Topics: []string{"digest"}}},
		{"none", "", card.Submit{Action: card.SubmitOptOut}},
	}
	att, err := card.RenderMessage(card.Message{Picker: &card.TopicPicker{Label: "Select", Topics: []string{"deploys", "digest"}, Button: "Off"}})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Body []struct {
			Type, ID string
		} `json:"body"`
		Actions []struct {
			Data     map[string]any `json:"data"`
			Fallback struct {
				Data map[string]any `json:"data"`
			} `json:"fallback"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(att.Content, &c); err != nil || len(c.Body) != 1 || len(c.Actions) != 1 {
		t.Fatalf("card %s: %v", att.Content, err)
	}
	for _, tt := range tests {
		for path, data := range map[string]map[string]any{"execute": c.Actions[0].Data, "submit": c.Actions[0].Fallback.Data} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				t.Parallel()
				value := map[string]any{c.Body[0].ID: tt.selected}
				for k, v := range data {
					value[k] = v
				}
				raw, _ := json.Marshal(value)
				got, ok := card.ParseSubmit(raw)
				if !ok {
					t.Fatalf("ParseSubmit(%s) refused it", raw)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseSubmit(%s) (-want +got):\n%s", raw, diff)
				}
			})
		}
	}
}
