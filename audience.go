package herald

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Audience is who receives a notification: the union of its parts, each
// recipient once. Every part is resolved through the directory; entries
// that match nothing are recorded as skipped deliveries with reason
// ReasonUnresolved, never dropped silently.
type Audience struct {
	// Users are people by any identifier: Teams user id ("29:…"), Entra
	// object id, UPN or email.
	Users []string `json:"users,omitempty"`
	// Teams are teams (by id, Entra group id or name) whose members each
	// get a personal message.
	Teams []string `json:"teams,omitempty"`
	// Channels get a new thread each.
	Channels []ChannelTarget `json:"channels,omitempty"`
	// Replies are keys of channel threads posted earlier (a notification's
	// Key): each thread gets a reply.
	Replies []string `json:"replies,omitempty"`
	// Tenants are tenant ids whose every reachable user gets a personal
	// message.
	Tenants []string `json:"tenants,omitempty"`
	// Topics are topics whose audience gets a personal message: every
	// reachable user who has not turned a default-on topic off, or those
	// who turned a default-off topic on (see SourceTopic).
	Topics []string `json:"topics,omitempty"`
}

// ChannelTarget is a channel of a team.
type ChannelTarget struct {
	// Team is the team's id, Entra group id or name.
	Team string `json:"team"`
	// Channel is the channel's id or name; empty means General.
	Channel string `json:"channel,omitempty"`
}

// Limits on an audience.
const (
	// MaxAudienceEntries bounds the entries of all parts together.
	MaxAudienceEntries = 100_000
	// maxIdentifier bounds one entry.
	maxIdentifier = 512
)

// Empty reports whether the audience names no one.
func (a Audience) Empty() bool { return a.entries() == 0 }

func (a Audience) entries() int {
	return len(a.Users) + len(a.Teams) + len(a.Channels) + len(a.Replies) + len(a.Tenants) + len(a.Topics)
}

// Validate checks the audience's shape (not whether its entries exist).
// Its error holds a [*FieldError] for each problem, in field order; it is
// an ErrInvalid for errors.Is.
func (a Audience) Validate() error { return errors.Join(a.problems()...) }

// problems lists what Validate reports, as FieldErrors.
func (a Audience) problems() []error {
	if a.Empty() {
		return []error{fieldError("audience", "names no one")}
	}
	if n := a.entries(); n > MaxAudienceEntries {
		return []error{fieldError("audience", "%d entries, more than %d (use teams, tenants or topics)", n, MaxAudienceEntries)}
	}
	var errs []error
	check := func(field string, i int, v string) {
		var msg string
		switch {
		case strings.TrimSpace(v) == "":
			msg = "empty"
		case len(v) > maxIdentifier:
			msg = fmt.Sprintf("longer than %d bytes", maxIdentifier)
		case !utf8.ValidString(v):
			msg = "not UTF-8"
		default:
			return
		}
		errs = append(errs, &FieldError{Field: fmt.Sprintf("audience.%s[%d]", field, i), Message: msg})
	}
	list := func(field string, vs []string) {
		for i, v := range vs {
			check(field, i, v)
		}
	}
	list("users", a.Users)
	list("teams", a.Teams)
	for i, c := range a.Channels {
		check("channels.team", i, c.Team)
		if c.Channel != "" {
			check("channels.channel", i, c.Channel)
		}
	}
	list("replies", a.Replies)
	list("tenants", a.Tenants)
	list("topics", a.Topics)
	return errs
}

// Audience kinds in the text form.
const (
	audUser    = "user"
	audTeam    = "team"
	audChannel = "channel"
	audReply   = "reply"
	audTenant  = "tenant"
	audTopic   = "topic"
)

// ParseAudience reads the text form of an audience: entries separated by
// commas or new lines, each "kind:value" with kind one of user, team,
// channel, reply, tenant and topic. A channel is "team/channel" (the
// channel after the last "/"; "team" alone means its General channel).
// Values are trimmed and may contain ":" (user:29:abc).
//
//	user:alice@contoso.com, team:Marketing, channel:Marketing/Launch, topic:outages
func ParseAudience(s string) (Audience, error) {
	var a Audience
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		kind, value, ok := strings.Cut(f, ":")
		kind, value = strings.ToLower(strings.TrimSpace(kind)), strings.TrimSpace(value)
		if !ok || value == "" {
			return Audience{}, invalid(fieldError("audience", "entry %q: want kind:value", f))
		}
		switch kind {
		case audUser:
			a.Users = append(a.Users, value)
		case audTeam:
			a.Teams = append(a.Teams, value)
		case audChannel:
			team, channel := value, ""
			if i := strings.LastIndex(value, "/"); i >= 0 {
				team, channel = strings.TrimSpace(value[:i]), strings.TrimSpace(value[i+1:])
			}
			if team == "" {
				return Audience{}, invalid(fieldError("audience", "entry %q: channel needs a team", f))
			}
			a.Channels = append(a.Channels, ChannelTarget{Team: team, Channel: channel})
		case audReply:
			a.Replies = append(a.Replies, value)
		case audTenant:
			a.Tenants = append(a.Tenants, value)
		case audTopic:
			a.Topics = append(a.Topics, value)
		default:
			return Audience{}, invalid(fieldError("audience", "entry %q: unknown kind %q (user, team, channel, reply, tenant, topic)", f, kind))
		}
	}
	if err := invalid(a.problems()...); err != nil {
		return Audience{}, err
	}
	return a, nil
}

// String returns the text form ParseAudience reads.
func (a Audience) String() string {
	var parts []string
	add := func(kind string, vs []string) {
		for _, v := range vs {
			parts = append(parts, kind+":"+v)
		}
	}
	add(audUser, a.Users)
	add(audTeam, a.Teams)
	for _, c := range a.Channels {
		v := c.Team
		switch {
		case c.Channel != "":
			v += "/" + c.Channel
		case strings.Contains(c.Team, "/"):
			v += "/" // the General channel of a team whose name has a "/"
		}
		parts = append(parts, audChannel+":"+v)
	}
	add(audReply, a.Replies)
	add(audTenant, a.Tenants)
	add(audTopic, a.Topics)
	return strings.Join(parts, ", ")
}
