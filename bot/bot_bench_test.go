package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald/bot"
)

// BenchmarkInbound measures verified activities per second through the
// whole endpoint (token check, decode, directory write on SQLite) over
// loopback HTTP, with p50/p99 latency.
func BenchmarkInbound(b *testing.B) {
	lb := newLocalBot(b)
	lb.bot.OnMessage(func(context.Context, *bot.Turn) error { return nil })
	auth := lb.keys.token(b, testServiceURL, nil)
	const users = 1000
	bodies := make([][]byte, users)
	for i := range bodies {
		bodies[i] = messageJSON(fmt.Sprintf("29:bench-user-%04d", i), "status please")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			body := bodies[next.Add(1)%users]
			req, _ := http.NewRequest(http.MethodPost, lb.srv.URL, bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "activities/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
	}
}
