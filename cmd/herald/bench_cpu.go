package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is the CPU time spent during a measured run: by this process, and
// by everything else on the machine (for the benchmarks: the database
// server). Other is zero where the machine's total cannot be read.
type cpuUse struct {
	Process float64 `json:"process_s"`
	Other   float64 `json:"other_s"`
}

// cpuMeter measures a cpuUse from its start to its stop.
type cpuMeter struct {
	proc, total time.Duration
}

func startCPU() cpuMeter { return cpuMeter{proc: processCPU(), total: machineCPU()} }

func (m cpuMeter) stop() cpuUse {
	proc := processCPU() - m.proc
	u := cpuUse{Process: proc.Seconds()}
	if total := machineCPU(); total > 0 && m.total > 0 {
		u.Other = max(0, (total - m.total - proc).Seconds())
	}
	return u
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the busy time of all CPUs since boot, from /proc/stat
// (0 where it cannot be read).
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // steal and guests are not this machine's work
			break
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	// /proc/stat counts in USER_HZ, 100 per second on Linux.
	return time.Duration(busy) * 10 * time.Millisecond
}
