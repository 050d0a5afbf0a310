package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/emulator"
	"herald/engine"
	"herald/sqlstore"
)

// benchMemory measures part (c): it prepares the directory, then runs the
// engine in a child process and reads the child's peak resident memory.
func benchMemory(ctx context.Context, f engineBenchFlags, progress io.Writer) (*memoryResult, error) {
	w, err := newBenchWorld(emulator.Limits{Disabled: true}, f.concurrency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	seed, err := w.emu.SeedUsers(f.memoryRecipients)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-memory-%d.db", os.Getpid()))
	st, cleanup, err := openBenchStore(ctx, "sqlite:"+path)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := st.TenantUpsert(ctx, herald.Tenant{ID: seed.TenantID, ServiceURL: w.emu.ServiceURL()}); err != nil {
		return nil, err
	}
	users := make([]benchUser, 0, 1024)
	flush := func() error {
		err := fillDirectory(ctx, st, w.emu.ServiceURL(), nil, users)
		users = users[:0]
		return err
	}
	for i := 1; i <= f.memoryRecipients; i++ {
		u, err := w.emu.User(fmt.Sprintf("user%d@fabrikam.com", i))
		if err != nil {
			return nil, err
		}
		users = append(users, benchUser{id: u.ID, tenant: seed.TenantID, name: u.Name})
		if len(users) == cap(users) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if i%100_000 == 0 {
			fmt.Fprintf(progress, "memory: %d users in the directory\n", i)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "engine", "--memory-child", fmt.Sprint(f.memoryRecipients),
		"--child-store", "sqlite:"+path, "--child-emulator", w.base, "--concurrency", fmt.Sprint(f.concurrency))
	cmd.Stderr = progress
	st.Close()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("memory child: %w", err)
	}
	var r memoryResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("memory child output %q: %w", out, err)
	}
	// The child reads its own high-water mark. The wait status's maxrss
	// is no use here: Linux starts a child's count at its parent's peak
	// (the parent's memory is the child's until exec), and this parent
	// holds the emulator with every user.
	if r.PeakRSSMB == 0 {
		return nil, errors.New("memory child: peak resident memory unknown (no /proc/self/status)")
	}
	fmt.Fprintf(progress, "memory: %.0f MB peak RSS (Go heap %.0f MB, Go total %.0f MB) for %d recipients in %.0f s\n", r.PeakRSSMB, r.PeakHeapMB, r.PeakGoSysMB, r.Recipients, r.Seconds)
	return &r, nil
}

// runMemoryChild is the child of the memory part: it delivers one
// notification to every user of the store's one tenant and prints a
// memoryResult (without the memory, which the parent measures).
func runMemoryChild(ctx context.Context, f engineBenchFlags, e *env) error {
	st, err := sqlstore.Open(ctx, f.childStore, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	hc := benchHTTPClient(f.concurrency)
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: emulator.DefaultAppID, AppSecret: emulator.DefaultAppSecret, Authority: f.childEmulator, HTTPClient: hc})
	if err != nil {
		return err
	}
	host := strings.TrimPrefix(f.childEmulator, "http://")
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens, TrustedHosts: []string{host}})
	eng, err := engine.New(engine.Config{
		Store: st, Queue: st.RiverDriver(), Connector: conn,
		Bot:               botframework.ChannelAccount{ID: botframework.BotID(emulator.DefaultAppID)},
		DefaultServiceURL: f.childEmulator + "/teams/",
		// One tenant: no tenant limit, so the run takes minutes, not
		// hours; the per-conversation pacing (and its memory) stays on.
		Limits:      engine.Limits{TenantRPS: -1},
		Concurrency: f.concurrency, NodeID: "bench-memory",
	})
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Stop(context.WithoutCancel(ctx))
	// Sample the Go heap while the notification runs, to tell it apart
	// from the rest of the resident memory.
	var peakHeap, peakSys uint64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap, peakSys = max(peakHeap, ms.HeapInuse), max(peakSys, ms.Sys)
			if path := os.Getenv("HERALD_BENCH_HEAPPROFILE"); path != "" && ms.HeapInuse >= peakHeap {
				if hf, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(hf)
					hf.Close()
				}
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	n, took, err := sendAndWait(ctx, eng, herald.NotificationRequest{Audience: herald.Audience{Tenants: []string{emulator.LoadTenantID}}, Content: benchContent})
	close(stopSampling)
	<-sampled
	if err != nil {
		return err
	}
	return json.NewEncoder(e.stdout).Encode(memoryResult{Recipients: n.Counts.Total(), Seconds: took.Seconds(), Delivered: n.Counts.Delivered,
		PeakHeapMB: float64(peakHeap) / (1 << 20), PeakGoSysMB: float64(peakSys) / (1 << 20), PeakRSSMB: peakRSSMB()})
}

// peakRSSMB is this process's peak resident memory in MB, from VmHWM in
// /proc/self/status (0 where it cannot be read).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
