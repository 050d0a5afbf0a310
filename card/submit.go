package card

import (
	"encoding/json"
	"strings"
)

// The data of Herald's own Action.Submit buttons. Teams sends the bot a
// message activity whose value is the button's data, merged with any
// inputs on the card:
//
//	{"herald": "optout", "topics": "deploys"}
//
// "topics" is a comma-separated list of topic names: one for the opt-out
// button of a notification, the reader's choices for the bot's topics card
// (a multi-select input whose id is "topics").
const (
	// SubmitKey is the member naming which of Herald's buttons was pressed.
	SubmitKey = "herald"
	// SubmitTopicsKey is the member holding the comma-separated topics.
	SubmitTopicsKey = "topics"
	// SubmitOptOut is the SubmitKey value of an opt-out button.
	SubmitOptOut = "optout"
)

// Submit is a decoded press of one of Herald's own buttons.
type Submit struct {
	// Action is the SubmitKey value, such as [SubmitOptOut].
	Action string
	// Topics are the topic names it concerns, trimmed, without empties or
	// repeats, in the order given.
	Topics []string
}

// ParseSubmit decodes the value of a message activity sent by one of
// Herald's buttons. It reports false for anything else: values that are not
// JSON objects, that lack SubmitKey, or whose SubmitKey is not a non-empty
// string. A singular "topic" member is also accepted.
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

// optOutData is the data of the opt-out button for topic.
func optOutData(topic string) json.RawMessage {
	b, _ := encode(struct {
		Herald string `json:"herald"`
		Topics string `json:"topics"`
	}{SubmitOptOut, topic})
	return b
}
