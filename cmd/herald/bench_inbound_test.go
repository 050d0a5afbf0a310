package main

import (
	"encoding/json"
	"testing"
)

func TestBenchInboundJSON(t *testing.T) {
	t.Parallel()
	out, err := runCmd(t, "bench", "inbound", "--parts", "throughput", "--json", "--duration", "300ms", "--users", "20", "--concurrency", "4")
	if err != nil {
		t.Fatalf("bench inbound: %v\n%s", err, out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"activities_per_s", "p50_ms", "p99_ms", "cores"} {
		v, ok := res[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, res[k])
		}
	}
	if res["errors"].(float64) != 0 {
		t.Errorf("errors = %v", res["errors"])
	}
	if res["p99_ms"].(float64) < res["p50_ms"].(float64) {
		t.Errorf("p99 %v below p50 %v", res["p99_ms"], res["p50_ms"])
	}
	if _, ok := res["installs"]; ok {
		t.Errorf("installs part ran with --parts throughput")
	}
}

func TestBenchInboundFlags(t *testing.T) {
	t.Parallel()
	if _, err := runCmd(t, "bench", "inbound", "--concurrency", "0"); err == nil {
		t.Fatal("zero concurrency accepted")
	}
}
