package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"herald/api"
)

func TestDirectoryHealthQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    api.HealthQuery
		want string
	}{
		{"defaults", api.HealthQuery{}, ""},
		{"everything", api.HealthQuery{Tenant: "t1", Team: "R&D", StaleDays: 7, Problem: "stale", Page: api.Page{Cursor: "29:a", Limit: 5}},
			"cursor=29%3Aa&limit=5&problem=stale&staleDays=7&team=R%26D&tenant=t1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/directory/health" {
					t.Errorf("path %s", r.URL.Path)
				}
				got <- r.URL.Query().Encode()
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"staleDays":7,"totals":{"users":3,"blocked":1},"lists":{"blocked":{"users":[{"id":"29:b"}],"more":true,"next":"29:b"}}}`))
			}))
			defer srv.Close()
			cl, err := api.NewClient(srv.URL, api.ClientOptions{APIKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			h, err := cl.DirectoryHealth(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if q := <-got; q != tt.want {
				t.Errorf("query = %q, want %q", q, tt.want)
			}
			if l := h.Lists["blocked"]; h.Totals.Users != 3 || h.Totals.Blocked != 1 || !l.More || l.Users[0].ID != "29:b" {
				t.Errorf("decoded %+v", h)
			}
		})
	}
}
