package card

import (
	"fmt"

	"herald/botframework"
)

// Message is a card of the bot's own rather than a notification: a
// welcome, or the answer to a command. It is text first (a heading and
// paragraphs), then optionally a fact table, topic toggles, a topic picker
// and buttons; and optionally a refresh that redraws it for each reader.
// [RenderMessage] lays it out as an Adaptive Card.
type Message struct {
	// Preface is a line above the heading ("Sorry, I didn't get that.");
	// empty leaves it out.
	Preface string
	// Heading is shown bold and larger; empty leaves it out.
	Heading string
	// Paragraphs follow the heading, in order; empty ones are left out.
	Paragraphs []string
	// Facts are label and value pairs shown as a table after the
	// paragraphs.
	Facts []Fact
	// Picker, when it has topics, lets the reader opt out of several
	// topics at once.
	Picker *TopicPicker
	// Toggles follow the facts: one row per topic with its state and a
	// button that flips it.
	Toggles []Toggle
	// Buttons are the card's actions; the picker's button comes after
	// them. Together there may be at most [MaxActions].
	Buttons []Button
	// Refresh, when set, makes Teams ask the bot for a fresh copy of the
	// card whenever one of its users sees it.
	Refresh *Refresh
}

// Button is a button of a [Message]. Exactly one of URL, Command and
// Submit is set: URL makes an Action.OpenUrl that opens the page; Command
// makes an Action.Submit that Teams turns into the reader typing Command
// to the bot (imBack), which suits personal chats; Submit makes a button
// of Herald's own, an Action.Execute with an Action.Submit fallback whose
// data [ParseSubmit] reads.
type Button struct {
	// Title is the button's caption.
	Title string
	// URL is the page the button opens (http or https).
	URL string
	// Command is the text the button sends as if typed.
	Command string
	// Submit is what the button asks of the bot.
	Submit *Submit
}

// MaxRefreshUsers is the most user ids a card's refresh may name: Teams
// refreshes a card automatically for at most 60 people.
const MaxRefreshUsers = 60

// Refresh makes a card redraw itself per reader (Universal Actions): when
// one of UserIDs sees the card, Teams sends the bot an adaptiveCard/action
// invoke with trigger "automatic", verb [VerbRefresh] and Submit as data,
// and shows that reader the card the bot answers. Others get a "Refresh
// card" menu item instead. The card's version is 1.5, which refresh needs.
type Refresh struct {
	// Submit says which card to redraw, such as [SubmitTopicsCard].
	Submit Submit
	// UserIDs are the Teams user ids (29:…) to refresh for, at most
	// [MaxRefreshUsers]. Empty leaves userIds out: Teams then refreshes
	// automatically for everyone in chats and channels of at most 60
	// members.
	UserIDs []string
}

// TopicPicker is a multi-select of topics and a button that sends the
// selected ones to the bot as one opt-out: a message activity whose value
// [ParseSubmit] reads as a [Submit] with Action [SubmitOptOut] and the
// chosen Topics.
type TopicPicker struct {
	// Label is the input's label ("Select the topics you no longer want").
	Label string
	// Topics are the choices, by name, in order.
	Topics []string
	// Button is the caption of the button that sends the choices.
	Button string
}

// The Adaptive Card elements a Message uses besides Render's.
type (
	choiceSet struct {
		Type          string   `json:"type"`
		ID            string   `json:"id"`
		IsMultiSelect bool     `json:"isMultiSelect"`
		Style         string   `json:"style"`
		Label         string   `json:"label"`
		Choices       []choice `json:"choices"`
	}
	choice struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	imBackData struct {
		MSTeams struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"msteams"`
	}
)

// RenderMessage lays m out as an Adaptive Card (version 1.5) attachment:
// the preface, the heading, the paragraphs (each a wrapping TextBlock), the
// facts, the topic picker, then the buttons. Text is kept as written (it
// may use the Markdown subset Teams renders). The output is deterministic.
//
// It fails with a [*ValidationError] when a button does not have exactly
// one of URL, Command and Submit, when a URL is not http or https, when a
// refresh names more than [MaxRefreshUsers] users, and when the card would
// have more than [MaxActions] buttons or more than [MaxCardBytes] bytes.
func RenderMessage(m Message) (botframework.Attachment, error) {
	acts, err := messageActions(m)
	if err != nil {
		return botframework.Attachment{}, err
	}
	c := adaptiveCard{Body: messageBody(m), Actions: acts}
	if r := m.Refresh; r != nil {
		c.Refresh = &refreshJSON{UserIDs: r.UserIDs,
			Action: action{Type: actionExecute, Verb: VerbRefresh, Data: r.Submit.data("")}}
	}
	return attach(c)
}

func messageBody(m Message) []any {
	b := []any{}
	text := func(s string, heading bool) {
		if s == "" {
			return
		}
		tb := textBlock{Type: "TextBlock", Text: s, Wrap: true}
		if heading {
			tb.Weight, tb.Size = "Bolder", "Medium"
		}
		b = append(b, tb)
	}
	text(m.Preface, false)
	text(m.Heading, true)
	for _, p := range m.Paragraphs {
		text(p, false)
	}
	if len(m.Facts) > 0 {
		b = append(b, factSet{Type: "FactSet", Facts: m.Facts})
	}
	for _, g := range m.Toggles {
		b = append(b, toggleElement(g))
	}
	if p := m.Picker; p != nil && len(p.Topics) > 0 {
		cs := choiceSet{Type: "Input.ChoiceSet", ID: SubmitTopicsKey, IsMultiSelect: true, Style: "expanded", Label: p.Label}
		for _, t := range p.Topics {
			cs.Choices = append(cs.Choices, choice{Title: t, Value: t})
		}
		b = append(b, cs)
	}
	return b
}

func messageActions(m Message) ([]action, error) {
	var out []action
	for i, bt := range m.Buttons {
		field := fmt.Sprintf("buttons[%d]", i)
		set := 0
		for _, on := range []bool{bt.URL != "", bt.Command != "", bt.Submit != nil} {
			if on {
				set++
			}
		}
		switch {
		case set != 1:
			return nil, invalid(field, "set one of url (a link), command (typed to the bot) and submit")
		case bt.URL != "":
			if !isLink(bt.URL) {
				return nil, invalid(field+".url", "must be an http or https URL")
			}
			out = append(out, action{Type: actionOpenURL, Title: bt.Title, URL: bt.URL})
		case bt.Submit != nil:
			if bt.Submit.Action == "" {
				return nil, invalid(field+".submit", "needs an action")
			}
			out = append(out, execute(bt.Title, *bt.Submit))
		default:
			var d imBackData
			d.MSTeams.Type, d.MSTeams.Value = botframework.ActionIMBack, bt.Command
			data, err := encode(d)
			if err != nil {
				return nil, fmt.Errorf("encode button: %w", err)
			}
			out = append(out, action{Type: actionSubmit, Title: bt.Title, Data: data})
		}
	}
	if p := m.Picker; p != nil && len(p.Topics) > 0 {
		out = append(out, execute(p.Button, Submit{Action: SubmitOptOut}))
	}
	if len(out) > MaxActions {
		return nil, invalid("buttons", "%d buttons; Teams allows at most %d", len(out), MaxActions)
	}
	return out, nil
}
