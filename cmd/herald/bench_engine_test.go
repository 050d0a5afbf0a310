package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
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
