package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"herald/api"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		field      string // "-" means success
		msg        string
	}{
		{"ok", `{"audience":{"users":["a"]},"content":{"text":"x"}}`, "-", ""},
		{"names differing in case", `{"Audience":{"users":["a"]},"content":{"text":"x"}}`, "Audience", "unknown field"},
		{"deep name differing in case", `{"audience":{"USERS":["a"]},"content":{"text":"x"}}`, "audience.USERS", "unknown field"},
		{"duplicate member", `{"audience":{"users":["a"]},"content":{"text":"x"},"critical":false,"critical":true}`, "critical", "more than once"},
		{"duplicate deep member", `{"audience":{"users":["a"],"users":["b"]},"content":{"text":"x"}}`, "audience.users", "more than once"},
		{"null members", `{"audience":null,"content":{"heroCard":null,"text":"x"}}`, "-", ""},
		{"empty", ` `, "", "JSON object"},
		{"syntax", `{"a" 1}`, "", "not valid JSON"},
		{"truncated", `{"audience":{`, "", "not valid JSON"},
		{"two values", `{} {}`, "", "one JSON value"},
		{"top-level array", `[]`, "", "must be an object"},
		{"unknown", `{"x":1}`, "x", "unknown field"},
		{"unknown deep", `{"content":{"structured":{"title":"t","subject":{"name":"n","href":"h"}}}}`, "content.structured.subject.href", "unknown field"},
		{"unknown in array", `{"content":{"heroCard":{"buttons":[{"type":"imBack"},{"kind":1}]}}}`, "content.heroCard.buttons[1].kind", "unknown field"},
		{"string for bool", `{"critical":"yes"}`, "critical", "true or false"},
		{"number for string", `{"topic":5}`, "topic", "a string"},
		{"object for array", `{"audience":{"teams":{}}}`, "audience.teams", "an array"},
		{"array for object", `{"content":[]}`, "content", "an object"},
		{"bad time", `{"sendAt":"2026-13-01"}`, "sendAt", "RFC 3339"},
		{"bad map value", `{"recipientVariables":{"bob":{"x":[]}}}`, "recipientVariables.bob.x", "a string"},
		{"raw card stays raw", `{"content":{"adaptiveCard":{"anything":[1,{"x":null}]}}}`, "-", ""},
		{"submit data stays raw", `{"content":{"structured":{"title":"t","actions":[{"title":"a","data":{"k":[1]}}]}}}`, "-", ""},
	}
	for _, tt := range tests {
		var v api.NotificationRequest
		err := decodeJSON([]byte(tt.body), &v)
		if tt.field == "-" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != api.CodeInvalid {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: field %q message %q, want %q containing %q", tt.name, e.Field, e.Message, tt.field, tt.msg)
		}
	}
}

// FuzzDecodeNotification feeds arbitrary bodies to the decoding and
// validation of POST /v1/notifications: it must never panic, refuse only
// with a 400 or 422 *api.Error, and accept only requests the engine's own
// validation accepts.
func FuzzDecodeNotification(f *testing.F) {
	for _, s := range []string{
		`{"audience":{"users":["alice@contoso.com"]},"content":{"text":"hi {{name}}"}}`,
		`{"audience":{"teams":["Eng"],"channels":[{"team":"Eng","channel":"General"}]},"content":{"heroCard":{"title":"t","buttons":[{"type":"openUrl","title":"o","value":"https://x"}]}},"priority":"high"}`,
		`{"audience":{"topics":["deploys"]},"content":{"adaptiveCard":{"type":"AdaptiveCard","version":"1.5","body":[]}},"sendAt":"2026-05-01T09:00:00Z"}`,
		`{"audience":{"users":["a"]},"content":{"structured":{"title":"t","subject":{"name":"s"},"actions":[{"title":"a","data":{"k":1}}]}},"strict":true,"topic":"x"}`,
		`{"audience":{"users":["a"]},"content":{"text":"x","heroCard":{}},"colour":1}`,
		`{"audience":{"users":[""]},"content":{"text":"x"},"variables":{"a":"b"},"recipientVariables":{"a":{"b":"c"}}}`,
		`[]`, `null`, `{}`, `{"audience":{"users":"x"}}`,
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(`{"audience":{"users":["a"]},"content":{"text":"x"},"idempotencyKey":"k"}`), "other")
	f.Fuzz(func(t *testing.T, body []byte, idem string) {
		req, warnings, err := parseNotification(body, idem)
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusUnprocessableEntity) || e.Message == "" {
				t.Fatalf("refusal is not a 400/422 api.Error: %#v", err)
			}
			if e.Status == http.StatusUnprocessableEntity && len(e.Warnings) == 0 {
				t.Fatalf("422 without warnings: %+v", e)
			}
			return
		}
		if verr := req.Validate(); verr != nil {
			t.Fatalf("accepted a request the engine refuses: %v", verr)
		}
		for _, w := range warnings {
			if !strings.HasPrefix(w.Field, "content.structured") {
				t.Fatalf("warning field %q is not a request path", w.Field)
			}
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
	})
}
