package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"herald"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
)

// benchThroughput measures part (a) on one store.
func benchThroughput(ctx context.Context, dsn string, f engineBenchFlags, progress io.Writer) (*throughputResult, error) {
	w, err := newBenchWorld(emulator.Limits{Disabled: true}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	per := max(1, f.recipients/f.tenants)
	tenants, users, err := w.addUsers(ctx, "", f.tenants, per)
	if err != nil {
		return nil, err
	}
	st, cleanup, err := openBenchStore(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := fillDirectory(ctx, st, w.emu.ServiceURL(), tenants, users); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "throughput %s: %d recipients in %d tenants ready\n", st.Dialect(), len(users), len(tenants))

	meter := startCPU()
	baseline, err := runBaseline(ctx, w, users, f.concurrency)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	baselineCPU := meter.stop()
	fmt.Fprintf(progress, "throughput %s: baseline %.0f/s\n", st.Dialect(), float64(len(users))/baseline.Seconds())

	eng, err := newBenchEngine(st, w, engine.Limits{Disabled: !f.throughputPacing}, f.concurrency, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	profile := ""
	if f.cpuProfile != "" {
		profile = f.cpuProfile + "." + st.Dialect()
	}
	stopProfile, err := startProfile(profile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	meter = startCPU()
	sent := time.Now()
	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: tenants}, Content: benchContent})
	engineCPU := meter.stop()
	stopProfile()
	if err != nil {
		return nil, err
	}
	if n.Counts.Delivered != len(users) {
		return nil, fmt.Errorf("delivered %d of %d (%+v)", n.Counts.Delivered, len(users), n.Counts)
	}
	r := &throughputResult{
		PerS: float64(len(users)) / took.Seconds(), BaselinePerS: float64(len(users)) / baseline.Seconds(),
		Seconds: took.Seconds(), BaselineS: baseline.Seconds(), Recipients: len(users), Tenants: len(tenants),
		Concurrency: f.concurrency, Delivered: n.Counts.Delivered, CPU: engineCPU, BaselineCPU: baselineCPU,
	}
	r.Ratio = r.PerS / r.BaselinePerS
	var first, last int64
	if err := st.DB().QueryRowContext(ctx, `SELECT min(delivered_at), max(delivered_at) FROM deliveries WHERE notification_id = $1`, n.ID).Scan(&first, &last); err != nil {
		return nil, err
	}
	r.FirstS, r.LastS = time.UnixMicro(first).Sub(sent).Seconds(), time.UnixMicro(last).Sub(sent).Seconds()
	fmt.Fprintf(progress, "throughput %s: engine %.0f/s (ratio %.2f; first delivery at %.2f s, last at %.2f s of %.2f s); CPU s: baseline %.1f here + %.1f elsewhere, engine %.1f here + %.1f elsewhere\n",
		st.Dialect(), r.PerS, r.Ratio, r.FirstS, r.LastS, r.Seconds, baselineCPU.Process, baselineCPU.Other, engineCPU.Process, engineCPU.Other)
	return r, nil
}

// runBaseline sends the same message to every user with a plain loop of
// concurrency goroutines: no persistence, no pacing, no retries.
func runBaseline(ctx context.Context, w *benchWorld, users []benchUser, concurrency int) (time.Duration, error) {
	cl := w.conn.Client(w.emu.ServiceURL())
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				a := &botframework.Activity{Type: botframework.TypeMessage, Text: benchContent.Text, TextFormat: botframework.TextFormatMarkdown}
				if _, err := cl.SendToConversation(ctx, users[i].conv, a); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		return took, fmt.Errorf("%d sends failed", n)
	}
	return took, nil
}
