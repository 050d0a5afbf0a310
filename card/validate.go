package card

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"herald/botframework"
)

// Limits Herald applies to card content.
const (
	// MaxCardBytes is the largest card, in bytes of compact JSON, that
	// Herald accepts. Teams rejects bot messages over about 100 KB with 413
	// MessageSizeTooBig and advises staying at or under 80 KB; Herald keeps
	// to the advice, leaving room for the activity around the card and for
	// placeholders that grow when the engine fills them in.
	MaxCardBytes = 80 * 1024
	// MaxActions is the most actions a card may carry: the Teams Store
	// validation guidelines ask cards to stay light, with up to six.
	MaxActions = 6
	// MaxAdaptiveCardVersion is the newest Adaptive Card schema version
	// Teams renders in bot messages on every client.
	MaxAdaptiveCardVersion = "1.5"
)

const maxMajor, maxMinor = 1, 5

// ValidationError says what is wrong with content, and where.
type ValidationError struct {
	// Field is the JSON path of the offending member within the content
	// ("version", "actions", "buttons[2].type"); empty when the problem is
	// the content as a whole (not JSON, too large).
	Field string
	// Message says what is wrong, in words fit for an API client.
	Message string
}

// Error is "field: message", or the message alone for the whole content.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidateAdaptiveCard checks a caller's Adaptive Card before it is sent:
// it must be a JSON object with "type" "AdaptiveCard", a "version" no newer
// than [MaxAdaptiveCardVersion] (compared as numbers, so "1.10" is newer
// than "1.5"), "body" and "actions" arrays when present, at most
// [MaxActions] top-level actions, and at most [MaxCardBytes] bytes once
// compacted (as it goes on the wire). It does not check the elements
// inside the body; Teams ignores what it does not know. Errors are
// [*ValidationError].
func ValidateAdaptiveCard(raw json.RawMessage) error {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return invalid("", "the card is not valid JSON: %v", err)
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return invalid("", "the card must be a JSON object")
	}
	if compact.Len() > MaxCardBytes {
		return invalid("", "the card is %d bytes; the most Teams takes safely is %d", compact.Len(), MaxCardBytes)
	}
	var card map[string]json.RawMessage
	if err := json.Unmarshal(compact.Bytes(), &card); err != nil {
		return invalid("", "the card is not valid JSON: %v", err)
	}
	var typ string
	if json.Unmarshal(card["type"], &typ) != nil || typ != "AdaptiveCard" {
		return invalid("type", `must be "AdaptiveCard"`)
	}
	if err := checkVersion(card["version"]); err != nil {
		return err
	}
	if body, ok := card["body"]; ok && !isArray(body) {
		return invalid("body", "must be an array")
	}
	var actions []json.RawMessage
	if raw, ok := card["actions"]; ok {
		if !isArray(raw) || json.Unmarshal(raw, &actions) != nil {
			return invalid("actions", "must be an array")
		}
		if len(actions) > MaxActions {
			return invalid("actions", "has %d actions; Teams allows at most %d", len(actions), MaxActions)
		}
	}
	return checkUniversalActions(card, actions)
}

// checkUniversalActions checks a card's refresh (an object whose action is
// an Action.Execute, and at most MaxRefreshUsers userIds) and that a card
// with a refresh or a top-level Action.Execute has version 1.5, below which
// Teams may neither render nor refresh it.
func checkUniversalActions(card map[string]json.RawMessage, actions []json.RawMessage) error {
	raw, refresh := card["refresh"]
	uses := refresh
	for _, a := range actions {
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(a, &t) == nil && t.Type == actionExecute {
			uses = true
		}
	}
	if refresh {
		var r struct {
			Action *struct {
				Type string `json:"type"`
			} `json:"action"`
			UserIDs json.RawMessage `json:"userIds"`
		}
		if raw[0] != '{' || json.Unmarshal(raw, &r) != nil {
			return invalid("refresh", "must be an object with an action and userIds")
		}
		if r.Action == nil || r.Action.Type != actionExecute {
			return invalid("refresh.action", "must be an %s", actionExecute)
		}
		var ids []string
		if r.UserIDs != nil && (!isArray(r.UserIDs) || json.Unmarshal(r.UserIDs, &ids) != nil) {
			return invalid("refresh.userIds", "must be an array of user ids")
		}
		if len(ids) > MaxRefreshUsers {
			return invalid("refresh.userIds", "has %d user ids; Teams refreshes for at most %d", len(ids), MaxRefreshUsers)
		}
	}
	var v string
	_ = json.Unmarshal(card["version"], &v)
	if major, minor, _ := parseVersion(v); uses && (major == maxMajor && minor < maxMinor) {
		return invalid("version", "%s and refresh need version %s", actionExecute, MaxAdaptiveCardVersion)
	}
	return nil
}

