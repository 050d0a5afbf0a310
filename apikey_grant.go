package herald

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrForbidden means the caller is known but not allowed to do what it
// asked; the wrapped [*ForbiddenError] names what is missing.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is a refusal of a request its API key does not allow.
type ForbiddenError struct {
	// Field is the JSON path of the request's member the key does not
	// allow ("critical", "topic", "audience.teams[0]"), empty when the
	// request as a whole is beyond the key (a scope it lacks).
	Field string
	// Message says what the key lacks.
	Message string
}

// Error is "forbidden: field: message" (without the field when empty).
func (e *ForbiddenError) Error() string {
	if e.Field == "" {
		return "forbidden: " + e.Message
	}
	return "forbidden: " + e.Field + ": " + e.Message
}

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// MissingScope returns the refusal of a key lacking scope s for what.
func MissingScope(s Scope, what string) *ForbiddenError {
	return &ForbiddenError{Message: fmt.Sprintf("this key lacks the %s scope, which %s needs", s, what)}
}

// PermitSend checks a notification request against the key: the send
// scope, then critical, the topic and every audience entry against the
// key's limits. It returns nil when the key may send it, else a
// *ForbiddenError naming the first thing the key does not allow.
func (k APIKey) PermitSend(r NotificationRequest) error {
	switch {
	case slices.Contains(k.Scopes, ScopeAdmin):
		return nil
	case !k.Has(ScopeSend):
		return MissingScope(ScopeSend, "sending")
	case r.Critical && !k.Critical:
		return &ForbiddenError{Field: "critical", Message: "this key may not send critical notifications (they ignore opt-outs); ask for a key made with --critical"}
	}
	if len(k.Topics) > 0 && !k.topicAllowed(r.Topic) {
		return &ForbiddenError{Field: "topic", Message: "this key sends only on the topics " + strings.Join(k.Topics, ", ")}
	}
	return k.audienceAllowed(r.Audience)
}

// topicAllowed reports whether topic is one of the key's topics (topics
// are matched as configured topics are: ignoring case).
func (k APIKey) topicAllowed(topic string) bool {
	return topic != "" && slices.ContainsFunc(k.Topics, func(t string) bool { return strings.EqualFold(t, topic) })
}

// audienceAllowed checks every entry of a against the key's topics (for
// topic audiences) and audiences.
func (k APIKey) audienceAllowed(a Audience) error {
	// team is a channel's team, as the request writes it.
	type entry struct{ field, kind, value, team string }
	var entries []entry
	add := func(field, kind string, vs []string) {
		for i, v := range vs {
			entries = append(entries, entry{fmt.Sprintf("audience.%s[%d]", field, i), kind, v, ""})
		}
	}
	add("users", audUser, a.Users)
	add("teams", audTeam, a.Teams)
	for i, c := range a.Channels {
		v := c.Team
		if c.Channel != "" {
			v += "/" + c.Channel
		}
		entries = append(entries, entry{fmt.Sprintf("audience.channels[%d]", i), audChannel, v, c.Team})
	}
	add("replies", audReply, a.Replies)
	add("tenants", audTenant, a.Tenants)
	add("topics", audTopic, a.Topics)
	add("conversations", audConv, a.Conversations)
	for _, e := range entries {
		if e.kind == audTopic && len(k.Topics) > 0 && !k.topicAllowed(e.value) {
			return &ForbiddenError{Field: e.field, Message: "this key sends only on the topics " + strings.Join(k.Topics, ", ")}
		}
		if len(k.Audiences) > 0 && !k.entryAllowed(e.kind, e.value, e.team) {
			return &ForbiddenError{Field: e.field, Message: fmt.Sprintf("this key may not send to %s:%s; it may send to %s",
				e.kind, e.value, strings.Join(k.Audiences, ", "))}
		}
	}
	return nil
}

// entryAllowed reports whether one of the key's audiences allows the
// entry kind:value (team: a channel's team). Values compare exactly, as
// written: an entry that names the same team another way (by id rather
// than by name) is refused.
func (k APIKey) entryAllowed(kind, value, team string) bool {
	for _, a := range k.Audiences {
		ak, av, _ := strings.Cut(a, ":")
		switch {
		case ak != kind:
		case av == "*", av == value:
			return true
		case kind == audChannel && strings.HasSuffix(av, "/*") && team == strings.TrimSuffix(av, "/*"):
			return true
		}
	}
	return false
}
