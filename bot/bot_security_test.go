package bot_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"herald/bot"

	"github.com/golang-jwt/jwt/v5"

	"herald"
	"herald/api"
)

// untouched fails the test if the store recorded anything or queued work.
func (lb *localBot) untouched(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := lb.store.TenantGet(ctx, "tenant-1"); !errors.Is(err, herald.ErrNotFound) {
		t.Errorf("tenant recorded by a refused request (err %v)", err)
	}
	if us, err := lb.store.UserList(ctx, herald.UserListParams{}); err != nil || len(us) != 0 {
		t.Errorf("users recorded by a refused request: %d, %v", len(us), err)
	}
	if jobs := lb.jobs.take(); len(jobs) != 0 {
		t.Errorf("background work queued by a refused request: %d jobs", len(jobs))
	}
}

func TestEndpointRefusals(t *testing.T) {
	t.Parallel()
	big := append(messageJSON("29:u", "x"), bytes.Repeat([]byte(" "), 300<<10)...)
	tests := []struct {
		name   string
		method string
		auth   func(lb *localBot) string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"no token", "POST", func(*localBot) string { return "" }, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"not bearer", "POST", func(*localBot) string { return "Basic abc" }, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"garbage token", "POST", func(*localBot) string { return "Bearer abc.def.ghi" }, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"wrong audience", "POST", func(lb *localBot) string {
			return lb.keys.token(t, testServiceURL, jwt.MapClaims{"aud": "someone-else"})
		}, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"serviceurl mismatch", "POST", func(lb *localBot) string {
			return lb.keys.token(t, "https://evil.example.com/", nil)
		}, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"expired", "POST", func(lb *localBot) string {
			return lb.keys.token(t, testServiceURL, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})
		}, messageJSON("29:u", "hi"), 401, "unauthorized", "Authorization"},
		{"malformed json", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) },
			[]byte(`{"type":"message",`), 400, "malformed_activity", ""},
		{"wrong field type", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) },
			[]byte(`{"type":"message","text":5,"serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1"}}`), 400, "malformed_activity", "text"},
		{"no type", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) },
			[]byte(`{"serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1"}}`), 400, "malformed_activity", "type"},
		{"no conversation", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) },
			[]byte(`{"type":"message","serviceUrl":"` + testServiceURL + `"}`), 400, "malformed_activity", "conversation.id"},
		{"oversized", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) }, big, 413, "body_too_large", ""},
		{"get", "GET", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) }, nil, 405, "method_not_allowed", ""},
		// A signed Web Chat activity posing as a Teams user saying "stop".
		{"webchat channel", "POST", func(lb *localBot) string { return lb.keys.token(t, testServiceURL, nil) },
			bytes.Replace(messageJSON("29:u", "stop"), []byte(`"channelId":"msteams"`), []byte(`"channelId":"webchat"`), 1),
			403, "channel_not_allowed", "channelId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t)
			req, _ := http.NewRequest(tt.method, lb.srv.URL, bytes.NewReader(tt.body))
			if a := tt.auth(lb); a != "" {
				req.Header.Set("Authorization", a)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := decodeError(t, resp)
			if resp.StatusCode != tt.status || body.Error.Code != tt.code || body.Error.Field != tt.field {
				t.Fatalf("got %d %+v, want %d %s field %q", resp.StatusCode, body.Error, tt.status, tt.code, tt.field)
			}
			if body.Error.Message == "" {
				t.Error("error without a message")
			}
			lb.untouched(t)
		})
	}
}

func TestEndpointMetadataFailureIs503(t *testing.T) {
	t.Parallel()
	lb := newLocalBot(t)
	lb.keys.failing.Store(true)
	resp, _ := post(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), messageJSON("29:u", "hi"))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	lb.untouched(t)
	lb.keys.failing.Store(false)
	resp, _ = post(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), messageJSON("29:u", "hi"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after recovery: status %d, want 200", resp.StatusCode)
	}
}

func TestEndpointRecordsVerifiedMessage(t *testing.T) {
	t.Parallel()
	lb := newLocalBot(t)
	var seen []string
	lb.bot.OnMessage(func(ctx context.Context, turn *bot.Turn) error {
		seen = append(seen, turn.Activity.Text)
		return nil
	})
	resp, _ := post(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), messageJSON("29:alice", "hello <at>Herald</at>"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ctx := context.Background()
	u, err := lb.store.UserGet(ctx, "29:alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.ConversationID != "a:conv-29:alice" || u.ServiceURL != testServiceURL || u.Locale != "en-GB" ||
		u.TimeZone != "Europe/London" || u.TenantID != "tenant-1" || u.AADObjectID != "aad-29:alice" || u.LastSeen.IsZero() {
		t.Fatalf("user = %+v", u)
	}
	c, err := lb.store.ConversationGet(ctx, "a:conv-29:alice")
	if err != nil || c.ServiceURL != testServiceURL || c.UserID != "29:alice" || c.Type != "personal" {
		t.Fatalf("conversation = %+v, %v", c, err)
	}
	if strings.Join(seen, "|") != "hello <at>Herald</at>" {
		t.Fatalf("OnMessage saw %q", seen)
	}
}

// decodeError reads the error body of a refusal, the HTTP API's.
func decodeError(t *testing.T, resp *http.Response) api.ErrorBody {
	t.Helper()
	var e api.ErrorBody
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error content type %q", ct)
	}
	if err := jsonDecode(resp, &e); err != nil || e.Error == nil {
		t.Fatalf("error body: %+v, %v", e, err)
	}
	return e
}

// TestEndpointErrorBody pins the bytes of a refusal's body.
func TestEndpointErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		auth   string
		want   string
	}{
		{"with a field", http.MethodPost, "", `{"error":{"code":"unauthorized","message":"missing bearer token","field":"Authorization"}}` + "\n"},
		{"without a field", http.MethodGet, "Bearer x", `{"error":{"code":"method_not_allowed","message":"use POST"}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t)
			req, _ := http.NewRequest(tt.method, lb.srv.URL, bytes.NewReader(messageJSON("29:u", "hi")))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.want || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("body %q (nosniff %q), want %q", body, resp.Header.Get("X-Content-Type-Options"), tt.want)
			}
		})
	}
}
