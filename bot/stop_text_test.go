package bot

import (
	"os"
	"strings"
	"testing"
)

// TestStopConfirmation checks what "stop" says still comes through, and
// that the README quotes it word for word.
func TestStopConfirmation(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		critical []string
		want     string
	}{
		{nil, "Done: you won't get notifications from me any more, except notifications marked critical by an authorised sender."},
		{[]string{"outages"}, "Done: you won't get notifications from me any more, except the critical topics (outages) and notifications marked critical by an authorised sender."},
		{[]string{"outages", "security"}, "Done: you won't get notifications from me any more, except the critical topics (outages, security) and notifications marked critical by an authorised sender."},
	}
	for i, tt := range tests {
		got := stopConfirmation(tt.critical)
		if got != tt.want {
			t.Errorf("stopConfirmation(%v) = %q, want %q", tt.critical, got, tt.want)
		}
		if i < 2 && !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), got) {
			t.Errorf("README.md does not quote %q", got)
		}
	}
}
