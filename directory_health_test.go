package herald_test

import (
	"errors"
	"testing"

	"herald"
)

func TestParseHealthProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want herald.HealthProblem
		ok   bool
	}{
		{"blocked", herald.ProblemBlocked, true},
		{"uninstalled", herald.ProblemUninstalled, true},
		{"stale", herald.ProblemStale, true},
		{"missingEmail", herald.ProblemMissingEmail, true},
		{"missingemail", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := herald.ParseHealthProblem(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Fatalf("ParseHealthProblem(%q) = %q, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, herald.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
	if n := len(herald.HealthProblems()); n != 4 {
		t.Fatalf("%d problem classes", n)
	}
}

func TestHealthCountsAdd(t *testing.T) {
	t.Parallel()
	c := herald.HealthCounts{Users: 3, Reachable: 1, Blocked: 1, Uninstalled: 1, Stale: 2, MissingEmail: 1}
	c.Add(herald.HealthCounts{Users: 2, Reachable: 2, Stale: 1})
	want := herald.HealthCounts{Users: 5, Reachable: 3, Blocked: 1, Uninstalled: 1, Stale: 3, MissingEmail: 1}
	if c != want {
		t.Fatalf("sum = %+v, want %+v", c, want)
	}
}
