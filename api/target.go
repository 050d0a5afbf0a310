package api

import (
	"fmt"
	"strings"

	"herald"
)

// targetKinds are the prefixes ParseTargets hands to herald.ParseAudience.
var targetKinds = []string{"user", "team", "channel", "reply", "tenant", "topic", "conversation"}

// ParseTargets turns targets as people write them into an audience: a
// bare user identifier (a "29:" id, "29:<id>@<tenant id>" for a user
// Herald has not seen yet, an Entra object id, a UPN or an email), a bare
// conversation id ("a:…" personal chat, "19:…" channel, channel thread or
// group chat), "team:<id or name>" (each member personally),
// "channel:<team>/<channel>" (a post in the channel; "channel:<team>" is
// its General channel), "conversation:<id>", or any other kind
// herald.ParseAudience reads (user:, reply:, tenant:, topic:). A
// "word:value" target whose word is no kind ("teams:Engineering") is
// refused, not taken for a user. Errors wrap herald.ErrInvalid and hold
// a *herald.FieldError: "target" for a target that is not one, otherwise
// the audience field at fault.
func ParseTargets(targets ...string) (herald.Audience, error) {
	var a herald.Audience
	for _, t := range targets {
		t = strings.TrimSpace(t)
		if t == "" {
			return herald.Audience{}, fmt.Errorf("%w: %w", herald.ErrInvalid, &herald.FieldError{Field: "target", Message: "empty target"})
		}
		if isConversationID(t) {
			a.Conversations = append(a.Conversations, t)
			continue
		}
		if !hasKind(t) {
			if kind, ok := unknownKind(t); ok {
				return herald.Audience{}, fmt.Errorf("%w: %w", herald.ErrInvalid, &herald.FieldError{Field: "target",
					Message: fmt.Sprintf("%q: unknown kind %q (want %s, or a bare user identifier)", t, kind, strings.Join(targetKinds, ":, ")+":")})
			}
			a.Users = append(a.Users, t)
			continue
		}
		if strings.ContainsAny(t, ",\n\r") {
			return herald.Audience{}, fmt.Errorf("%w: %w", herald.ErrInvalid,
				&herald.FieldError{Field: "target", Message: fmt.Sprintf("%q: one target at a time", t)})
		}
		p, err := herald.ParseAudience(t)
		if err != nil {
			return herald.Audience{}, err
		}
		a.Users = append(a.Users, p.Users...)
		a.Teams = append(a.Teams, p.Teams...)
		a.Channels = append(a.Channels, p.Channels...)
		a.Replies = append(a.Replies, p.Replies...)
		a.Tenants = append(a.Tenants, p.Tenants...)
		a.Topics = append(a.Topics, p.Topics...)
		a.Conversations = append(a.Conversations, p.Conversations...)
	}
	if err := a.Validate(); err != nil {
		return herald.Audience{}, fmt.Errorf("%w: %w", herald.ErrInvalid, err)
	}
	return a, nil
}

// isConversationID reports whether a bare target is a Teams conversation
// id: a personal chat ("a:…") or a channel, thread or group chat ("19:…").
func isConversationID(t string) bool {
	return len(t) > 3 && (strings.HasPrefix(t, "a:") || strings.HasPrefix(t, "19:"))
}

// unknownKind reports the kind of a target written "word:value" whose
// word is not one of targetKinds ("teams:Engineering"). User identifiers
// never look like that: Teams ids start with digits ("29:", "8:orgid:"),
// and Entra object ids, UPNs and emails hold no colon. So a target whose
// prefix is a word of letters is a mistaken kind, refused rather than
// sent to a user no directory knows (which would only end as skipped).
func unknownKind(t string) (string, bool) {
	kind, _, ok := strings.Cut(t, ":")
	kind = strings.TrimSpace(kind)
	if !ok || kind == "" {
		return "", false
	}
	for _, r := range kind {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-' || r == '_') {
			return "", false
		}
	}
	return kind, true
}

// hasKind reports whether t starts with one of targetKinds and a colon
// (case-insensitive).
func hasKind(t string) bool {
	kind, _, ok := strings.Cut(t, ":")
	if !ok {
		return false
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	for _, k := range targetKinds {
		if kind == k {
			return true
		}
	}
	return false
}
