package card

import (
	"encoding/json"
	"strings"
	"time"
)

// Structured is a notification described by its parts rather than by its
// layout; [Render] lays it out as an Adaptive Card. Its JSON form is what
// the HTTP API accepts.
type Structured struct {
	// Title says what happened ("Deploy failed"). Required.
	Title string `json:"title"`
	// Subject is what it happened to (the build, the ticket, the document).
	Subject Subject `json:"subject,omitzero"`
	// Actor is who or what did it.
	Actor Actor `json:"actor,omitzero"`
	// Details is further text, in the Markdown subset Teams renders in
	// Adaptive Cards.
	Details string `json:"details,omitempty"`
	// Facts are label and value pairs shown as a table.
	Facts []Fact `json:"facts,omitempty"`
	// Actions are the buttons that let the reader act on the notification.
	// Together with the opt-out button there may be at most [MaxActions].
	Actions []Action `json:"actions,omitempty"`
	// Topic is the notification topic the reader can opt out of (for
	// example "deploys"); it names the opt-out button.
	Topic string `json:"topic,omitempty"`
	// OptOut says whether the card carries an opt-out button. nil means
	// yes when Topic is set. Set it to false for topics readers cannot turn
	// off (critical ones); Lint does not flag an explicit false.
	OptOut *bool `json:"optOut,omitempty"`
	// Style colours the header: "" or "default", "emphasis", "accent",
	// "good", "warning" or "attention" (case-insensitive).
	Style string `json:"style,omitempty"`
	// Timestamp is when it happened; zero means not shown. Teams shows it
	// in each reader's own time zone.
	Timestamp time.Time `json:"timestamp,omitzero"`
}

// Subject is what a notification is about.
type Subject struct {
	// Name is shown; required when the subject is set.
	Name string `json:"name"`
	// URL, when set, makes the subject line a link (http or https).
	URL string `json:"url,omitempty"`
}

// Actor is who or what caused a notification.
type Actor struct {
	// Name is shown as "by <Name>"; required when the actor is set.
	Name string `json:"name"`
	// ImageURL is an optional picture (http or https), shown round.
	ImageURL string `json:"imageUrl,omitempty"`
}

// Fact is one row of a notification's fact table.
type Fact struct {
	// Title is the label, such as "Environment".
	Title string `json:"title"`
	// Value is the value, such as "production".
	Value string `json:"value"`
}

// Action is a button. Exactly one of URL and Data is set: URL makes an
// Action.OpenUrl that opens the page; Data makes an Action.Submit that
// sends Data (a JSON object or string; an object must not use the key
// "herald", which Herald's own buttons use) to the bot as the value of a
// message activity.
type Action struct {
	// Title is the button's caption. Required.
	Title string `json:"title"`
	// URL is the page an Action.OpenUrl opens (http, https, or a
	// placeholder such as {{link}}).
	URL string `json:"url,omitempty"`
	// Data is what an Action.Submit sends to the bot.
	Data json.RawMessage `json:"data,omitempty"`
}

// hasOptOut reports whether the card gets an opt-out button.
func (s Structured) hasOptOut() bool {
	if s.OptOut != nil {
		return *s.OptOut
	}
	return strings.TrimSpace(s.Topic) != ""
}

// Warning is a part of a notification Teams' guidance asks for that is
// missing.
type Warning struct {
	// Field is the JSON name of the missing field.
	Field string `json:"field"`
	// Message says what is missing and why it matters.
	Message string `json:"message"`
}

// Lint names, in a fixed order, each part of Teams' notification guidance
// that s lacks: what happened (title), what it happened to (subject), who
// did it (actor), what the reader can do (actions) and how to opt out
// (topic). An explicit OptOut of false is a decision, not an omission, and
// is not flagged.
func Lint(s Structured) []Warning {
	var w []Warning
	if blank(s.Title) {
		w = append(w, Warning{"title", "say what happened"})
	}
	if blank(s.Subject.Name) {
		w = append(w, Warning{"subject", "say what it happened to"})
	}
	if blank(s.Actor.Name) {
		w = append(w, Warning{"actor", "say who or what did it"})
	}
	if len(s.Actions) == 0 {
		w = append(w, Warning{"actions", "give the reader something to do about it (a button)"})
	}
	if s.OptOut == nil && blank(s.Topic) {
		w = append(w, Warning{"topic", "set a topic so readers get a way to opt out (Teams requires one)"})
	}
	return w
}

// LintError is what [Render] returns in strict mode when [Lint] has
// warnings.
type LintError struct {
	// Warnings are Lint's findings, at least one.
	Warnings []Warning
}

// Error names the missing fields.
func (e *LintError) Error() string {
	fields := make([]string, len(e.Warnings))
	for i, w := range e.Warnings {
		fields[i] = w.Field
	}
	return "notification lacks parts Teams asks for: " + strings.Join(fields, ", ")
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
