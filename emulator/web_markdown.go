package emulator

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Text formatting on the web page, as Teams shows it: the Markdown subset
// Teams renders in message text (textFormat "markdown") and in Adaptive
// Card TextBlocks and facts (bold, italic, links, line breaks, bulleted
// and numbered lists), and the Adaptive Card DATE() and TIME() functions.
// The renderer escapes every character of its input and writes only the
// tags it makes itself, so no text can put markup into the page; links
// keep http and https addresses only.

const (
	// maxMarkdownBytes bounds the text formatted as Markdown; longer text
	// is shown escaped, unformatted.
	maxMarkdownBytes = 32 << 10
	// maxInlineDepth bounds nested bold, italic and links.
	maxInlineDepth = 8
)

// plainHTML renders plain message text: escaped, with <at>…</at> mentions
// as mention spans. Line breaks stay newlines (the page keeps them).
func plainHTML(text string) template.HTML {
	var b strings.Builder
	for _, p := range splitMentions(text) {
		if p.Mention {
			b.WriteString(`<span class="mention">` + template.HTMLEscapeString(p.Text) + `</span>`)
		} else {
			b.WriteString(template.HTMLEscapeString(p.Text))
		}
	}
	return template.HTML(b.String())
}

// markdownHTML renders Teams Markdown: lines starting "- ", "* " or "+ "
// become a bulleted list, lines starting "1. " a numbered one, other lines
// are joined with <br>; within a line **bold**, __bold__, *italic*,
// _italic_, [text](url) and, with mentions, <at>Name</at>.
func markdownHTML(text string, mentions bool) template.HTML {
	if len(text) > maxMarkdownBytes {
		return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(text), "\n", "<br>"))
	}
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
	var b strings.Builder
	var run []string // text lines not yet written
	list := ""       // "ul" or "ol" while a list is open
	flushRun := func() {
		for len(run) > 0 && strings.TrimSpace(run[0]) == "" {
			run = run[1:]
		}
		for len(run) > 0 && strings.TrimSpace(run[len(run)-1]) == "" {
			run = run[:len(run)-1]
		}
		for i, l := range run {
			if i > 0 {
				b.WriteString("<br>")
			}
			inlineHTML(&b, l, mentions)
		}
		run = run[:0]
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">")
			list = ""
		}
	}
	for _, line := range strings.Split(text, "\n") {
		kind, start, item := listItem(line)
		if kind == "" {
			closeList()
			run = append(run, line)
			continue
		}
		flushRun()
		if kind != list {
			closeList()
			list = kind
			if kind == "ol" && start != 1 {
				b.WriteString(`<ol start="` + strconv.Itoa(start) + `">`)
			} else {
				b.WriteString("<" + kind + ">")
			}
		}
		b.WriteString("<li>")
		inlineHTML(&b, item, mentions)
		b.WriteString("</li>")
	}
	closeList()
	flushRun()
	return template.HTML(b.String())
}

// listItem recognises a list line: "ul" for "- x", "* x" or "+ x", "ol"
// with its number for "3. x" or "3) x" (up to three spaces of indent).
func listItem(line string) (kind string, start int, item string) {
	rest := strings.TrimLeft(line, " ")
	if len(line)-len(rest) > 3 || len(rest) < 2 {
		return "", 0, ""
	}
	if strings.ContainsRune("-*+", rune(rest[0])) && rest[1] == ' ' {
		return "ul", 0, rest[2:]
	}
	digits := 0
	for digits < len(rest) && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 || digits+1 >= len(rest) || (rest[digits] != '.' && rest[digits] != ')') || rest[digits+1] != ' ' {
		return "", 0, ""
	}
	n, _ := strconv.Atoi(rest[:digits])
	return "ol", n, rest[digits+2:]
}

