package botframework

import (
	"strings"
	"unicode/utf8"
)

// ellipsis marks where Clip cut.
const ellipsis = "…"

// Clip shortens s to at most n bytes, for error messages and log lines
// that quote text from elsewhere. A longer s is cut on a UTF-8 character
// boundary, so a valid s gives a valid result, and ends with "…", which
// counts in the n bytes; when n is less than the 3 bytes of "…", the cut
// has no ellipsis. n <= 0 gives "".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	cut, mark := n-len(ellipsis), ellipsis
	if cut < 0 {
		cut, mark = n, ""
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// OneLine makes s one line of valid UTF-8: invalid bytes become U+FFFD and
// control characters (NUL, new lines, tabs) spaces. Text from elsewhere
// (an error answer's body) is safe to log and to store after it.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
