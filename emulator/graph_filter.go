package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// filterNode is a parsed $filter: comparisons (eq, ne, gt, ge, lt, le),
// "in", startsWith/endsWith, lambda any(v:…), joined by and, or, not.
type filterNode struct {
	kind        string // "and", "or", "not", "cmp", "in", "fn", "any"
	left, right *filterNode
	path        string // cmp, in, fn, any: the property path
	cmp         string // cmp: eq, ne, gt, ge, lt, le; fn: startswith, endswith
	lit         any    // cmp, fn: the literal
	lits        []any  // in: the literals
	lambdaVar   string // any: the variable
}

func badFilter(format string, args ...any) *graphError {
	return gErr(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+format, args...)
}

// filterParser is a recursive-descent parser over filter tokens.
type filterParser struct {
	toks []string
	pos  int
}

// parseFilter parses a $filter expression.
func parseFilter(s string) (*filterNode, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, badFilter("syntax error at '%s'.", p.toks[p.pos])
	}
	return n, nil
}

// lexFilter splits a filter into tokens: punctuation, quoted strings
// (kept with their opening quote; a doubled quote inside stands for one)
// and words.
func lexFilter(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),:", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, badFilter("unterminated string literal.")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && (isWordByte(s[j])) {
				j++
			}
			if j == i {
				return nil, badFilter("unexpected character '%c'.", c)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, badFilter("the filter is empty.")
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) || strings.IndexByte("_./-$@+", c) >= 0
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *filterParser) expect(t string) error {
	if got := p.next(); got != t {
		return badFilter("expected '%s', found '%s'.", t, got)
	}
	return nil
}

func (p *filterParser) or() (*filterNode, error) {
	return p.binary("or", p.and)
}

func (p *filterParser) and() (*filterNode, error) {
	return p.binary("and", p.unary)
}

func (p *filterParser) binary(op string, sub func() (*filterNode, error)) (*filterNode, error) {
	n, err := sub()
	for err == nil && strings.EqualFold(p.peek(), op) {
		p.pos++
		var r *filterNode
		if r, err = sub(); err == nil {
			n = &filterNode{kind: op, left: n, right: r}
		}
	}
	return n, err
}

func (p *filterParser) unary() (*filterNode, error) {
	switch {
	case strings.EqualFold(p.peek(), "not"):
		p.pos++
		n, err := p.unary()
		return &filterNode{kind: "not", left: n}, err
	case p.peek() == "(":
		p.pos++
		n, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return n, err
	}
	return p.primary()
}

func (p *filterParser) primary() (*filterNode, error) {
	word := p.next()
	if word == "" || !isWordByte(word[0]) {
		return nil, badFilter("expected a property, found '%s'.", word)
	}
	lower := strings.ToLower(word)
	if p.peek() == "(" {
		switch {
		case lower == "startswith" || lower == "endswith":
			return p.function(lower)
		case strings.HasSuffix(lower, "/any"):
			return p.lambda(word[:len(word)-len("/any")])
		}
		return nil, badFilter("the function '%s' is not supported.", word)
	}
	op := strings.ToLower(p.next())
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		lit, err := literal(p.next())
		return &filterNode{kind: "cmp", path: word, cmp: op, lit: lit}, err
	case "in":
		lits, err := p.list()
		return &filterNode{kind: "in", path: word, lits: lits}, err
	}
	return nil, badFilter("unknown operator '%s'.", op)
}

func (p *filterParser) function(name string) (*filterNode, error) {
	p.pos++ // (
	path := p.next()
	if err := p.expect(","); err != nil {
		return nil, err
	}
	lit, err := literal(p.next())
	if err == nil {
		err = p.expect(")")
	}
	if _, ok := lit.(string); err == nil && !ok {
		err = badFilter("%s needs a string.", name)
	}
	return &filterNode{kind: "fn", cmp: name, path: path, lit: lit}, err
}

