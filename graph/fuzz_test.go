package graph

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzErrorBody feeds arbitrary answers to the error parser and everything
// built on it: the *Error, its kind, its permissions and its advice.
func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{
		``,
		`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r"}}}`,
		`{"error":{"code":"Forbidden","message":"Missing role permissions on the request. API requires one of 'A.Read.All, B.ReadWrite.All'. Roles on the request ''."}}`,
		`{"error":{"code":"Forbidden","message":"Missing role permissions on the request. API requires one of 'A'. Roles on the request 'B, C'."}}`,
		`{"error":{"code":"Forbidden","message":"App is blocked by app permission policy.","innerError":{"code":"AccessDenied"}}}`,
		`{"error":"invalid_request","message":7}`,
		`{"error":{"code":412}}`,
		`"text"`,
		"<html>\n</html>",
		`{"error":{"message":"requires one of 'İİİ, ǅ'. Scopes on the request 'İ"}}`,
	} {
		f.Add([]byte(s), 403)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		e := newError("op", status, http.Header{"Retry-After": {string(body)}}, body, time.Time{}, []string{PermUserRead})
		for _, s := range []string{e.Code, e.InnerCode, e.Message, e.RequestID} {
			if strings.ContainsAny(s, "\r\n\x00") {
				t.Fatalf("text from the answer is not one line: %q", s)
			}
			if len(s) > 1000 {
				t.Fatalf("text from the answer is %d bytes", len(s))
			}
		}
		if utf8.ValidString(string(body)) && !utf8.ValidString(e.Message) {
			t.Fatalf("message %q is not valid UTF-8", e.Message)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter = %v", e.RetryAfter)
		}
		k := e.Kind()
		if k == "" {
			t.Fatal("empty kind")
		}
		if e.NoRoles && len(e.Granted) > 0 {
			t.Fatalf("NoRoles with granted roles %q", e.Granted)
		}
		_ = e.Error()
		if a := e.Advice(); (a != "") != (k == KindPermissionMissing || k == KindConsentMissing) {
			t.Fatalf("advice %q for kind %s", a, k)
		}
	})
}

// FuzzBatchResponse feeds arbitrary $batch answers to the batch parser and
// the per-item errors built from them.
func FuzzBatchResponse(f *testing.F) {
	for _, s := range []string{
		`{"responses":[{"id":"1","status":200,"headers":{"Content-Type":"application/json"},"body":{"id":"u1"}}]}`,
		`{"responses":[{"id":"2","status":429,"headers":{"Retry-After":"7"},"body":{"error":{"code":"TooManyRequests"}}},{"id":"3","status":424}]}`,
		`{"responses":[{"id":"1","status":403,"body":{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}}]}`,
		`{"responses":[{"id":1,"status":"200"}]}`,
		`{"responses":null}`,
		`{}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := parseBatchResponse(body)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Status >= 200 && it.Status <= 299 {
				continue
			}
			e := newError("batch item "+it.ID, it.Status, itemHeader(it.Headers), it.Body, time.Time{}, nil)
			if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
				t.Fatalf("RetryAfter = %v", e.RetryAfter)
			}
			_ = Classify(e)
			_ = e.Error()
		}
	})
}

// FuzzDeltaPage feeds arbitrary users delta pages to the delta parser.
func FuzzDeltaPage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"a","accountEnabled":true},{"id":"b","@removed":{"reason":"changed"}}],"@odata.nextLink":"x"}`))
	f.Add([]byte(`{"value":[{"id":"a","assignedPlans":[{"capabilityStatus":"Enabled","service":"TeamspaceAPI"}]}],"@odata.deltaLink":"y"}`))
	f.Add([]byte(`{"value":[{"@removed":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseDeltaPage(body)
		if err != nil {
			return
		}
		for _, u := range p.Users {
			if u.ID == "" {
				t.Fatal("a user without id")
			}
			_ = u.InstallBlocker()
		}
		for _, r := range p.Removed {
			if r.ID == "" {
				t.Fatal("a removal without id")
			}
		}
	})
}
