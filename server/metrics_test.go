package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, url, want string
	}{
		{"POST", "https://smba.trafficmanager.net/amer/v3/conversations", "create_conversation"},
		{"POST", "https://smba.trafficmanager.net/amer/v3/conversations/a%3A1/activities", "send"},
		{"POST", "https://x/teams/v3/conversations/19%3Ac%40thread.tacv2%3Bmessageid%3D1/activities/1", "reply"},
		{"PUT", "https://x/teams/v3/conversations/a:1/activities/5", "update"},
		{"DELETE", "https://x/teams/v3/conversations/a:1/activities/5", "delete"},
		{"GET", "https://x/teams/v3/conversations/19:t/pagedmembers?pageSize=500", "members"},
		{"GET", "https://x/teams/v3/conversations/19:t/members/29:u", "members"},
		{"GET", "https://x/teams/v3/teams/19:t", "team_details"},
		{"GET", "https://x/teams/v3/teams/19:t/conversations", "team_channels"},
		{"POST", "https://x/teams/v3/batch/conversation/users", "batch_send"},
		{"GET", "https://x/teams/v3/batch/conversation/op1", "batch_state"},
		{"DELETE", "https://x/teams/v3/batch/conversation/op1", "batch_cancel"},
		{"POST", "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token", "token"},
		{"GET", "https://x/teams/v3/conversations/a:1/activities", "other"},
		{"GET", "https://x/elsewhere", "other"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.url, nil)
		if got := operation(r); got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}

func TestTransport(t *testing.T) {
	t.Parallel()
	teams := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/activities") && r.URL.Query().Get("busy") == "1" {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer teams.Close()
	m := NewMetrics()
	hc := &http.Client{Transport: m.Transport(teams.Client().Transport)}
	for _, q := range []string{"", "?busy=1", "?busy=1"} {
		resp, err := hc.Post(teams.URL+"/teams/v3/conversations/a:1/activities"+q, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := hc.Post(closed.URL+"/teams/v3/conversations", "application/json", nil); err == nil {
		t.Fatal("post to a closed server succeeded")
	}
	out := scrape(t, m)
	for _, want := range []string{
		`herald_teams_request_duration_seconds_count{operation="send",status="201"} 1`,
		`herald_teams_request_duration_seconds_count{operation="send",status="429"} 2`,
		`herald_teams_request_duration_seconds_count{operation="create_conversation",status="error"} 1`,
		`herald_teams_throttled_total{operation="send"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if m.Transport(nil).(*transport).next != http.DefaultTransport {
		t.Error("Transport(nil) does not use the default transport")
	}
}

// scrape returns the metrics text.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p, q := b.user("Metric One"), b.user("Metric Two")
	n := b.sendJSON(fmt.Sprintf(`{"audience":{"users":[%q,%q,"ghost@nowhere.example"]},"content":{"text":"m"}}`, p.Email, q.Email))
	b.wait(n.ID)
	b.get("/v1/nothing")
	r := b.do(req{method: http.MethodGet, path: "/metrics", noAuth: true}).mustStatus(t, http.StatusOK)
	out := string(r.body)
	for _, want := range []string{
		`herald_deliveries{state="delivered"} 2`,
		`herald_deliveries{state="skipped"} 1`,
		`herald_deliveries{state="failed"} 0`,
		`herald_queue_depth 0`,
		`herald_store_up 1`,
		`herald_api_requests_total{route="POST /v1/notifications",status="202"} 1`,
		`herald_api_requests_total{route="/v1/",status="404"} 1`,
		`herald_teams_request_duration_seconds_count{operation="token",status="200"}`,
		`herald_teams_request_duration_seconds_count{operation="send",status="201"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
