package card

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"herald/botframework"
)

// RenderOptions tune [Render].
type RenderOptions struct {
	// Strict makes Render fail with a [*LintError] when [Lint] finds parts
	// missing, instead of rendering what there is.
	Strict bool
}

// Header styles for [Structured.Style]: the Adaptive Card container styles.
const (
	StyleDefault   = "default"
	StyleEmphasis  = "emphasis"
	StyleAccent    = "accent"
	StyleGood      = "good"
	StyleWarning   = "warning"
	StyleAttention = "attention"
)

// style returns s's header style, lowercased as Adaptive Cards spell it.
func style(s Structured) string { return strings.ToLower(strings.TrimSpace(s.Style)) }

func validStyle(s string) bool {
	switch s {
	case "", StyleDefault, StyleEmphasis, StyleAccent, StyleGood, StyleWarning, StyleAttention:
		return true
	}
	return false
}

// Render lays s out as an Adaptive Card (version 1.5) attachment: a header
// saying what happened (coloured by Style), the subject (a link when it has
// a URL), "by" the actor, the details, the facts, the time, then the action
// buttons and an opt-out button for the topic. The output is deterministic.
//
// It fails with a [*ValidationError] when s cannot make a sound card (no
// title, a malformed action, more than [MaxActions] buttons counting the
// opt-out, a card over [MaxCardBytes]), and, with opts.Strict, with a
// [*LintError] when [Lint] has warnings.
func Render(s Structured, opts RenderOptions) (botframework.Attachment, error) {
	if opts.Strict {
		if w := Lint(s); len(w) > 0 {
			return botframework.Attachment{}, &LintError{Warnings: w}
		}
	}
	if err := check(s); err != nil {
		return botframework.Attachment{}, err
	}
	return attach(adaptiveCard{Body: body(s), Actions: actions(s)})
}

// attach encodes c, a card with its body, actions and refresh set, checks
// it against the limits Teams enforces, and wraps it as an attachment.
func attach(c adaptiveCard) (botframework.Attachment, error) {
	c.Type = "AdaptiveCard"
	c.Schema = "http://adaptivecards.io/schemas/adaptive-card.json"
	c.Version = MaxAdaptiveCardVersion
	raw, err := encode(c)
	if err != nil {
		return botframework.Attachment{}, fmt.Errorf("encode card: %w", err)
	}
	if err := ValidateAdaptiveCard(raw); err != nil {
		return botframework.Attachment{}, err
	}
	return botframework.AdaptiveCardAttachment(raw), nil
}

// check reports what in s would make an unsound card.
func check(s Structured) error {
	if blank(s.Title) {
		return invalid("title", "say what happened")
	}
	if !validStyle(style(s)) {
		return invalid("style", "%q is not one of default, emphasis, accent, good, warning, attention", s.Style)
	}
	if s.Subject.URL != "" && !isURL(s.Subject.URL) {
		return invalid("subject.url", "must be an http or https URL")
	}
	if s.Subject != (Subject{}) && blank(s.Subject.Name) {
		return invalid("subject.name", "is required when the subject is set")
	}
	if s.Actor.ImageURL != "" && !isURL(s.Actor.ImageURL) {
		return invalid("actor.imageUrl", "must be an http or https URL")
	}
	if s.Actor != (Actor{}) && blank(s.Actor.Name) {
		return invalid("actor.name", "is required when the actor is set")
	}
	for i, f := range s.Facts {
		if blank(f.Title) || blank(f.Value) {
			return invalid(fmt.Sprintf("facts[%d]", i), "a fact needs a title and a value")
		}
	}
	for i, a := range s.Actions {
		if err := checkAction(fmt.Sprintf("actions[%d]", i), a); err != nil {
			return err
		}
	}
	n, counted := len(s.Actions), ""
	if s.hasOptOut() {
		counted = " counting the opt-out"
		if blank(s.Topic) {
			return invalid("topic", "the opt-out button needs a topic")
		}
		if strings.Contains(s.Topic, ",") {
			return invalid("topic", "must not contain a comma")
		}
		n++
	}
	if n > MaxActions {
		return invalid("actions", "%d buttons%s; Teams allows at most %d", n, counted, MaxActions)
	}
	return nil
}

func checkAction(field string, a Action) error {
	if blank(a.Title) {
		return invalid(field+".title", "is required")
	}
	switch {
	case a.URL != "" && len(a.Data) > 0:
		return invalid(field, "set url or data, not both")
	case a.URL != "":
		if !isURL(a.URL) {
			return invalid(field+".url", "must be an http or https URL")
		}
	case len(a.Data) > 0:
		var obj map[string]json.RawMessage
		var str string
		switch {
		case json.Unmarshal(a.Data, &obj) == nil && obj != nil:
			if _, ok := obj[SubmitKey]; ok {
				return invalid(field+".data", "the key %q is Herald's own", SubmitKey)
			}
		case bytes.HasPrefix(bytes.TrimSpace(a.Data), []byte(`"`)) && json.Unmarshal(a.Data, &str) == nil:
		default:
			return invalid(field+".data", "must be a JSON object or string")
		}
	default:
		return invalid(field, "set url (a link) or data (sent to the bot)")
	}
	return nil
}

