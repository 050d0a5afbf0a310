package card

import (
	"encoding/json"
	"strings"
)

// The data of Herald's own buttons. Each is an Action.Execute whose data
// is, for example,
//
//	{"herald": "optout", "topics": "deploys"}
//
// with an Action.Submit fallback for clients without Universal Actions
// that carries the same data and the verb:
//
//	{"verb": "optout", "herald": "optout", "topics": "deploys"}
//
// Pressing the button sends the bot an adaptiveCard/action invoke whose
// action data is the first (Teams merges any inputs of the card into it),
// or, through the fallback, a message activity whose value is the second.
// [ParseSubmit] reads either.
//
// "topics" is a comma-separated list of topic names: one for the opt-out
// button of a notification, the reader's choices for a [TopicPicker] (a
// multi-select input whose id is "topics").
const (
	// SubmitKey is the member naming which of Herald's buttons was pressed.
	SubmitKey = "herald"
	// SubmitTopicsKey is the member holding the comma-separated topics.
	SubmitTopicsKey = "topics"
	// SubmitOptOut is the SubmitKey value of an opt-out button.
	SubmitOptOut = "optout"
	// SubmitOptIn turns the Topics back on: the button of the card that
	// answers an opt-out.
	SubmitOptIn = "optin"
	// SubmitTopicsCard asks for the topics card with the reader's own
	// states: the data of the topics card's refresh.
	SubmitTopicsCard = "topics-card"
	// SubmitOptOutCard asks for the card that answers an opt-out, showing
	// the reader's current state of Topics: the data of that card's
	// refresh.
	SubmitOptOutCard = "optout-card"
)

// VerbRefresh is the verb of the refresh action of Herald's cards; the
// refresh's data says which card to redraw ([Refresh]).
const VerbRefresh = "refresh"

// Submit is a decoded press of one of Herald's own buttons.
type Submit struct {
	// Action is the SubmitKey value, such as [SubmitOptOut]. It is also
	// the verb of the button's Action.Execute.
	Action string
	// Topics are the topic names it concerns, trimmed, without empties or
	// repeats, in the order given.
	Topics []string
}

// ParseSubmit decodes the data of one of Herald's buttons: the action data
// of an adaptiveCard/action invoke, or the value of the message activity
// its Action.Submit fallback sends (whose "verb" member it ignores). It
// reports false for anything else: values that are not JSON objects, that
// lack SubmitKey, or whose SubmitKey is not a non-empty string. A singular
// "topic" member is also accepted.
func ParseSubmit(value json.RawMessage) (Submit, bool) {
	var v struct {
		Herald *string `json:"herald"`
		Topics *string `json:"topics"`
		Topic  *string `json:"topic"`
	}
	if len(value) == 0 || json.Unmarshal(value, &v) != nil || v.Herald == nil || *v.Herald == "" {
		return Submit{}, false
	}
	s := Submit{Action: *v.Herald}
	seen := map[string]bool{}
	add := func(list *string) {
		if list == nil {
			return
		}
		for name := range strings.SplitSeq(*list, ",") {
			name = strings.TrimSpace(name)
			if name != "" && !seen[name] {
				seen[name] = true
				s.Topics = append(s.Topics, name)
			}
		}
	}
	add(v.Topics)
	add(v.Topic)
	return s, true
}

// data is s as a button's data; verb, when set, is added for an
// Action.Submit fallback.
func (s Submit) data(verb string) json.RawMessage {
	b, _ := encode(struct {
		Verb   string `json:"verb,omitempty"`
		Herald string `json:"herald"`
		Topics string `json:"topics,omitempty"`
	}{verb, s.Action, strings.Join(s.Topics, ",")})
	return b
}

// execute is a button of Herald's own: an Action.Execute whose verb is
// s.Action and data s, falling back to an Action.Submit with the same data
// and the verb.
func execute(title string, s Submit) action {
	return action{Type: actionExecute, Title: title, Verb: s.Action, Data: s.data(""),
		Fallback: &action{Type: actionSubmit, Title: title, Data: s.data(s.Action)}}
}

// The Adaptive Card action types Herald renders.
const (
	actionExecute = "Action.Execute"
	actionSubmit  = "Action.Submit"
	actionOpenURL = "Action.OpenUrl"
)
