package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return out.String() + errb.String(), err
}

func TestRunHelpAndUnknown(t *testing.T) {
	t.Parallel()
	out, err := runCmd(t, "help")
	if err != nil || !strings.Contains(out, "version") {
		t.Fatalf("help: err=%v out=%q", err, out)
	}
	if _, err := runCmd(t, "no-such-command"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: err=%v", err)
	}
	out, err = runCmd(t, "version")
	if err != nil || !strings.HasPrefix(out, "herald ") {
		t.Fatalf("version: err=%v out=%q", err, out)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"help", flag.ErrHelp, 0},
		{"usage", usageError{"send: --to: bad"}, 2},
		{"wrapped usage", fmt.Errorf("x: %w", usageError{"bad"}), 2},
		{"other", errors.New("herald refused the request"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}
