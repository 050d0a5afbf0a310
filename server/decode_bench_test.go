package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"herald/api"
)

// BenchmarkDecodeLargeAudience decodes a request naming 100,000 users,
// the most an audience may hold: the strict walk's cost beside the decode.
func BenchmarkDecodeLargeAudience(b *testing.B) {
	users := make([]string, 100_000)
	for i := range users {
		users[i] = fmt.Sprintf("user%d@contoso.com", i)
	}
	body, err := json.Marshal(map[string]any{"audience": map[string]any{"users": users}, "content": map[string]any{"text": "x"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decodeJSON", func(b *testing.B) {
		for b.Loop() {
			var v api.NotificationRequest
			if err := decodeJSON(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var v api.NotificationRequest
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