// The Adaptive Card elements Render uses, in the member order they are
// written.
type (
	adaptiveCard struct {
		Type    string       `json:"type"`
		Schema  string       `json:"$schema"`
		Version string       `json:"version"`
		Refresh *refreshJSON `json:"refresh,omitempty"`
		Body    []any        `json:"body"`
		Actions []action     `json:"actions,omitempty"`
	}
	refreshJSON struct {
		Action  action   `json:"action"`
		UserIDs []string `json:"userIds,omitempty"`
	}
	textBlock struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Weight   string `json:"weight,omitempty"`
		Size     string `json:"size,omitempty"`
		Color    string `json:"color,omitempty"`
		IsSubtle bool   `json:"isSubtle,omitempty"`
		Spacing  string `json:"spacing,omitempty"`
		Wrap     bool   `json:"wrap"`
	}
	container struct {
		Type         string  `json:"type"`
		Style        string  `json:"style,omitempty"`
		Bleed        bool    `json:"bleed,omitempty"`
		Spacing      string  `json:"spacing,omitempty"`
		Items        []any   `json:"items"`
		SelectAction *action `json:"selectAction,omitempty"`
	}
	columnSet struct {
		Type    string   `json:"type"`
		Spacing string   `json:"spacing,omitempty"`
		Columns []column `json:"columns"`
	}
	column struct {
		Type                     string `json:"type"`
		Width                    string `json:"width"`
		VerticalContentAlignment string `json:"verticalContentAlignment,omitempty"`
		Items                    []any  `json:"items"`
	}
	image struct {
		Type    string `json:"type"`
		URL     string `json:"url"`
		AltText string `json:"altText,omitempty"`
		Style   string `json:"style,omitempty"`
		Size    string `json:"size,omitempty"`
	}
	factSet struct {
		Type  string `json:"type"`
		Facts []Fact `json:"facts"`
	}
	action struct {
		Type     string          `json:"type"`
		Title    string          `json:"title,omitempty"`
		URL      string          `json:"url,omitempty"`
		Verb     string          `json:"verb,omitempty"`
		Data     json.RawMessage `json:"data,omitempty"`
		Fallback *action         `json:"fallback,omitempty"`
	}
)

func body(s Structured) []any {
	header := textBlock{Type: "TextBlock", Text: s.Title, Weight: "Bolder", Size: "Medium", Wrap: true}
	var b []any
	if st := style(s); st == "" || st == StyleDefault {
		b = append(b, header)
	} else {
		b = append(b, container{Type: "Container", Style: st, Bleed: true, Items: []any{header}})
	}
	if !blank(s.Subject.Name) {
		b = append(b, subjectLine(s.Subject))
	}
	if line := byline(s.Actor.Name, s.Timestamp); line != "" {
		b = append(b, actorLine(s.Actor, line))
	}
	if !blank(s.Details) {
		b = append(b, textBlock{Type: "TextBlock", Text: s.Details, Wrap: true})
	}
	if len(s.Facts) > 0 {
		b = append(b, factSet{Type: "FactSet", Facts: s.Facts})
	}
	return b
}

// subjectLine shows the subject; with a URL the whole line opens it, which
// avoids Markdown link syntax breaking on brackets in the name.
func subjectLine(sub Subject) any {
	text := textBlock{Type: "TextBlock", Text: sub.Name, Weight: "Bolder", Spacing: "Small", Wrap: true}
	if sub.URL == "" {
		return text
	}
	text.Color = "Accent"
	text.Spacing = ""
	return container{Type: "Container", Spacing: "Small", Items: []any{text},
		SelectAction: &action{Type: actionOpenURL, Title: sub.Name, URL: sub.URL}}
}

// byline is "by <actor>", then the time, as Adaptive Cards date and time
// functions that Teams renders in the reader's time zone.
func byline(actor string, at time.Time) string {
	var parts []string
	if !blank(actor) {
		parts = append(parts, "by "+actor)
	}
	if !at.IsZero() {
		ts := at.UTC().Truncate(time.Second).Format(time.RFC3339)
		parts = append(parts, "{{DATE("+ts+", SHORT)}} {{TIME("+ts+")}}")
	}
	return strings.Join(parts, " · ")
}

func actorLine(a Actor, line string) any {
	text := textBlock{Type: "TextBlock", Text: line, IsSubtle: true, Spacing: "Small", Wrap: true}
	if a.ImageURL == "" || blank(a.Name) {
		return text
	}
	text.Spacing = ""
	return columnSet{Type: "ColumnSet", Spacing: "Small", Columns: []column{
		{Type: "Column", Width: "auto", Items: []any{
			image{Type: "Image", URL: a.ImageURL, AltText: a.Name, Style: "Person", Size: "Small"}}},
		{Type: "Column", Width: "stretch", VerticalContentAlignment: "Center", Items: []any{text}},
	}}
}

func actions(s Structured) []action {
	var out []action
	for _, a := range s.Actions {
		if a.URL != "" {
			out = append(out, action{Type: actionOpenURL, Title: a.Title, URL: a.URL})
		} else {
			out = append(out, action{Type: actionSubmit, Title: a.Title, Data: a.Data})
		}
	}
	if s.hasOptOut() {
		topic := strings.TrimSpace(s.Topic)
		out = append(out, execute("Turn off "+topic+" notifications", Submit{Action: SubmitOptOut, Topics: []string{topic}}))
	}
	return out
}
