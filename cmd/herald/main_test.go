package main

import (
	"bytes"
	"context"
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
