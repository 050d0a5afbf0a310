package herald

import (
	"errors"
	"strings"
)

// ErrUnreachable means Herald refused to send to a recipient it knows
// cannot receive the message (the user blocked the bot or removed the
// app, or no conversation or serviceUrl is known), without calling Teams.
var ErrUnreachable = errors.New("recipient unreachable")

// Topic is a kind of notification people can turn off and on with the
// bot's stop and start commands.
type Topic struct {
	// Name is what people type ("stop deploys"); matched
	// case-insensitively.
	Name string
	// Description says in one line what the topic is about.
	Description string
	// Critical topics cannot be turned off: stop (even "stop" alone)
	// leaves them on.
	Critical bool
	// DefaultOff topics reach only the people who turned them on (start
	// <topic>). The zero value is default-on: the topic reaches every
	// reachable user who has not turned it (or every topic) off.
	DefaultOff bool
}

// IsUserID reports whether id is a Teams user id ("29:…"), as opposed to
// a bot ("28:…") or anything else.
func IsUserID(id string) bool { return strings.HasPrefix(id, "29:") }

// GeneralName is the display name Herald records for a team's General
// channel, whose name Teams sends as null.
const GeneralName = "General"

// FindTopic returns the configured topic named name (case-insensitive).
func FindTopic(topics []Topic, name string) (Topic, bool) {
	for _, t := range topics {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Topic{}, false
}
