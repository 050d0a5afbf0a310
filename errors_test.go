package herald_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
)

// fieldErrors lists the FieldErrors in err's tree, depth first.
func fieldErrors(err error) []herald.FieldError {
	var out []herald.FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*herald.FieldError); ok {
			out = append(out, *fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 600)
	okAudience := herald.Audience{Users: []string{"a"}}
	tests := []struct {
		name   string
		err    error
		text   string
		fields []herald.FieldError
	}{
		{"alone", &herald.FieldError{Field: "content.textFormat", Message: "not html"},
			"content.textFormat: not html",
			[]herald.FieldError{{Field: "content.textFormat", Message: "not html"}}},
		{"empty request", herald.NotificationRequest{}.Validate(),
			"invalid request: content: text or attachments required\naudience: names no one",
			[]herald.FieldError{{Field: "content", Message: "text or attachments required"}, {Field: "audience", Message: "names no one"}}},
		{"request fields in order", herald.NotificationRequest{Audience: okAudience, Content: herald.Content{Text: "x", TextFormat: "html"},
			Priority: "urgent", Deadline: -1, Key: long, Title: long}.Validate(),
			"",
			[]herald.FieldError{{Field: "content.textFormat", Message: `"html" is not markdown, plain or xml`},
				{Field: "priority", Message: `"urgent" is not high or normal`}, {Field: "deadline", Message: "negative"},
				{Field: "key", Message: "at most 512 bytes of UTF-8"}, {Field: "title", Message: "at most 512 bytes of UTF-8"}}},
		{"audience fields in order", herald.Audience{Users: []string{"a", " "}, Teams: []string{long},
			Channels: []herald.ChannelTarget{{Team: "t", Channel: "\xff"}}, Replies: []string{""}, Topics: []string{""}}.Validate(),
			"audience.users[1]: empty\naudience.teams[0]: longer than 512 bytes\naudience.channels.channel[0]: not UTF-8\naudience.replies[0]: empty\naudience.topics[0]: empty",
			[]herald.FieldError{{Field: "audience.users[1]", Message: "empty"}, {Field: "audience.teams[0]", Message: "longer than 512 bytes"},
				{Field: "audience.channels.channel[0]", Message: "not UTF-8"}, {Field: "audience.replies[0]", Message: "empty"},
				{Field: "audience.topics[0]", Message: "empty"}}},
		{"request with a bad audience", herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{" "}}, Content: herald.Content{Text: "x"}}.Validate(),
			"invalid request: audience.tenants[0]: empty",
			[]herald.FieldError{{Field: "audience.tenants[0]", Message: "empty"}}},
		{"text form entry", parseErr("group:x"),
			`invalid request: audience: entry "group:x": unknown kind "group" (user, team, channel, reply, tenant, topic, conversation)`,
			[]herald.FieldError{{Field: "audience", Message: `entry "group:x": unknown kind "group" (user, team, channel, reply, tenant, topic, conversation)`}}},
		{"text form value", parseErr("user:" + long),
			"invalid request: audience.users[0]: longer than 512 bytes",
			[]herald.FieldError{{Field: "audience.users[0]", Message: "longer than 512 bytes"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(tt.err, herald.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", tt.err)
			}
			if tt.text != "" && tt.err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.text)
			}
			var fe *herald.FieldError
			if !errors.As(tt.err, &fe) || *fe != tt.fields[0] {
				t.Errorf("errors.As found %+v, want %+v", fe, tt.fields[0])
			}
			if diff := cmp.Diff(tt.fields, fieldErrors(tt.err)); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
}

func parseErr(s string) error {
	_, err := herald.ParseAudience(s)
	return err
}
