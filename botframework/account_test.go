package botframework

import "testing"

func TestBotID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, appID, want string
	}{
		{"guid", "8f2a1c3e-0000-4000-8000-000000000001", "28:8f2a1c3e-0000-4000-8000-000000000001"},
		{"short", "app", "28:app"},
		{"empty", "", "28:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := BotID(tt.appID); got != tt.want {
				t.Errorf("BotID(%q) = %q, want %q", tt.appID, got, tt.want)
			}
		})
	}
}
