package bot

import "testing"

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, cmd, arg string }{
		{"help", "help", ""},
		{"  HELP  ", "help", ""},
		{"<at>Herald</at> stop deploys", "stop", "deploys"},
		{"stop   Weekly   Digest ", "stop", "Weekly Digest"},
		{"<at id=\"0\">Herald Bot</at>start", "start", ""},
		{"", "", ""},
		{"topics please", "topics", "please"},
	}
	for _, tt := range tests {
		cmd, arg := parseCommand(tt.text)
		if cmd != tt.cmd || arg != tt.arg {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tt.text, cmd, arg, tt.cmd, tt.arg)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempts int
		want     string
	}{{0, "2s"}, {1, "2s"}, {2, "4s"}, {3, "8s"}, {9, "8m32s"}, {10, "10m0s"}, {50, "10m0s"}}
	for _, tt := range tests {
		if got := backoff(tt.attempts).String(); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.attempts, got, tt.want)
		}
	}
}
