package botframework

import (
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short enough", "hello", 5, "hello"},
		{"empty", "", 3, ""},
		{"ascii cut", "hello world", 8, "hello…"},
		{"just the ellipsis", "hello", 3, "…"},
		{"no room for the ellipsis", "hello", 2, "he"},
		{"zero", "hello", 0, ""},
		{"negative", "hello", -1, ""},
		{"two-byte character kept whole", "héllo world", 6, "hé…"},
		{"two-byte character not split", "héllo world", 5, "h…"},
		{"three-byte characters", "日本語のテキスト", 10, "日本…"},
		{"three-byte character not split", "日本語のテキスト", 8, "日…"},
		{"four-byte character not split", "a😀bc", 6, "a…"},
		{"four-byte character whole", "a😀bcdef", 8, "a😀…"},
		{"no room for the ellipsis, multi-byte", "é日", 2, "é"},
		{"no room for the ellipsis, split avoided", "日本", 2, ""},
		{"exactly n multi-byte", "日本", 6, "日本"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Clip(tt.s, tt.n)
			if got != tt.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
			}
			if len(got) > max(tt.n, 0) {
				t.Errorf("Clip(%q, %d) is %d bytes long", tt.s, tt.n, len(got))
			}
		})
	}
}

// FuzzClip checks that Clip never returns more than n bytes, never splits
// a UTF-8 character of a valid input, and keeps a prefix of its input.
func FuzzClip(f *testing.F) {
	f.Add("héllo world", 5)
	f.Add("日本語のテキスト", 8)
	f.Add("a😀b", 4)
	f.Add("\xff\xfe\x80abc", 2)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Clip(s, n)
		if len(got) > max(n, 0) {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes", s, n, got, len(got))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: not UTF-8", s, n, got)
		}
		if len(s) <= n && got != s {
			t.Fatalf("Clip(%q, %d) = %q: changed a string that fits", s, n, got)
		}
	})
}
