package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrInvalidArgument means a call was refused before sending: an id was
// empty or a parameter out of range.
var ErrInvalidArgument = errors.New("invalid argument")

// query builds an OData query string in the order parameters are added.
// Values are escaped for a query component, keeping the characters OData
// expressions are written with (,'()/:$@) readable; a space is %20.
type query []string

// add appends key=value unless value is empty.
func (q query) add(key, value string) query {
	if value == "" {
		return q
	}
	return append(q, key+"="+escapeQuery(value))
}

func (q query) String() string { return strings.Join(q, "&") }

// escapeQuery percent-encodes every byte that is not unreserved or one of
// !$'()*,/:@, so &, =, +, ;, #, % and spaces never change the query's shape.
func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if isQuerySafe(ch) {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

func isQuerySafe(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("-._~!$'()*,/:@", ch) >= 0
}

// quote writes s as an OData string literal: in single quotes, a quote
// inside doubled.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// seg escapes one path segment, refusing empty and dot segments.
func seg(op, name, v string) (string, error) {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "\x00\r\n") {
		return "", fmt.Errorf("%s: %w: %s %q", op, ErrInvalidArgument, name, v)
	}
	return url.PathEscape(v), nil
}

// selectList joins property names for $select, or returns def when none.
func selectList(props []string, def string) string {
	if len(props) == 0 {
		return def
	}
	return strings.Join(props, ",")
}

// eventual is the header advanced directory queries need (with $count=true).
func eventual() http.Header {
	return http.Header{"ConsistencyLevel": {"eventual"}}
}