// isArray reports whether raw, compact valid JSON, is an array.
func isArray(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '[' }

func checkVersion(raw json.RawMessage) error {
	if raw == nil {
		return invalid("version", "is missing; use %q", MaxAdaptiveCardVersion)
	}
	var v string
	if json.Unmarshal(raw, &v) != nil || raw[0] != '"' {
		return invalid("version", `must be a string such as "1.5"`)
	}
	major, minor, ok := parseVersion(v)
	switch {
	case !ok:
		return invalid("version", `%q is not a version such as "1.5"`, v)
	case major > maxMajor || major == maxMajor && minor > maxMinor:
		return invalid("version", "%s is newer than Teams renders; use %s or older", v, MaxAdaptiveCardVersion)
	}
	return nil
}

// parseVersion parses "major.minor" (or "major") made of decimal digits.
func parseVersion(v string) (major, minor int, ok bool) {
	ma, mi, dot := strings.Cut(v, ".")
	major, ok = parseDigits(ma)
	if !ok {
		return 0, 0, false
	}
	if dot {
		if minor, ok = parseDigits(mi); !ok {
			return 0, 0, false
		}
	}
	return major, minor, major >= 1
}

func parseDigits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// heroActionTypes are the card action types Teams supports; it ignores
// others (postBack among them).
func heroActionType(t string) bool {
	switch t {
	case botframework.ActionOpenURL, botframework.ActionIMBack, botframework.ActionMessageBack, "invoke", "signin":
		return true
	}
	return false
}

// ValidateHeroCard checks a caller's hero card: a title or text, at most
// [MaxActions] buttons, each of a type Teams supports (openUrl, imBack,
// messageBack, invoke, signin) with a title and what its type needs, and
// images with URLs. Errors are [*ValidationError].
func ValidateHeroCard(h botframework.HeroCard) error {
	if blank(h.Title) && blank(h.Text) {
		return invalid("title", "a hero card needs a title or text")
	}
	for i, img := range h.Images {
		if blank(img.URL) {
			return invalid(fmt.Sprintf("images[%d].url", i), "is required")
		}
	}
	if len(h.Buttons) > MaxActions {
		return invalid("buttons", "has %d buttons; Teams allows at most %d", len(h.Buttons), MaxActions)
	}
	for i, b := range h.Buttons {
		if err := checkCardAction(fmt.Sprintf("buttons[%d]", i), b, true); err != nil {
			return err
		}
	}
	if h.Tap != nil {
		return checkCardAction("tap", *h.Tap, false)
	}
	return nil
}

func checkCardAction(field string, a botframework.CardAction, needTitle bool) error {
	if !heroActionType(a.Type) {
		return invalid(field+".type", "%q is not an action Teams supports (openUrl, imBack, messageBack, invoke, signin)", a.Type)
	}
	if needTitle && blank(a.Title) {
		return invalid(field+".title", "is required")
	}
	var value string
	isString := json.Unmarshal(a.Value, &value) == nil
	switch a.Type {
	case botframework.ActionOpenURL, "signin":
		if !isString || !isURL(value) {
			return invalid(field+".value", "must be an http or https URL")
		}
	case botframework.ActionIMBack:
		if !isString || blank(value) {
			return invalid(field+".value", "must be the text to send")
		}
	case botframework.ActionMessageBack:
		if blank(a.Text) && blank(a.DisplayText) && len(a.Value) == 0 {
			return invalid(field, "a messageBack action needs text, displayText or value")
		}
	case "invoke":
		if len(a.Value) == 0 {
			return invalid(field+".value", "is required")
		}
	}
	return nil
}

// isURL reports whether s is an absolute http or https URL, or a
// placeholder the engine fills in later ("{{link}}").
func isURL(s string) bool {
	return isLink(s) || strings.HasPrefix(strings.TrimSpace(s), "{{")
}

// isLink reports whether s is an absolute http or https URL.
func isLink(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(l, "https://"):
		return len(l) > len("https://")
	case strings.HasPrefix(l, "http://"):
		return len(l) > len("http://")
	}
	return false
}

// MessageSize estimates a message's size the way Teams counts it against
// its limit: the text in UTF-16 code units, plus each attachment's JSON
// encoding (also in UTF-16 code units). Compare it with [MaxCardBytes].
func MessageSize(text string, attachments []botframework.Attachment) int {
	n := utf16Len(text)
	for _, a := range attachments {
		b, err := encode(a)
		if err != nil {
			// An attachment that does not encode cannot be sent; count
			// its raw content so the estimate still grows with it.
			n += len(a.Content)
			continue
		}
		n += utf16Len(string(b))
	}
	return n
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// encode marshals v as compact JSON without HTML escaping, so text such
// as "&" and "<" stays readable and placeholders stay as written.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
