package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// benchmark is one `herald bench <name>` target.
type benchmark struct {
	summary string
	run     func(ctx context.Context, args []string, e *env) error
}

// benchmarks lists the targets of `herald bench`; each lives in its own file.
func benchmarks() map[string]benchmark {
	return map[string]benchmark{
		"inbound": {"verified activities per second through the bot endpoint; welcomes of an install burst", runBenchInbound},
		"engine":  {"delivery throughput, pacing and memory of the engine", runBenchEngine},
	}
}

func runBench(ctx context.Context, args []string, e *env) error {
	all := benchmarks()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "Usage: herald bench <target> [flags]\n\nTargets:")
		for _, n := range names {
			fmt.Fprintf(e.stdout, "  %-10s %s\n", n, all[n].summary)
		}
		return nil
	}
	b, ok := all[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown benchmark %q (one of: %s)", args[0], strings.Join(names, ", "))}
	}
	return b.run(ctx, args[1:], e)
}