// Closing delimiters looked up while rendering a line.
const (
	closeStar2   = iota // "**"
	closeUnder2         // "__"
	closeStar1          // "*" alone
	closeUnder1         // "_" alone
	closeLinkMid        // "]("
	closeParen          // ")"
	closeAt             // "</at>"
	numCloses
)

// inlineRenderer renders one line. next[k][i] is the first position at or
// after i where closing delimiter k starts (len(s) if none), so finding a
// span's end is one lookup and a line renders in linear time.
type inlineRenderer struct {
	s        string
	mentions bool
	b        *strings.Builder
	next     [numCloses][]int32
}

func inlineHTML(b *strings.Builder, s string, mentions bool) {
	if !strings.ContainsAny(s, "*_[<") {
		b.WriteString(template.HTMLEscapeString(s))
		return
	}
	r := &inlineRenderer{s: s, mentions: mentions, b: b}
	r.index()
	r.render(0, len(s), 0)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isWord(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// closes reports which closing delimiters start at i.
func (r *inlineRenderer) closes(i int) [numCloses]bool {
	s := r.s
	var k [numCloses]bool
	at := func(j int) byte {
		if j < 0 || j >= len(s) {
			return ' '
		}
		return s[j]
	}
	afterText := i > 0 && !isSpace(s[i-1])
	switch s[i] {
	case '*':
		k[closeStar2] = afterText && at(i+1) == '*'
		k[closeStar1] = afterText && at(i-1) != '*' && at(i+1) != '*'
	case '_':
		k[closeUnder2] = afterText && at(i+1) == '_' && !isWord(at(i+2))
		k[closeUnder1] = afterText && at(i-1) != '_' && at(i+1) != '_' && !isWord(at(i+1))
	case ']':
		k[closeLinkMid] = at(i+1) == '('
	case ')':
		k[closeParen] = true
	case '<':
		k[closeAt] = strings.HasPrefix(s[i:], "</at>")
	}
	return k
}

func (r *inlineRenderer) index() {
	n := len(r.s)
	for k := range r.next {
		r.next[k] = make([]int32, n+1)
		r.next[k][n] = int32(n)
	}
	for i := n - 1; i >= 0; i-- {
		here := r.closes(i)
		for k := range r.next {
			if here[k] {
				r.next[k][i] = int32(i)
			} else {
				r.next[k][i] = r.next[k][i+1]
			}
		}
	}
}

// find returns where closing delimiter k first starts in [from, to), or
// -1.
func (r *inlineRenderer) find(k, from, to int) int {
	if from >= to {
		return -1
	}
	if j := int(r.next[k][from]); j < to {
		return j
	}
	return -1
}

// mdSpan is a recognised piece of inline markup, from where it opens to
// end, with its content in s[inner:innerEnd].
type mdSpan struct {
	kind            string // "strong", "em", "a", "mention"
	inner, innerEnd int
	end             int
	href            string
}

// render writes s[from:to], formatting the spans it recognises.
func (r *inlineRenderer) render(from, to, depth int) {
	plain := from
	for i := from; i < to; {
		sp, ok := r.spanAt(i, to, depth)
		if !ok {
			i++
			continue
		}
		r.b.WriteString(template.HTMLEscapeString(r.s[plain:i]))
		switch sp.kind {
		case "mention":
			r.b.WriteString(`<span class="mention">@` + template.HTMLEscapeString(htmlUnescape(r.s[sp.inner:sp.innerEnd])) + `</span>`)
		case "a":
			if sp.href != "" {
				r.b.WriteString(`<a href="` + template.HTMLEscapeString(sp.href) + `" rel="noopener noreferrer" target="_blank">`)
			}
			if sp.inner == sp.innerEnd {
				r.b.WriteString(template.HTMLEscapeString(sp.href))
			} else {
				r.render(sp.inner, sp.innerEnd, depth+1) // holds no "](": no link in it
			}
			if sp.href != "" {
				r.b.WriteString("</a>")
			}
		default:
			r.b.WriteString("<" + sp.kind + ">")
			r.render(sp.inner, sp.innerEnd, depth+1)
			r.b.WriteString("</" + sp.kind + ">")
		}
		i, plain = sp.end, sp.end
	}
	r.b.WriteString(template.HTMLEscapeString(r.s[plain:to]))
}

// spanAt recognises the markup opening at i, ending before to.
func (r *inlineRenderer) spanAt(i, to, depth int) (mdSpan, bool) {
	s := r.s
	c := s[i]
	if c == '<' && r.mentions && strings.HasPrefix(s[i:to], "<at>") {
		if j := r.find(closeAt, i+4, to); j >= 0 {
			return mdSpan{kind: "mention", inner: i + 4, innerEnd: j, end: j + 5}, true
		}
		return mdSpan{}, false
	}
	if depth >= maxInlineDepth {
		return mdSpan{}, false
	}
	switch c {
	case '*', '_':
		if c == '_' && i > 0 && isWord(s[i-1]) {
			return mdSpan{}, false // snake_case stays as written
		}
		if i+2 < to && s[i+1] == c && !isSpace(s[i+2]) {
			k := closeStar2
			if c == '_' {
				k = closeUnder2
			}
			if j := r.find(k, i+3, to); j >= 0 && j+2 <= to {
				return mdSpan{kind: "strong", inner: i + 2, innerEnd: j, end: j + 2}, true
			}
			return mdSpan{}, false
		}
		if i+1 < to && s[i+1] != c && !isSpace(s[i+1]) {
			k := closeStar1
			if c == '_' {
				k = closeUnder1
			}
			if j := r.find(k, i+2, to); j >= 0 {
				return mdSpan{kind: "em", inner: i + 1, innerEnd: j, end: j + 1}, true
			}
		}
	case '[':
		mid := r.find(closeLinkMid, i+1, to)
		if mid < 0 {
			return mdSpan{}, false
		}
		end := r.find(closeParen, mid+2, to)
		if end < 0 {
			return mdSpan{}, false
		}
		return mdSpan{kind: "a", inner: i + 1, innerEnd: mid, end: end + 1,
			href: linkURL(s[mid+2 : end])}, true
	}
	return mdSpan{}, false
}

// linkURL returns a Markdown link's address if it is a plain http or
// https URL, else "" (the link text is then shown without a link).
func linkURL(u string) string {
	u = strings.TrimSpace(u)
	if strings.ContainsAny(u, " \t<>\"'`\\") {
		return ""
	}
	return safeURL(u)
}

// cardFunction matches the Adaptive Card date and time functions, which
// Teams writes in the reader's time zone: {{DATE(2017-02-14T06:08:00Z,
// SHORT)}} (COMPACT, SHORT or LONG; COMPACT when absent) and
// {{TIME(2017-02-14T06:08:00Z)}}. As in Teams, anything else (lower case,
// spaces inside the braces, a timestamp that is not RFC 3339) stays as
// written.
var cardFunction = regexp.MustCompile(`\{\{(DATE|TIME)\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2}))(, ?(?:COMPACT|SHORT|LONG))?\)\}\}`)

// cardDates replaces the date and time functions in an Adaptive Card text
// with the date or time in UTC (the page has no reader's time zone).
func cardDates(text string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	return cardFunction.ReplaceAllStringFunc(text, func(m string) string {
		sub := cardFunction.FindStringSubmatch(m)
		t, err := time.Parse(time.RFC3339, sub[2])
		if err != nil {
			return m
		}
		t = t.UTC()
		format := strings.TrimSpace(strings.TrimPrefix(sub[3], ","))
		if sub[1] == "TIME" {
			if format != "" {
				return m
			}
			return t.Format("3:04 PM") + " UTC"
		}
		switch format {
		case "SHORT":
			return t.Format("Mon, Jan 2, 2006")
		case "LONG":
			return t.Format("Monday, January 2, 2006")
		}
		return t.Format("1/2/2006")
	})
}
