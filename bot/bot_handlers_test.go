package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"herald/bot"

	"herald"
)

func activityJSON(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	a := map[string]any{"channelId": "msteams", "serviceUrl": testServiceURL, "id": "act-1",
		"from":         map[string]any{"id": "29:h", "name": "Hal"},
		"recipient":    map[string]any{"id": "28:" + testAppID},
		"conversation": map[string]any{"id": "a:h", "conversationType": "personal", "tenantId": "tenant-1"}}
	for k, v := range fields {
		a[k] = v
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		activity map[string]any
		register func(b *bot.Bot, seen *[]string)
		status   int
		body     string
		seen     string
	}{
		{"invoke with response", map[string]any{"type": "invoke", "name": "composeExtension/query", "value": map[string]any{"x": 1}},
			func(b *bot.Bot, seen *[]string) {
				b.OnCardAction(func(_ context.Context, turn *bot.Turn) error {
					var v struct{ X int }
					if err := turn.DecodeValue(&v); err != nil {
						return err
					}
					*seen = append(*seen, "card")
					turn.SetInvokeResponse(http.StatusOK, map[string]any{"statusCode": 200, "value": v.X})
					return nil
				})
			}, 200, `{"statusCode":200,"value":1}`, "card"},
		{"invoke without handler", map[string]any{"type": "invoke", "name": "x"},
			func(*bot.Bot, *[]string) {}, 200, `{}`, ""},
		{"Action.Execute without handler", map[string]any{"type": "invoke", "name": "adaptiveCard/action",
			"value": map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "ack"}}},
			func(b *bot.Bot, seen *[]string) {
				b.OnCardAction(func(context.Context, *bot.Turn) error { *seen = append(*seen, "card"); return nil })
			}, 200, `{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"UnknownVerb"`, "card"},
		{"foreign card submit", map[string]any{"type": "message", "value": map[string]any{"ticket": 7}},
			func(b *bot.Bot, seen *[]string) {
				b.OnCardAction(func(context.Context, *bot.Turn) error { *seen = append(*seen, "card"); return nil })
				b.OnMessage(func(context.Context, *bot.Turn) error { *seen = append(*seen, "message"); return nil })
			}, 200, "", "card"},
		{"event", map[string]any{"type": "event", "name": "application/vnd.microsoft.readReceipt"},
			func(b *bot.Bot, seen *[]string) {
				b.OnEvent(func(_ context.Context, turn *bot.Turn) error {
					*seen = append(*seen, turn.Activity.Name)
					return nil
				})
			}, 200, "", "application/vnd.microsoft.readReceipt"},
		{"message to handlers in order", map[string]any{"type": "message", "text": "deploy prod"},
			func(b *bot.Bot, seen *[]string) {
				b.OnMessage(func(context.Context, *bot.Turn) error { *seen = append(*seen, "first"); return nil })
				b.OnMessage(func(context.Context, *bot.Turn) error { *seen = append(*seen, "second"); return nil })
			}, 200, "", "first,second"},
		{"commands before handlers", map[string]any{"type": "message", "text": "help"},
			func(b *bot.Bot, seen *[]string) {
				b.OnMessage(func(context.Context, *bot.Turn) error { *seen = append(*seen, "message"); return nil })
			}, 200, "", ""},
		{"handler error is 500", map[string]any{"type": "message", "text": "boom"},
			func(b *bot.Bot, seen *[]string) {
				b.OnMessage(func(context.Context, *bot.Turn) error { return errors.New("boom") })
			}, 500, `"code":"internal"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lb := newLocalBot(t)
			var seen []string
			tt.register(lb.bot, &seen)
			resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), activityJSON(t, tt.activity)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var sb strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if resp.StatusCode != tt.status || !strings.Contains(sb.String(), tt.body) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, sb.String(), tt.status, tt.body)
			}
			if got := strings.Join(seen, ","); got != tt.seen {
				t.Fatalf("handlers saw %q, want %q", got, tt.seen)
			}
		})
	}
}

func mustRequest(t *testing.T, url, auth string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	return req
}

func TestNewBotValidates(t *testing.T) {
	t.Parallel()
	lb := newLocalBot(t)
	tests := []struct {
		name   string
		modify func(*bot.Config)
		want   string
	}{
		{"no app id", func(c *bot.Config) { c.AppID = "" }, "AppID"},
		{"no verifier", func(c *bot.Config) { c.Verifier = nil }, "Verifier"},
		{"no connector", func(c *bot.Config) { c.Connector = nil }, "Connector"},
		{"no store", func(c *bot.Config) { c.Store = nil }, "Store"},
		{"bad topic", func(c *bot.Config) { c.Topics = []herald.Topic{{Name: "*"}} }, "Topics[0]"},
		{"bad guide", func(c *bot.Config) { c.Welcome.GuideURL = "ftp://x" }, "GuideURL"},
		{"negative body", func(c *bot.Config) { c.MaxBodyBytes = -1 }, "MaxBodyBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := lb.cfg
			tt.modify(&cfg)
			_, err := bot.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := bot.New(lb.cfg); err != nil {
		t.Fatalf("the base config: %v", err)
	}
}
