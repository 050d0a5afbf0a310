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
