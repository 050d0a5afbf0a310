package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkEngineThroughput is part (a) of `herald bench engine` at a
// smaller size: deliveries per second on each store against the unlimited
// emulator, beside the plain-loop baseline. PostgreSQL runs when
// HERALD_TEST_POSTGRES_URL is set.
func BenchmarkEngineThroughput(b *testing.B) {
	f := engineBenchFlags{recipients: 5000, tenants: 50, concurrency: 64}
	stores := map[string]string{"sqlite": "sqlite:" + filepath.Join(b.TempDir(), "bench.db")}
	if url := os.Getenv("HERALD_TEST_POSTGRES_URL"); url != "" {
		stores["postgres"] = url
	}
	for name, dsn := range stores {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r, err := benchThroughput(context.Background(), dsn, f, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.PerS, "deliveries/s")
				b.ReportMetric(r.BaselinePerS, "baseline/s")
				b.ReportMetric(r.Ratio, "ratio")
			}
		})
	}
}

// BenchmarkEnginePacing is part (b) at a smaller size: one tenant's
// recipients and posts into one channel with Teams' limits on, as a
// multiple of the theoretical minimum, and the 429s seen.
func BenchmarkEnginePacing(b *testing.B) {
	f := engineBenchFlags{pacingRecipients: 300, channelPosts: 30, concurrency: 64}
	for b.Loop() {
		r, err := benchPacing(context.Background(), f, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TenantS/r.TenantMinS, "tenant-x-min")
		b.ReportMetric(r.ChannelS/r.ChannelMinS, "channel-x-min")
		b.ReportMetric(float64(r.Throttled), "429s")
	}
}

func TestBenchEngineFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero count", []string{"--recipients", "0"}, "counts must be positive"},
		{"unknown part", []string{"--parts", "throughput,speed"}, `unknown part "speed"`},
		{"unknown store", []string{"--stores", "sqlite,mysql"}, `unknown store "mysql"`},
		{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := runCmd(t, append([]string{"bench", "engine"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("bench engine %v: err = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestBenchEngineSmallRun(t *testing.T) {
	t.Parallel()
	out, err := runCmd(t, "bench", "engine", "--json", "--parts", "throughput,pacing", "--stores", "sqlite",
		"--recipients", "40", "--tenants", "2", "--concurrency", "4", "--pacing-recipients", "10", "--channel-posts", "3")
	if err != nil {
		t.Fatalf("bench engine: %v\n%s", err, out)
	}
	// The JSON object comes first, the progress on stderr after it.
	var res engineBenchResult
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&res); err != nil {
		t.Fatalf("output does not start with one JSON object: %v\n%s", err, out)
	}
	if res.SQLite == nil || res.SQLite.Delivered != 40 || res.Postgres != nil || res.Memory != nil {
		t.Fatalf("throughput parts = sqlite %+v, postgres %+v, memory %+v", res.SQLite, res.Postgres, res.Memory)
	}
	if p := res.Pacing; p == nil || p.TenantRecipients != 10 || p.ChannelPosts != 3 {
		t.Fatalf("pacing part = %+v", res.Pacing)
	}
}
