package server

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"herald/api"
)

// requireJSON refuses a body declared as anything but JSON. No
// Content-Type, and curl -d's form type, are taken as JSON.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/x-www-form-urlencoded") {
		return nil
	}
	return &api.Error{Status: http.StatusUnsupportedMediaType, Code: api.CodeUnsupportedMediaType, Field: "Content-Type",
		Message: fmt.Sprintf("the body must be JSON (application/json), not %q", ct)}
}

// readBody reads the whole (capped) body.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, invalid("", "reading the body: %v", err)
	}
	return b, nil
}

// decodeJSON decodes one JSON value from body into v (a pointer),
// refusing unknown members. Errors are *api.Error naming the JSON path of
// the culprit ("content.heroCard.buttons[0].title").
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("", "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return invalid("", "the body must hold one JSON value, with nothing after it")
		}
		// encoding/json also takes a member whose name differs in case and
		// keeps the last of duplicate members; the walk refuses both.
		if field, problem, ok := locate(body, reflect.TypeOf(v), ""); ok {
			return invalid(field, "%s", problem)
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || !json.Valid(body) {
		return invalid("", "the body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if field, problem, ok := locate(body, reflect.TypeOf(v), ""); ok {
		return invalid(field, "%s", problem)
	}
	return invalid("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// locate walks valid JSON raw along type t and returns the path of the
// first member encoding/json would refuse (unknown, or of the wrong type)
// and what is wrong with it.
func locate(raw []byte, t reflect.Type, path string) (field, problem string, found bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", "", false
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || (pt.Implements(textUnmarshaler) && raw[0] == '"') {
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return path, expected(t, err), true
		}
		return "", "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		return locateObject(raw, path, t, func(key string) (reflect.Type, bool) { return structField(t, key) })
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		return locateObject(raw, path, t, func(string) (reflect.Type, bool) { return t.Elem(), true })
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && raw[0] == '"' {
			break
		}
		if raw[0] != '[' {
			return path, expected(t, nil), true
		}
		if scalar(t.Elem()) && json.Unmarshal(raw, reflect.New(t).Interface()) == nil {
			return "", "", false // no members to check; one call, not one per element
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return path, expected(t, err), true
		}
		for i, e := range elems {
			if f, p, ok := locate(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); ok {
				return f, p, true
			}
		}
		return "", "", false
	case reflect.Interface:
		return "", "", false
	}
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		return path, expected(t, err), true
	}
	return "", "", false
}

// scalar reports whether JSON values of type t hold no objects (so no
// members whose names or repetitions need checking).
func scalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// locateObject walks the members of a JSON object in order; member gives
// the type of a member, or false for an unknown one.
func locateObject(raw []byte, path string, t reflect.Type, member func(string) (reflect.Type, bool)) (string, string, bool) {
	if raw[0] != '{' {
		return path, expected(t, nil), true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return path, expected(t, err), true
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return path, expected(t, err), true
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return path, expected(t, err), true
		}
		sub := joinPath(path, key)
		if seen[key] {
			return sub, "appears more than once", true
		}
		seen[key] = true
		mt, ok := member(key)
		if !ok {
			return sub, "unknown field", true
		}
		if f, p, ok := locate(val, mt, sub); ok {
			return f, p, true
		}
	}
	return "", "", false
}

// joinPath appends a member name to a JSON path.
func joinPath(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

// structField finds the type of the struct member named exactly key (its
// JSON name), looking into embedded structs. Names are case-sensitive,
// although encoding/json would also fill a member whose name differs only
// in case.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if got, ok := structField(ft, key); ok {
					return got, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

// expected says what a member of type t must be.
func expected(t reflect.Type, err error) string {
	switch {
	case t == timeType:
		return "must be a time in RFC 3339 form, such as 2026-05-01T09:00:00Z"
	case reflect.PointerTo(t).Implements(jsonUnmarshaler) && err != nil:
		return "is malformed: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be an integer in range (" + t.Kind().String() + ")"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	}
	if err != nil {
		return "is malformed: " + err.Error()
	}
	return "has the wrong type"
}

// queryInt parses an optional integer query parameter within [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "must be an integer from %d to %d", lo, hi)
	}
	return n, nil
}

// checkQuery refuses query parameters other than allowed, so a typo
// ("stat=failed") is an error rather than a silently ignored filter.
func checkQuery(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
			}
		}
		if !known {
			if len(allowed) == 0 {
				return invalid(k, "unknown query parameter; this route takes none")
			}
			return invalid(k, "unknown query parameter; this route takes %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// queryList returns the values of a repeatable parameter, also split at
// commas ("state=failed,uncertain").
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
