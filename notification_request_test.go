package herald

import "testing"

func TestFingerprint(t *testing.T) {
	t.Parallel()
	base := NotificationRequest{IdempotencyKey: "k1", Audience: Audience{Users: []string{"a"}}, Content: Content{Text: "x"},
		Variables: map[string]string{"a": "1", "b": "2"}}
	tests := []struct {
		name string
		mod  func(r *NotificationRequest)
		same bool
	}{
		{"identical", func(*NotificationRequest) {}, true},
		{"another idempotency key", func(r *NotificationRequest) { r.IdempotencyKey = "k2" }, true},
		{"map built in another order", func(r *NotificationRequest) { r.Variables = map[string]string{"b": "2", "a": "1"} }, true},
		{"other text", func(r *NotificationRequest) { r.Content.Text = "y" }, false},
		{"other audience", func(r *NotificationRequest) { r.Audience = Audience{Teams: []string{"a"}} }, false},
		{"critical", func(r *NotificationRequest) { r.Critical = true }, false},
		{"other variable", func(r *NotificationRequest) { r.Variables = map[string]string{"a": "1", "b": "3"} }, false},
	}
	want := base.Fingerprint()
	if len(want) != 64 {
		t.Fatalf("fingerprint %q is not hex SHA-256", want)
	}
	for _, tt := range tests {
		r := base
		tt.mod(&r)
		if got := r.Fingerprint(); (got == want) != tt.same {
			t.Errorf("%s: same fingerprint = %v, want %v", tt.name, got == want, tt.same)
		}
	}
}

func TestIsWelcome(t *testing.T) {
	t.Parallel()
	welcome := NotificationRequest{Title: WelcomeTitle, Content: Content{Summary: WelcomeTitle}, Critical: true, Priority: PriorityHigh}
	tests := []struct {
		name string
		mod  func(r *NotificationRequest)
		want bool
	}{
		{"the bot's welcome", func(*NotificationRequest) {}, true},
		{"not critical", func(r *NotificationRequest) { r.Critical = false }, false},
		{"normal priority", func(r *NotificationRequest) { r.Priority = PriorityNormal }, false},
		{"other title", func(r *NotificationRequest) { r.Title = "Welcome aboard" }, false},
		{"no summary", func(r *NotificationRequest) { r.Content.Summary = "" }, false},
		{"a topic", func(r *NotificationRequest) { r.Topic = "news" }, false},
		{"an update key", func(r *NotificationRequest) { r.Key = "k" }, false},
	}
	for _, tt := range tests {
		r := welcome
		tt.mod(&r)
		if got := r.IsWelcome(); got != tt.want {
			t.Errorf("%s: IsWelcome = %v, want %v", tt.name, got, tt.want)
		}
	}
}