func (p *filterParser) lambda(path string) (*filterNode, error) {
	p.pos++ // (
	v := p.next()
	if v == "" || !isWordByte(v[0]) {
		return nil, badFilter("expected a lambda variable.")
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	body, err := p.or()
	if err == nil {
		err = p.expect(")")
	}
	return &filterNode{kind: "any", path: path, lambdaVar: v, left: body}, err
}

func (p *filterParser) list() ([]any, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []any
	for {
		lit, err := literal(p.next())
		if err != nil {
			return nil, err
		}
		out = append(out, lit)
		switch p.next() {
		case ",":
		case ")":
			return out, nil
		default:
			return nil, badFilter("expected ',' or ')' in a list.")
		}
	}
}

// literal parses a literal token: 'string', true, false, null, a number
// or an unquoted GUID (read as a string).
func literal(t string) (any, error) {
	switch {
	case strings.HasPrefix(t, "'"):
		return t[1:], nil
	case t == "true" || t == "false":
		return t == "true", nil
	case t == "null":
		return nil, nil
	case isGUID(t):
		return strings.ToLower(t), nil
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return f, nil
	}
	return nil, badFilter("'%s' is not a literal.", t)
}

// advancedOnly reports whether the filter uses operators Graph allows on
// directory objects only as advanced queries (ne, not, endsWith).
func (n *filterNode) advancedOnly() bool {
	if n == nil {
		return false
	}
	if n.kind == "not" || n.kind == "cmp" && n.cmp == "ne" || n.kind == "fn" && n.cmp == "endswith" {
		return true
	}
	return n.left.advancedOnly() || n.right.advancedOnly()
}

// properties returns the top-level properties the filter reads.
func (n *filterNode) properties(vars ...string) []string {
	if n == nil {
		return nil
	}
	var out []string
	if n.path != "" {
		head, _, _ := strings.Cut(n.path, "/")
		isVar := false
		for _, v := range vars {
			isVar = isVar || head == v
		}
		if !isVar {
			out = append(out, head)
		}
	}
	if n.kind == "any" {
		vars = append(vars, n.lambdaVar)
	}
	return append(append(out, n.left.properties(vars...)...), n.right.properties(vars...)...)
}

// match evaluates the filter on obj (a JSON-shaped object), with vars
// bound by enclosing lambdas.
func (n *filterNode) match(obj map[string]any, vars map[string]any) bool {
	switch n.kind {
	case "and":
		return n.left.match(obj, vars) && n.right.match(obj, vars)
	case "or":
		return n.left.match(obj, vars) || n.right.match(obj, vars)
	case "not":
		return !n.left.match(obj, vars)
	case "cmp":
		return compare(lookup(obj, vars, n.path), n.cmp, n.lit)
	case "in":
		v := lookup(obj, vars, n.path)
		for _, l := range n.lits {
			if compare(v, "eq", l) {
				return true
			}
		}
		return false
	case "fn":
		s, _ := lookup(obj, vars, n.path).(string)
		lit := strings.ToLower(n.lit.(string))
		if n.cmp == "startswith" {
			return strings.HasPrefix(strings.ToLower(s), lit)
		}
		return strings.HasSuffix(strings.ToLower(s), lit)
	case "any":
		items, _ := lookup(obj, vars, n.path).([]any)
		for _, it := range items {
			inner := map[string]any{n.lambdaVar: it}
			for k, v := range vars {
				if k != n.lambdaVar {
					inner[k] = v
				}
			}
			if n.left.match(obj, inner) {
				return true
			}
		}
	}
	return false
}

// lookup resolves a path ("mail", "teamsApp/id", "a/servicePlanId", "p")
// in obj or a lambda variable; names are case-insensitive.
func lookup(obj map[string]any, vars map[string]any, path string) any {
	segs := strings.Split(path, "/")
	var cur any = obj
	if v, ok := vars[segs[0]]; ok {
		cur, segs = v, segs[1:]
	}
	for _, s := range segs {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = nil
		for k, v := range m {
			if strings.EqualFold(k, s) {
				cur = v
			}
		}
	}
	return cur
}

// compare applies op to a value and a literal: strings ignore case, as
// directory comparisons do.
func compare(v any, op string, lit any) bool {
	c, ok := order(v, lit)
	switch op {
	case "eq":
		return ok && c == 0
	case "ne":
		return !ok || c != 0
	case "gt":
		return ok && c > 0
	case "ge":
		return ok && c >= 0
	case "lt":
		return ok && c < 0
	case "le":
		return ok && c <= 0
	}
	return false
}

// order compares v with lit; ok is false when they are of different kinds.
func order(v, lit any) (int, bool) {
	switch l := lit.(type) {
	case nil:
		return 0, v == nil
	case bool:
		b, ok := v.(bool)
		if !ok || b == l {
			return 0, ok
		}
		if b {
			return 1, true
		}
		return -1, true
	case string:
		s, ok := v.(string)
		return strings.Compare(strings.ToLower(s), strings.ToLower(l)), ok
	case float64:
		f, ok := v.(float64)
		switch {
		case !ok:
			return 0, false
		case f < l:
			return -1, true
		case f > l:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
