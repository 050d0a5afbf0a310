package card

// The SubmitKey values of the topics card's per-topic buttons: the data is
// {"herald": "topic-on", "topics": "deploys"} when the reader presses
// "Turn on" next to deploys.
const (
	// SubmitTopicOn turns the topic on.
	SubmitTopicOn = "topic-on"
	// SubmitTopicOff turns the topic off.
	SubmitTopicOff = "topic-off"
)

// Toggle is one topic of the bot's topics card: a line that shows its
// state and, unless Button is empty, a button beside it that flips it.
// The button is one of Herald's own (an Action.Execute with an
// Action.Submit fallback); [ParseSubmit] reads its data as a [Submit] with
// Action [SubmitTopicOff] (when On) or [SubmitTopicOn] and Topics holding
// the topic.
type Toggle struct {
	// Topic is the topic's name.
	Topic string
	// Text is the line shown ("**deploys**: on. Deploy results").
	Text string
	// On is the topic's current state.
	On bool
	// Button is the caption of the button ("Turn off"); empty leaves the
	// button out (a critical topic).
	Button string
}

// actionSet is the Adaptive Card element that holds a toggle's button.
type actionSet struct {
	Type    string   `json:"type"`
	Actions []action `json:"actions"`
}

// toggleElement lays out g as a row: the text, then the button.
func toggleElement(g Toggle) any {
	cols := []column{{Type: "Column", Width: "stretch", VerticalContentAlignment: "Center",
		Items: []any{textBlock{Type: "TextBlock", Text: g.Text, Wrap: true}}}}
	if g.Button != "" {
		act := SubmitTopicOn
		if g.On {
			act = SubmitTopicOff
		}
		cols = append(cols, column{Type: "Column", Width: "auto", VerticalContentAlignment: "Center",
			Items: []any{actionSet{Type: "ActionSet", Actions: []action{execute(g.Button, Submit{Action: act, Topics: []string{g.Topic}})}}}})
	}
	return columnSet{Type: "ColumnSet", Columns: cols}
}
