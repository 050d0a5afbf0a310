package herald_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
)

func TestParseAudience(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    herald.Audience
		wantErr string
	}{
		{in: "user:alice@contoso.com", want: herald.Audience{Users: []string{"alice@contoso.com"}}},
		{in: "user:29:1abc, USER: bob@x.com ", want: herald.Audience{Users: []string{"29:1abc", "bob@x.com"}}},
		{in: "team:Marketing\nchannel:Marketing/Launch,channel:Sales", want: herald.Audience{
			Teams:    []string{"Marketing"},
			Channels: []herald.ChannelTarget{{Team: "Marketing", Channel: "Launch"}, {Team: "Sales"}},
		}},
		{in: "channel:R/D/General", want: herald.Audience{Channels: []herald.ChannelTarget{{Team: "R/D", Channel: "General"}}}},
		{in: "channel:R/D/", want: herald.Audience{Channels: []herald.ChannelTarget{{Team: "R/D"}}}},
		{in: "reply:deploy-7, tenant:t-1, topic:outages", want: herald.Audience{
			Replies: []string{"deploy-7"}, Tenants: []string{"t-1"}, Topics: []string{"outages"},
		}},
		{in: "", wantErr: "names no one"},
		{in: " , ,", wantErr: "names no one"},
		{in: "alice@contoso.com", wantErr: "want kind:value"},
		{in: "user:", wantErr: "want kind:value"},
		{in: "group:x", wantErr: "unknown kind"},
		{in: "channel:/General", wantErr: "needs a team"},
		{in: "user:" + strings.Repeat("x", 600), wantErr: "longer than"},
	}
	for _, tt := range tests {
		got, err := herald.ParseAudience(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, herald.ErrInvalid) {
				t.Errorf("ParseAudience(%q) err = %v, want %q (ErrInvalid)", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAudience(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseAudience(%q) (-want +got):\n%s", tt.in, diff)
		}
		again, err := herald.ParseAudience(got.String())
		if err != nil || !cmp.Equal(got, again) {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

// FuzzParseAudience checks that ParseAudience never panics and that what it
// accepts survives String and a second parse unchanged.
func FuzzParseAudience(f *testing.F) {
	for _, s := range []string{"user:a@b.c", "team:x,channel:x/y", "channel:a/b/", "reply:k\ntopic:t", "tenant:x", "user:29:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := herald.ParseAudience(s)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("parsed audience invalid: %v", err)
		}
		b, err := herald.ParseAudience(a.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", a.String(), err)
		}
		if !cmp.Equal(a, b) {
			t.Fatalf("round trip changed %+v into %+v", a, b)
		}
	})
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	ok := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"a"}}, Content: herald.Content{Text: "hi"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*herald.NotificationRequest)
		want string
	}{
		{"no content", func(r *herald.NotificationRequest) { r.Content = herald.Content{} }, "content"},
		{"no audience", func(r *herald.NotificationRequest) { r.Audience = herald.Audience{} }, "names no one"},
		{"bad priority", func(r *herald.NotificationRequest) { r.Priority = "urgent" }, "priority"},
		{"bad format", func(r *herald.NotificationRequest) { r.Content.TextFormat = "html" }, "textFormat"},
		{"negative deadline", func(r *herald.NotificationRequest) { r.Deadline = -1 }, "deadline"},
		{"huge content", func(r *herald.NotificationRequest) { r.Content.Text = strings.Repeat("x", herald.MaxContentBytes) }, "bytes"},
		{"empty user", func(r *herald.NotificationRequest) { r.Audience.Users = []string{" "} }, "empty"},
	}
	for _, tt := range tests {
		r := ok
		tt.mod(&r)
		err := r.Validate()
		if err == nil || !errors.Is(err, herald.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}
