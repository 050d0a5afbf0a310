package herald

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	k, key, err := NewAPIKey(APIKey{Name: "n", Scopes: []Scope{ScopeRead}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) != keyLen {
		t.Errorf("key %d characters, prefix %q", len(key), key[:3])
	}
	if id, ok := APIKeyID(key); !ok || id != k.ID {
		t.Errorf("APIKeyID = %q, %v; want %q", id, ok, k.ID)
	}
	other := "A" // a last character other than the key's own
	if strings.HasSuffix(key, other) {
		other = "B"
	}
	if !k.Matches(key) || k.Matches(key[:len(key)-1]+other) || !k.CreatedAt.Equal(now) {
		t.Errorf("Matches or CreatedAt wrong: %+v", k)
	}
	_, again, err := NewAPIKey(APIKey{}, now)
	if err != nil || again == key {
		t.Errorf("second key %v equal to the first", err)
	}
	for _, bad := range []string{"", "hk_short", strings.Replace(key, "_", "-", 2), "xx" + key[2:],
		key[:5] + "I" + key[6:], key + "x"} {
		if id, ok := APIKeyID(bad); ok {
			t.Errorf("APIKeyID(%q) = %q, want refused", bad, id)
		}
	}
}

func TestAPIKeyValidate(t *testing.T) {
	t.Parallel()
	send := []Scope{ScopeSend}
	tests := []struct {
		name  string
		key   APIKey
		field string // "" means valid
	}{
		{"send", APIKey{Name: "ci", Scopes: send}, ""},
		{"limited send", APIKey{Name: "ci", Scopes: []Scope{ScopeSend, ScopeRead}, Topics: []string{"deploys"},
			Audiences: []string{"team:Eng", "channel:Ops/*", "user:*"}, Critical: true}, ""},
		{"admin", APIKey{Name: "ops", Scopes: []Scope{ScopeAdmin}}, ""},
		{"no name", APIKey{Name: " ", Scopes: send}, "name"},
		{"control in name", APIKey{Name: "a\x00b", Scopes: send}, "name"},
		{"no scope", APIKey{Name: "n"}, "scopes"},
		{"unknown scope", APIKey{Name: "n", Scopes: []Scope{"write"}}, "scopes[0]"},
		{"limits on admin", APIKey{Name: "n", Scopes: []Scope{ScopeAdmin}, Critical: true}, "scopes"},
		{"limits without send", APIKey{Name: "n", Scopes: []Scope{ScopeRead}, Topics: []string{"x"}}, "scopes"},
		{"empty topic", APIKey{Name: "n", Scopes: send, Topics: []string{""}}, "topics[0]"},
		{"audience without kind", APIKey{Name: "n", Scopes: send, Audiences: []string{"Engineering"}}, "audiences[0]"},
		{"audience of unknown kind", APIKey{Name: "n", Scopes: send, Audiences: []string{"teams:Eng"}}, "audiences[0]"},
	}
	for _, tt := range tests {
		err := tt.key.Validate()
		var fe *FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("%s: %v, want a problem with %s", tt.name, err, tt.field)
		}
	}
}

func TestPermitSend(t *testing.T) {
	t.Parallel()
	users := Audience{Users: []string{"alice@x"}}
	req := func(mod func(r *NotificationRequest)) NotificationRequest {
		r := NotificationRequest{Audience: users, Content: Content{Text: "hi"}}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	critical := func(r *NotificationRequest) { r.Critical = true }
	topic := func(tp string) func(r *NotificationRequest) { return func(r *NotificationRequest) { r.Topic = tp } }
	aud := func(a Audience) func(r *NotificationRequest) { return func(r *NotificationRequest) { r.Audience = a } }
	send := APIKey{Scopes: []Scope{ScopeSend}}
	topics := APIKey{Scopes: []Scope{ScopeSend}, Topics: []string{"deploys"}}
	teams := APIKey{Scopes: []Scope{ScopeSend}, Audiences: []string{"team:Eng", "channel:Ops/*", "channel:Web/General", "user:*"}}
	tests := []struct {
		name  string
		key   APIKey
		req   NotificationRequest
		field string // "-" means allowed; "" a refusal of the whole request
	}{
		{"admin sends critical", APIKey{Scopes: []Scope{ScopeAdmin}}, req(critical), "-"},
		{"read key", APIKey{Scopes: []Scope{ScopeRead}}, req(nil), ""},
		{"send", send, req(nil), "-"},
		{"send critical without grant", send, req(critical), "critical"},
		{"send critical with grant", APIKey{Scopes: []Scope{ScopeSend}, Critical: true}, req(critical), "-"},
		{"allowed topic", topics, req(topic("Deploys")), "-"},
		{"no topic", topics, req(nil), "topic"},
		{"other topic", topics, req(topic("outages")), "topic"},
		{"topic audience outside", topics, req(func(r *NotificationRequest) {
			r.Topic, r.Audience = "deploys", Audience{Topics: []string{"outages"}}
		}), "audience.topics[0]"},
		{"allowed team", teams, req(aud(Audience{Teams: []string{"Eng"}})), "-"},
		{"team named otherwise", teams, req(aud(Audience{Teams: []string{"eng"}})), "audience.teams[0]"},
		{"any channel of Ops", teams, req(aud(Audience{Channels: []ChannelTarget{{Team: "Ops", Channel: "Alerts"}, {Team: "Ops"}}})), "-"},
		{"one channel of Web", teams, req(aud(Audience{Channels: []ChannelTarget{{Team: "Web", Channel: "General"}}})), "-"},
		{"other channel of Web", teams, req(aud(Audience{Channels: []ChannelTarget{{Team: "Web", Channel: "Random"}}})), "audience.channels[0]"},
		{"any user", teams, req(aud(Audience{Users: []string{"a", "b"}})), "-"},
		{"tenant", teams, req(aud(Audience{Users: []string{"a"}, Tenants: []string{"t1"}})), "audience.tenants[0]"},
	}
	for _, tt := range tests {
		err := tt.key.PermitSend(tt.req)
		var fe *ForbiddenError
		switch {
		case tt.field == "-" && err != nil:
			t.Errorf("%s: %v, want allowed", tt.name, err)
		case tt.field != "-" && (!errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrForbidden)):
			t.Errorf("%s: %v, want forbidden with field %q", tt.name, err, tt.field)
		}
	}
}
