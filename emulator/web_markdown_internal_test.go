package emulator

import (
	"regexp"
	"strings"
	"testing"
)

func TestMarkdownHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		mentions       bool
	}{
		{name: "plain", in: "Deploy done", want: "Deploy done"},
		{name: "bold", in: "Deploy **done** now", want: "Deploy <strong>done</strong> now"},
		{name: "bold underscores", in: "__done__", want: "<strong>done</strong>"},
		{name: "italic", in: "*maybe* and _perhaps_", want: "<em>maybe</em> and <em>perhaps</em>"},
		{name: "bold in italic", in: "*a **b** c*", want: "<em>a <strong>b</strong> c</em>"},
		{name: "snake_case is not italic", in: "run my_job_name now", want: "run my_job_name now"},
		{name: "lone stars", in: "2 * 3 * 4 and a ** b", want: "2 * 3 * 4 and a ** b"},
		{name: "unclosed bold", in: "**open", want: "**open"},
		{name: "link", in: "see [the run](https://ci.example.com/r?a=1&b=2)",
			want: `see <a href="https://ci.example.com/r?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">the run</a>`},
		{name: "bold link text", in: "[**Open**](http://x.example)",
			want: `<a href="http://x.example" rel="noopener noreferrer" target="_blank"><strong>Open</strong></a>`},
		{name: "link without text", in: "[](https://x.example)",
			want: `<a href="https://x.example" rel="noopener noreferrer" target="_blank">https://x.example</a>`},
		{name: "javascript link shows its text only", in: "[click](javascript:alert(1))", want: "click)"},
		{name: "data link shows its text only", in: "[x](data:text/html,hi)", want: "x"},
		{name: "quote in link", in: `[x](https://a.example/"onmouseover="alert(1))`, want: "x)"},
		{name: "link text ends at the first ](", in: "[a [b](https://b.example) c](https://a.example)",
			want: `<a href="https://b.example" rel="noopener noreferrer" target="_blank">a [b</a> c](https://a.example)`},
		{name: "line breaks", in: "one\ntwo\r\nthree\rfour", want: "one<br>two<br>three<br>four"},
		{name: "bullets", in: "Changes:\n- **api** 2.4\n* web 1.9\n+ cli", want: "Changes:<ul><li><strong>api</strong> 2.4</li><li>web 1.9</li><li>cli</li></ul>"},
		{name: "bullets after a blank line", in: "Changes:\n\n- a\n- b\n\nThanks", want: "Changes:<ul><li>a</li><li>b</li></ul>Thanks"},
		{name: "numbered", in: "1. build\n2. test", want: "<ol><li>build</li><li>test</li></ol>"},
		{name: "numbered from 3", in: "3) deploy\n4) verify", want: `<ol start="3"><li>deploy</li><li>verify</li></ol>`},
		{name: "list kinds switch", in: "- a\n1. b", want: "<ul><li>a</li></ul><ol><li>b</li></ol>"},
		{name: "not a list", in: "-a\n1.5 ms\n    - deep", want: "-a<br>1.5 ms<br>    - deep"},
		{name: "markup escaped", in: `<b>x</b> & "y" <script>alert(1)</script>`,
			want: "&lt;b&gt;x&lt;/b&gt; &amp; &#34;y&#34; &lt;script&gt;alert(1)&lt;/script&gt;"},
		{name: "markup inside bold escaped", in: "**<img src=x onerror=alert(1)>**", want: "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>"},
		{name: "mention", in: "hi <at>Ann &amp; Co</at>, **go**", mentions: true,
			want: `hi <span class="mention">@Ann &amp; Co</span>, <strong>go</strong>`},
		{name: "mention markup escaped", in: "<at><script>x</script></at>", mentions: true,
			want: `<span class="mention">@&lt;script&gt;x&lt;/script&gt;</span>`},
		{name: "no mentions in cards", in: "<at>Ann</at>", want: "&lt;at&gt;Ann&lt;/at&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(markdownHTML(tt.in, tt.mentions)); got != tt.want {
				t.Errorf("markdownHTML(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownHTMLLongTextEscaped(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("**a** <b>\n", maxMarkdownBytes/9)
	got := string(markdownHTML(in, false))
	if strings.Contains(got, "<strong>") || strings.Contains(got, "<b>") || !strings.Contains(got, "**a** &lt;b&gt;<br>") {
		t.Fatalf("long text: %.200s", got)
	}
}

func TestCardDates(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"{{DATE(2026-11-25T10:00:00Z, SHORT)}}", "Wed, Nov 25, 2026"},
		{"{{DATE(2026-11-25T10:00:00Z,LONG)}}", "Wednesday, November 25, 2026"},
		{"{{DATE(2026-11-25T10:00:00Z, COMPACT)}}", "11/25/2026"},
		{"{{DATE(2026-11-25T10:00:00Z)}}", "11/25/2026"},
		{"{{TIME(2026-11-25T10:00:00Z)}}", "10:00 AM UTC"},
		{"{{TIME(2026-11-25T15:04:05.123Z)}}", "3:04 PM UTC"},
		// An offset is turned into UTC, which can change the day.
		{"{{DATE(2026-11-25T23:30:00-02:00, SHORT)}} {{TIME(2026-11-25T23:30:00-02:00)}}", "Thu, Nov 26, 2026 1:30 AM UTC"},
		{"by Release pipeline · {{DATE(2026-11-25T10:00:00Z, SHORT)}} {{TIME(2026-11-25T10:00:00Z)}}",
			"by Release pipeline · Wed, Nov 25, 2026 10:00 AM UTC"},
		// What Teams leaves as written.
		{"{{date(2026-11-25T10:00:00Z)}}", "{{date(2026-11-25T10:00:00Z)}}"},
		{"{{ DATE(2026-11-25T10:00:00Z) }}", "{{ DATE(2026-11-25T10:00:00Z) }}"},
		{"{{DATE(2026-11-25, SHORT)}}", "{{DATE(2026-11-25, SHORT)}}"},
		{"{{DATE(2026-13-45T10:00:00Z)}}", "{{DATE(2026-13-45T10:00:00Z)}}"},
		{"{{TIME(2026-11-25T10:00:00Z, SHORT)}}", "{{TIME(2026-11-25T10:00:00Z, SHORT)}}"},
		{"{{DATE(2026-11-25T10:00:00Z, MEDIUM)}}", "{{DATE(2026-11-25T10:00:00Z, MEDIUM)}}"},
	}
	for _, tt := range tests {
		if got := cardDates(tt.in); got != tt.want {
			t.Errorf("cardDates(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// safeTags matches every tag the renderer may write.
var safeTags = regexp.MustCompile(`</?(strong|em|ul|li)>|<br>|<ol( start="[0-9]+")?>|</ol>|<span class="mention">|</span>|` +
	`<a href="https?://[^"<>]*" rel="noopener noreferrer" target="_blank">|</a>`)

func FuzzMarkdownHTML(f *testing.F) {
	for _, s := range []string{
		"**bold** _it_ [l](https://x.example) <at>A</at>\n- a\n1. b",
		"[x](javascript:alert(1)) <script>alert(1)</script>",
		"***a***___b___ **[*x*](http://y)**",
		"{{DATE(2026-11-25T10:00:00Z, SHORT)}}",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, mentions bool) {
		out := string(markdownHTML(cardDates(text), mentions))
		rest := safeTags.ReplaceAllString(out, "")
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("markup outside the renderer's tags in %q:\n%s", text, out)
		}
		if strings.Count(out, "<a ") != strings.Count(out, "</a>") || strings.Count(out, "<strong>") != strings.Count(out, "</strong>") ||
			strings.Count(out, "<em>") != strings.Count(out, "</em>") {
			t.Fatalf("unbalanced tags for %q:\n%s", text, out)
		}
		for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
			if !strings.HasPrefix(m[1], "https://") && !strings.HasPrefix(m[1], "http://") {
				t.Fatalf("unsafe link %q from %q", m[1], text)
			}
		}
	})
}
