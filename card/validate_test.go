package card_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"herald/botframework"
	"herald/card"
)

// cardJSON builds an Adaptive Card with the given version member (raw
// JSON, or "" for none) and number of top-level actions.
func cardJSON(version string, actions int) string {
	var b strings.Builder
	b.WriteString(`{"type":"AdaptiveCard"`)
	if version != "" {
		b.WriteString(`,"version":` + version)
	}
	b.WriteString(`,"body":[{"type":"TextBlock","text":"hi"}]`)
	if actions > 0 {
		acts := make([]string, actions)
		for i := range acts {
			acts[i] = fmt.Sprintf(`{"type":"Action.OpenUrl","title":"a%d","url":"https://example.com"}`, i)
		}
		b.WriteString(`,"actions":[` + strings.Join(acts, ",") + `]`)
	}
	b.WriteString(`}`)
	return b.String()
}

// refreshFor is a card whose refresh names n users.
func refreshFor(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"29:%d"`, i)
	}
	return `{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Execute","verb":"refresh"},"userIds":[` +
		strings.Join(ids, ",") + `]}}`
}

func TestValidateAdaptiveCard(t *testing.T) {
	t.Parallel()
	// padded makes a valid card of exactly n bytes once compacted.
	padded := func(n int) string {
		head := `{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"`
		tail := `"}]}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	tests := []struct {
		name  string
		raw   string
		field string // "-" means valid
	}{
		{"1.0", cardJSON(`"1.0"`, 0), "-"},
		{"1.1", cardJSON(`"1.1"`, 0), "-"},
		{"1.2", cardJSON(`"1.2"`, 0), "-"},
		{"1.3", cardJSON(`"1.3"`, 0), "-"},
		{"1.4", cardJSON(`"1.4"`, 0), "-"},
		{"1.5", cardJSON(`"1.5"`, 0), "-"},
		{"1.6", cardJSON(`"1.6"`, 0), "version"},
		{"1.10 is newer than 1.5", cardJSON(`"1.10"`, 0), "version"},
		{"2.0", cardJSON(`"2.0"`, 0), "version"},
		{"major only", cardJSON(`"1"`, 0), "-"},
		{"0.9", cardJSON(`"0.9"`, 0), "version"},
		{"missing version", cardJSON("", 0), "version"},
		{"numeric version", cardJSON(`1.5`, 0), "version"},
		{"empty version", cardJSON(`""`, 0), "version"},
		{"version with patch", cardJSON(`"1.5.1"`, 0), "version"},
		{"version with sign", cardJSON(`"+1.5"`, 0), "version"},
		{"version with space", cardJSON(`" 1.5"`, 0), "version"},
		{"huge version", cardJSON(`"1.99999999999999999999"`, 0), "version"},
		{"missing type", `{"version":"1.5","body":[]}`, "type"},
		{"wrong type", `{"type":"HeroCard","version":"1.5"}`, "type"},
		{"type not a string", `{"type":1,"version":"1.5"}`, "type"},
		{"no body", `{"type":"AdaptiveCard","version":"1.5"}`, "-"},
		{"body not an array", `{"type":"AdaptiveCard","version":"1.5","body":{}}`, "body"},
		{"body null", `{"type":"AdaptiveCard","version":"1.5","body":null}`, "body"},
		{"actions not an array", `{"type":"AdaptiveCard","version":"1.5","actions":"x"}`, "actions"},
		{"six actions", cardJSON(`"1.5"`, 6), "-"},
		{"seven actions", cardJSON(`"1.5"`, 7), "actions"},
		{"at the size limit", padded(card.MaxCardBytes), "-"},
		{"over the size limit", padded(card.MaxCardBytes + 1), ""},
		{"whitespace does not count", strings.Replace(padded(card.MaxCardBytes), ",", ",\n    ", -1), "-"},
		{"execute at 1.5", `{"type":"AdaptiveCard","version":"1.5","actions":[{"type":"Action.Execute","verb":"ack"}]}`, "-"},
		{"execute below 1.5", `{"type":"AdaptiveCard","version":"1.4","actions":[{"type":"Action.Execute","verb":"ack"}]}`, "version"},
		{"refresh", `{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Execute","verb":"refresh"},"userIds":["29:a"]}}`, "-"},
		{"refresh without userIds", `{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Execute","verb":"refresh"}}}`, "-"},
		{"refresh below 1.5", `{"type":"AdaptiveCard","version":"1.2","refresh":{"action":{"type":"Action.Execute"}}}`, "version"},
		{"refresh not an object", `{"type":"AdaptiveCard","version":"1.5","refresh":[]}`, "refresh"},
		{"refresh with a submit", `{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Submit"}}}`, "refresh.action"},
		{"refresh without action", `{"type":"AdaptiveCard","version":"1.5","refresh":{"userIds":[]}}`, "refresh.action"},
		{"refresh userIds not strings", `{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Execute"},"userIds":[1]}}`, "refresh.userIds"},
		{"refresh for 60", refreshFor(card.MaxRefreshUsers), "-"},
		{"refresh for 61", refreshFor(card.MaxRefreshUsers + 1), "refresh.userIds"},
		{"array", `[{"type":"AdaptiveCard","version":"1.5"}]`, ""},
		{"string", `"AdaptiveCard"`, ""},
		{"null", `null`, ""},
		{"empty", ``, ""},
		{"invalid JSON", `{"type":"AdaptiveCard",`, ""},
		{"trailing garbage", `{"type":"AdaptiveCard","version":"1.5"} x`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := card.ValidateAdaptiveCard(json.RawMessage(tt.raw))
			if tt.field == "-" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ve *card.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || ve.Message == "" {
				t.Errorf("got field %q message %q, want field %q", ve.Field, ve.Message, tt.field)
			}
		})
	}
}

func TestValidateHeroCard(t *testing.T) {
	t.Parallel()
	str := botframework.StringValue
	button := func(typ string, value json.RawMessage) botframework.CardAction {
		return botframework.CardAction{Type: typ, Title: "Go", Value: value}
	}
	buttons := func(n int) []botframework.CardAction {
		out := make([]botframework.CardAction, n)
		for i := range out {
			out[i] = button(botframework.ActionOpenURL, str("https://example.com"))
		}
		return out
	}
	tests := []struct {
		name  string
		card  botframework.HeroCard
		field string // "-" means valid
	}{
		{"title only", botframework.HeroCard{Title: "Hi"}, "-"},
		{"text only", botframework.HeroCard{Text: "Hi"}, "-"},
		{"neither", botframework.HeroCard{Subtitle: "sub"}, "title"},
		{"six buttons", botframework.HeroCard{Title: "Hi", Buttons: buttons(6)}, "-"},
		{"seven buttons", botframework.HeroCard{Title: "Hi", Buttons: buttons(7)}, "buttons"},
		{"every supported type", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{
			button("openUrl", str("https://example.com")),
			button("imBack", str("help")),
			{Type: "messageBack", Title: "Go", Text: "go"},
			button("invoke", json.RawMessage(`{"a":1}`)),
			button("signin", str("https://login.example.com")),
		}}, "-"},
		{"postBack", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("postBack", str("x"))}}, "buttons[0].type"},
		{"unknown type", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("call", str("x"))}}, "buttons[0].type"},
		{"no title", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{{Type: "imBack", Value: str("x")}}}, "buttons[0].title"},
		{"openUrl without a URL", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("openUrl", str("example.com"))}}, "buttons[0].value"},
		{"openUrl with a placeholder", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("openUrl", str("{{link}}"))}}, "-"},
		{"imBack without text", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("imBack", nil)}}, "buttons[0].value"},
		{"empty messageBack", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("messageBack", nil)}}, "buttons[0]"},
		{"invoke without value", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("invoke", nil)}}, "buttons[0].value"},
		{"second button bad", botframework.HeroCard{Title: "Hi", Buttons: []botframework.CardAction{button("imBack", str("a")), button("x", nil)}}, "buttons[1].type"},
		{"tap without title", botframework.HeroCard{Title: "Hi", Tap: &botframework.CardAction{Type: "openUrl", Value: str("https://x.example")}}, "-"},
		{"bad tap", botframework.HeroCard{Title: "Hi", Tap: &botframework.CardAction{Type: "openUrl"}}, "tap.value"},
		{"image without URL", botframework.HeroCard{Title: "Hi", Images: []botframework.CardImage{{Alt: "x"}}}, "images[0].url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := card.ValidateHeroCard(tt.card)
			if tt.field == "-" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ve *card.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("got field %q (%v), want %q", ve.Field, ve, tt.field)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	if got := (&card.ValidationError{Field: "version", Message: "too new"}).Error(); got != "version: too new" {
		t.Errorf("with field: %q", got)
	}
	if got := (&card.ValidationError{Message: "not JSON"}).Error(); got != "not JSON" {
		t.Errorf("without field: %q", got)
	}
}

func TestMessageSize(t *testing.T) {
	t.Parallel()
	att := botframework.AdaptiveCardAttachment(json.RawMessage(`{"type":"AdaptiveCard","version":"1.5","body":[]}`))
	attJSON := `{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.5","body":[]}}`
	tests := []struct {
		name        string
		text        string
		attachments []botframework.Attachment
		want        int
	}{
		{"empty", "", nil, 0},
		{"ascii", "hello", nil, 5},
		{"accents count one unit each", "héllo wörld", nil, 11},
		{"astral characters count two", "ok 😀", nil, 5},
		{"CJK", "通知", nil, 2},
		{"attachment JSON", "", []botframework.Attachment{att}, len(attJSON)},
		{"text and two attachments", "hi", []botframework.Attachment{att, att}, 2 + 2*len(attJSON)},
		{"non-ASCII in a card", "", []botframework.Attachment{botframework.AdaptiveCardAttachment(json.RawMessage(`{"t":"😀&"}`))},
			len(`{"contentType":"application/vnd.microsoft.card.adaptive","content":{"t":"`) + 2 + len(`&"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := card.MessageSize(tt.text, tt.attachments); got != tt.want {
				t.Errorf("MessageSize = %d, want %d", got, tt.want)
			}
		})
	}
}
