package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// engineBenchResult is what `herald bench engine --json` prints.
type engineBenchResult struct {
	SQLite   *throughputResult `json:"sqlite,omitempty"`
	Postgres *throughputResult `json:"postgres,omitempty"`
	Pacing   *pacingResult     `json:"pacing,omitempty"`
	Memory   *memoryResult     `json:"memory,omitempty"`
	Cores    int               `json:"cores"`
}

// throughputResult is part (a): deliveries per second against an
// unlimited emulator, beside a plain loop making the same calls.
type throughputResult struct {
	PerS         float64 `json:"per_s"`
	BaselinePerS float64 `json:"baseline_per_s"`
	Ratio        float64 `json:"ratio"`
	Seconds      float64 `json:"seconds"`
	BaselineS    float64 `json:"baseline_seconds"`
	Recipients   int     `json:"recipients"`
	Tenants      int     `json:"tenants"`
	Concurrency  int     `json:"concurrency"`
	Delivered    int     `json:"delivered"`
	// CPU seconds used during each run: by this process (emulator and
	// engine or loop), and by the rest of the machine (the database).
	CPU         cpuUse `json:"cpu"`
	BaselineCPU cpuUse `json:"baseline_cpu"`
	// FirstS and LastS are when the first and the last delivery were
	// recorded delivered, in seconds from the send.
	FirstS float64 `json:"first_delivered_s"`
	LastS  float64 `json:"last_delivered_s"`
}

// pacingResult is part (b): Teams' limits on, one tenant and one channel.
type pacingResult struct {
	TenantS          float64 `json:"tenant_s"`
	TenantMinS       float64 `json:"tenant_min_s"`
	TenantRecipients int     `json:"tenant_recipients"`
	ChannelS         float64 `json:"channel_s"`
	ChannelMinS      float64 `json:"channel_min_s"`
	ChannelPosts     int     `json:"channel_posts"`
	Throttled        int64   `json:"throttled"`
}

