package botframework

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeActivity checks that DecodeActivity never panics, that what it
// accepts can be encoded, and that encoding is stable: decoding the encoded
// form and encoding again yields the same bytes.
func FuzzDecodeActivity(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		f.Add(readFixture(f, filepath.Base(file)))
	}
	for _, s := range []string{
		`{"type":"message","channelData":{"Tenant":{"id":"u"},"tenant":{"id":"l"},"x":[1,{"y":null}]}}`,
		`{"type":"message","entities":[null,{"type":"mention","mentioned":{"id":"29:a"}},{"Type":"clientInfo","timezone":"UTC"}]}`,
		`{"TYPE":"event","value":null,"timestamp":"2025-01-01T00:00:00-00:00","localTimestamp":"0000-01-01T00:00:00+23:59"}`,
		`{"type":"message","attachments":[{"contentType":"x","content":"<b>&amp;</b>\u2028"}],"text":"\ud800"}`,
		`{"type":"conversationUpdate","channelData":{"onBehalfOf":[null,{}],"settings":{"selectedChannel":null}},"channelData":{"z":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeActivity(data)
		if err != nil {
			return
		}
		first, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("encode decoded activity: %v", err)
		}
		b, err := DecodeActivity(first)
		if err != nil {
			t.Fatalf("decode encoded activity %s: %v", first, err)
		}
		second, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding not stable:\n%s\n%s", first, second)
		}
		// The accessors must not panic on anything DecodeActivity accepts.
		_ = a.Reference()
		_, _ = a.ClientInfo()
		_ = a.Mentions()
		_, _, _, _ = a.TenantID(), a.BotAdded(), a.BotRemoved(), a.EventType()
		_ = a.Team()
		for _, att := range a.Attachments {
			_, _ = att.HeroCard()
		}
	})
}

// FuzzParseErrorBody checks that any error answer yields a well-formed
// APIError and a classification.
func FuzzParseErrorBody(f *testing.F) {
	for _, c := range errorCases {
		f.Add(c.status, []byte(c.body), c.retryAfter)
	}
	f.Add(403, []byte(`{"errorCode":209,"message":"{\"subCode\":5}"}`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(429, []byte(strings.Repeat("{", 100)), "-1")
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		e := newAPIError("send to conversation", status, h, body, now)
		if len(e.Body) > maxErrorBody || (len(body) > 0 && !bytes.HasPrefix(body, e.Body)) {
			t.Fatalf("Body is not a capped prefix of the response body")
		}
		if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Code) {
			t.Fatalf("invalid UTF-8 in code %q or message %q", e.Code, e.Message)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter = %v", e.RetryAfter)
		}
		if !strings.HasPrefix(e.Error(), "send to conversation: status ") {
			t.Fatalf("Error() = %q", e.Error())
		}
		c := Classify(e)
		if c.Reason == "" || c.Retryable != c.Reason.Retryable() || c.RetryAfter != e.RetryAfter {
			t.Fatalf("Classify = %+v", c)
		}
	})
}

// FuzzParseOperationID checks the batch-send body parser.
func FuzzParseOperationID(f *testing.F) {
	for _, s := range []string{`{"operationId":"op-1"}`, `"op-2"`, "op-3\n", ``, `{}`, `"`, "a b", `{"operationId":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseOperationID(body)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatal("empty id without error")
		}
		if b := bytes.TrimSpace(body); b[0] != '{' && b[0] != '"' && (len(id) > maxOperationID || strings.ContainsAny(id, " \t\r\n")) {
			t.Fatalf("raw id %q accepted", id)
		}
	})
}
