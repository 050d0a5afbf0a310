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
	// object id, UPN or email. A Teams user id with its tenant,
	// "29:…@<tenant id>" (the tenant GUID after the last "@"), also reaches
	// a user the directory has never seen: Herald records the user and
	// creates the personal chat (see SplitUserTenant).
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
	// Conversations are stored conversations by id, each posted to as
	// itself: a personal chat ("a:…") messages its user, a channel
	// ("19:…@thread.tacv2") gets a new thread, a channel thread
	// ("<channel id>;messageid=<id>") a reply, and a group chat
	// ("19:…@thread.v2") a message.
	Conversations []string `json:"conversations,omitempty"`
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
	return len(a.Users) + len(a.Teams) + len(a.Channels) + len(a.Replies) + len(a.Tenants) + len(a.Topics) +
		len(a.Conversations)
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
		case HasControl(v):
			msg = "contains a control character"
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
	for i, u := range a.Users {
		if msg := userTenantProblem(u); msg != "" {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("audience.users[%d]", i), Message: msg})
		}
	}
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
	list("conversations", a.Conversations)
	for i, c := range a.Conversations {
		if strings.TrimSpace(c) != "" && !strings.Contains(c, ":") {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("audience.conversations[%d]", i),
				Message: fmt.Sprintf("%q is not a conversation id (a:…, 19:…@thread.v2, 19:…@thread.tacv2)", c)})
		}
	}
	return errs
}

// SplitUserTenant splits a users entry "29:<id>@<tenant id>" into the
// Teams user id and the tenant (a GUID after the last "@"). It reports
// false for anything else: a bare "29:" id, an email, a UPN.
func SplitUserTenant(entry string) (userID, tenantID string, ok bool) {
	entry = strings.TrimSpace(entry)
	i := strings.LastIndex(entry, "@")
	if !IsUserID(entry) || i < 0 || !isGUID(entry[i+1:]) || len(entry[:i]) <= len("29:") {
		return "", "", false
	}
	return entry[:i], strings.ToLower(entry[i+1:]), true
}

// userTenantProblem explains what is wrong with a users entry that starts
// with "29:" and holds an "@" but is no "29:<id>@<tenant id>"; "" if
// nothing is (Teams user ids hold no "@").
func userTenantProblem(entry string) string {
	entry = strings.TrimSpace(entry)
	if !IsUserID(entry) || !strings.Contains(entry, "@") {
		return ""
	}
	if _, _, ok := SplitUserTenant(entry); ok {
		return ""
	}
	return "a Teams user id with its tenant is 29:<id>@<tenant id>, the tenant a GUID"
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// Audience kinds in the text form.
const (
	audUser    = "user"
	audTeam    = "team"
	audChannel = "channel"
	audReply   = "reply"
	audTenant  = "tenant"
	audTopic   = "topic"
	audConv    = "conversation"
)

// ParseAudience reads the text form of an audience: entries separated by
// commas or new lines, each "kind:value" with kind one of user, team,
// channel, reply, tenant, topic and conversation. A channel is
// "team/channel" (the channel after the last "/"; "team" alone means its
// General channel). Values are trimmed and may contain ":" (user:29:abc);
// a conversation is everything after "conversation:", so its id may hold
// ":", ";" and "@" (conversation:19:abc@thread.tacv2;messageid=17).
//
//	user:alice@contoso.com, team:Marketing, channel:Marketing/Launch, topic:outages
//	user:29:1abc@72f988bf-86f1-41af-91ab-2d7cd011db47, conversation:19:xyz@thread.v2
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
		case audConv:
			a.Conversations = append(a.Conversations, value)
		default:
			return Audience{}, invalid(fieldError("audience", "entry %q: unknown kind %q (user, team, channel, reply, tenant, topic, conversation)", f, kind))
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
	add(audConv, a.Conversations)
	return strings.Join(parts, ", ")
}
