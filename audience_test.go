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
		{in: "conversation:19:abc@thread.tacv2;messageid=17", want: herald.Audience{Conversations: []string{"19:abc@thread.tacv2;messageid=17"}}},
		{in: "Conversation: a:1xYz ,conversation:19:g@thread.v2", want: herald.Audience{Conversations: []string{"a:1xYz", "19:g@thread.v2"}}},
		{in: "conversation:General", wantErr: "not a conversation id"},
		{in: "conversation:", wantErr: "want kind:value"},
		{in: "user:29:1abc@72F988BF-86f1-41af-91ab-2d7cd011db47", want: herald.Audience{Users: []string{"29:1abc@72F988BF-86f1-41af-91ab-2d7cd011db47"}}},
		{in: "user:29:1abc@contoso.com", wantErr: "29:<id>@<tenant id>"},
		{in: "user:29:@72f988bf-86f1-41af-91ab-2d7cd011db47", wantErr: "29:<id>@<tenant id>"},
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
	for _, s := range []string{"user:a@b.c", "team:x,channel:x/y", "channel:a/b/", "reply:k\ntopic:t", "tenant:x", "user:29:1",
		"conversation:19:a@thread.tacv2;messageid=1", "conversation:a:1,conversation:19:b@thread.v2",
		"user:29:1@72f988bf-86f1-41af-91ab-2d7cd011db47", "user:29:1@x", "conversation:x"} {
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
		{"user with a bad tenant", func(r *herald.NotificationRequest) { r.Audience.Users = []string{"29:1a@tenant"} }, "audience.users[0]: a Teams user id with its tenant"},
		{"empty conversation", func(r *herald.NotificationRequest) { r.Audience.Conversations = []string{""} }, "audience.conversations[0]: empty"},
		{"not a conversation id", func(r *herald.NotificationRequest) { r.Audience.Conversations = []string{"a:1", "Ops"} }, "audience.conversations[1]: \"Ops\" is not a conversation id"},
		{"NUL in a user", func(r *herald.NotificationRequest) { r.Audience.Users = []string{"bob\x00@x.com"} }, "audience.users[0]: contains a control character"},
		{"new line in a team", func(r *herald.NotificationRequest) { r.Audience.Teams = []string{"Eng\nOps"} }, "audience.teams[0]: contains a control character"},
		{"NUL in the key", func(r *herald.NotificationRequest) { r.Key = "k\x00" }, "key: contains a control character"},
		{"tab in the topic", func(r *herald.NotificationRequest) { r.Topic = "de\tploys" }, "topic: contains a control character"},
		{"C1 control in the title", func(r *herald.NotificationRequest) { r.Title = "a\u0085b" }, "title: contains a control character"},
		{"NUL in the idempotency key", func(r *herald.NotificationRequest) { r.IdempotencyKey = "\x00" }, "idempotencyKey: contains a control character"},
		{"NUL in the text", func(r *herald.NotificationRequest) { r.Content.Text = "a\x00b" }, "content: contains NUL"},
		{"NUL in a variable", func(r *herald.NotificationRequest) { r.Variables = map[string]string{"v": "\x00"} }, "variables: contains NUL"},
		{"NUL in a recipient variable", func(r *herald.NotificationRequest) {
			r.RecipientVariables = map[string]map[string]string{"a": {"v": "x\x00"}}
		}, "recipientVariables: contains NUL"},
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

func TestSplitUserTenant(t *testing.T) {
	t.Parallel()
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tests := []struct {
		in, user, tenant string
		ok               bool
	}{
		{"29:1abc@" + tenant, "29:1abc", tenant, true},
		{" 29:1abc@72F988BF-86F1-41AF-91AB-2D7CD011DB47 ", "29:1abc", tenant, true},
		{"29:1abc", "", "", false},
		{"alice@contoso.com", "", "", false},
		{"29:1abc@contoso.com", "", "", false},
		{"29:@" + tenant, "", "", false},
		{"28:bot@" + tenant, "", "", false},
		{"29:1abc@" + tenant + "x", "", "", false},
	}
	for _, tt := range tests {
		u, tn, ok := herald.SplitUserTenant(tt.in)
		if u != tt.user || tn != tt.tenant || ok != tt.ok {
			t.Errorf("SplitUserTenant(%q) = %q, %q, %v; want %q, %q, %v", tt.in, u, tn, ok, tt.user, tt.tenant, tt.ok)
		}
	}
}

func TestResolvedPriorityConversations(t *testing.T) {
	t.Parallel()
	r := herald.NotificationRequest{Audience: herald.Audience{Users: []string{"a"}, Conversations: []string{"19:x@thread.v2"}}}
	if got := r.ResolvedPriority(); got != herald.PriorityNormal {
		t.Fatalf("priority = %q, want normal once a conversation is named", got)
	}
}