// memoryResult is part (c): peak resident memory of a process delivering
// one notification to many recipients.
type memoryResult struct {
	Recipients int     `json:"recipients"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	Seconds    float64 `json:"seconds"`
	Delivered  int     `json:"delivered"`
	// PeakHeapMB and PeakGoSysMB are the Go runtime's view: heap in use
	// and memory obtained from the system.
	PeakHeapMB  float64 `json:"peak_heap_mb"`
	PeakGoSysMB float64 `json:"peak_go_sys_mb"`
}

type engineBenchFlags struct {
	asJSON           bool
	postgres         string
	recipients       int
	tenants          int
	concurrency      int
	pacingRecipients int
	channelPosts     int
	memoryRecipients int
	parts            string
	stores           string
	throughputPacing bool
	cpuProfile       string
	// memory child mode (internal)
	child, childStore, childEmulator string
}

// benchEngineUsage introduces the flags of `herald bench engine`.
const benchEngineUsage = `Usage: herald bench engine [flags]

Measures the delivery engine against an in-process emulator:
  throughput  deliveries/s with the emulator's limits off, on SQLite and on
              PostgreSQL (--postgres), beside a plain loop making the same
              calls with the same concurrency and no persistence;
  pacing      with Teams' limits on: one tenant's recipients against the
              50/s minimum, and posts into one channel against the
              per-conversation minimum, counting 429s;
  memory      peak resident memory of a separate process delivering one
              notification to --memory-recipients users.

Flags:`

// parseBenchEngineFlags parses the flags of `herald bench engine`.
func parseBenchEngineFlags(args []string, e *env) (engineBenchFlags, error) {
	var f engineBenchFlags
	fs := flag.NewFlagSet("bench engine", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fs.StringVar(&f.postgres, "postgres", e.getenv("HERALD_TEST_POSTGRES_URL"), "PostgreSQL database to measure (a fresh schema is used and dropped); empty skips PostgreSQL")
	fs.IntVar(&f.recipients, "recipients", 100_000, "recipients of the throughput run")
	fs.IntVar(&f.tenants, "tenants", 200, "tenants of the throughput run")
	fs.IntVar(&f.concurrency, "concurrency", 64, "calls in flight, for the engine and the baseline")
	fs.IntVar(&f.pacingRecipients, "pacing-recipients", 3000, "recipients in one tenant for the pacing run")
	fs.IntVar(&f.channelPosts, "channel-posts", 200, "posts into one channel for the pacing run")
	fs.IntVar(&f.memoryRecipients, "memory-recipients", 1_000_000, "recipients of the memory run")
	fs.BoolVar(&f.throughputPacing, "throughput-pacing", false, "apply Herald's pacing in the throughput part too (the emulator's limits are off there, and the baseline does not pace)")
	fs.StringVar(&f.parts, "parts", "throughput,pacing,memory", "parts to run")
	fs.StringVar(&f.stores, "stores", "sqlite,postgres", "stores of the throughput part (postgres needs --postgres)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the throughput part's engine run to this file")
	fs.StringVar(&f.child, "memory-child", "", "internal: run the memory part's engine with this many recipients")
	fs.StringVar(&f.childStore, "child-store", "", "internal")
	fs.StringVar(&f.childEmulator, "child-emulator", "", "internal")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, benchEngineUsage)
		fs.PrintDefaults()
	}
	return f, fs.Parse(args)
}

// benchEngineSet splits a comma-separated list of names into a set,
// refusing a name that is not allowed.
func benchEngineSet(list, what string, allowed ...string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allowed, name) {
			return nil, usageError{fmt.Sprintf("bench engine: unknown %s %q", what, name)}
		}
		set[name] = true
	}
	return set, nil
}

func runBenchEngine(ctx context.Context, args []string, e *env) error {
	f, err := parseBenchEngineFlags(args, e)
	if err != nil {
		return err
	}
	if f.child != "" {
		return runMemoryChild(ctx, f, e)
	}
	if f.recipients < 1 || f.tenants < 1 || f.concurrency < 1 || f.pacingRecipients < 1 || f.channelPosts < 1 || f.memoryRecipients < 1 {
		return usageError{"bench engine: counts must be positive"}
	}
	want, err := benchEngineSet(f.parts, "part", "throughput", "pacing", "memory")
	if err != nil {
		return err
	}
	stores, err := benchEngineSet(f.stores, "store", "sqlite", "postgres")
	if err != nil {
		return err
	}
	res, err := runEngineParts(ctx, f, want, stores, e.stderr)
	if err != nil {
		return err
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	printEngineBench(e.stdout, res)
	return nil
}

// runEngineParts runs the wanted parts, the throughput part on the wanted
// stores, reporting progress as it goes.
func runEngineParts(ctx context.Context, f engineBenchFlags, want, stores map[string]bool, progress io.Writer) (engineBenchResult, error) {
	res := engineBenchResult{Cores: runtime.NumCPU()}
	if want["throughput"] {
		if stores["sqlite"] {
			r, err := benchThroughput(ctx, "sqlite:"+filepath.Join(os.TempDir(), fmt.Sprintf("herald-bench-%d.db", os.Getpid())), f, progress)
			if err != nil {
				return res, fmt.Errorf("throughput on sqlite: %w", err)
			}
			res.SQLite = r
		}
		if f.postgres != "" && stores["postgres"] {
			r, err := benchThroughput(ctx, f.postgres, f, progress)
			if err != nil {
				return res, fmt.Errorf("throughput on postgres: %w", err)
			}
			res.Postgres = r
		}
	}
	if want["pacing"] {
		r, err := benchPacing(ctx, f, progress)
		if err != nil {
			return res, fmt.Errorf("pacing: %w", err)
		}
		res.Pacing = r
	}
	if want["memory"] {
		r, err := benchMemory(ctx, f, progress)
		if err != nil {
			return res, fmt.Errorf("memory: %w", err)
		}
		res.Memory = r
	}
	return res, nil
}

func printEngineBench(w io.Writer, r engineBenchResult) {
	for name, t := range map[string]*throughputResult{"sqlite": r.SQLite, "postgres": r.Postgres} {
		if t != nil {
			fmt.Fprintf(w, "throughput %-8s %8.0f deliveries/s, baseline %8.0f/s, ratio %.2f (%d recipients, %d tenants, %d in flight)\n",
				name, t.PerS, t.BaselinePerS, t.Ratio, t.Recipients, t.Tenants, t.Concurrency)
		}
	}
	if p := r.Pacing; p != nil {
		fmt.Fprintf(w, "pacing     tenant  %.1f s for %d recipients (minimum %.1f s, ratio %.3f)\n", p.TenantS, p.TenantRecipients, p.TenantMinS, p.TenantS/p.TenantMinS)
		fmt.Fprintf(w, "pacing     channel %.1f s for %d posts (minimum %.1f s, ratio %.3f), %d throttled\n", p.ChannelS, p.ChannelPosts, p.ChannelMinS, p.ChannelS/p.ChannelMinS, p.Throttled)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "memory     %.0f MB peak RSS for %d recipients (%.0f s)\n", m.PeakRSSMB, m.Recipients, m.Seconds)
	}
	fmt.Fprintf(w, "on %d cores\n", r.Cores)
}
