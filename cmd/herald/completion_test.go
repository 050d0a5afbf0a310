package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if err := run(context.Background(), []string{"completion", shell}, e); err != nil {
		t.Fatalf("completion %s: %v (%s)", shell, err, errb.String())
	}
	return out.String()
}

func TestCompletionSpec(t *testing.T) {
	t.Parallel()
	spec := completionSpec(context.Background())
	byName := map[string]complCmd{}
	for _, c := range spec {
		byName[c.name] = c
	}
	for name := range commands() {
		if _, ok := byName[name]; !ok {
			t.Errorf("command %s missing from the completion", name)
		}
	}
	send := byName["send"]
	var to, wait complFlag
	for _, f := range send.flags {
		switch f.name {
		case "to":
			to = f
		case "wait":
			wait = f
		}
	}
	if !to.value || to.usage == "" || wait.value || wait.name == "" {
		t.Errorf("send flags: to=%+v wait=%+v", to, wait)
	}
	var subs []string
	for _, s := range byName["notifications"].subs {
		subs = append(subs, s.name)
		if s.name == "export" && !strings.Contains(flagWords(s.flags), "--out") {
			t.Errorf("export flags = %s", flagWords(s.flags))
		}
	}
	if strings.Join(subs, " ") != "cancel export ls retry show" {
		t.Errorf("notifications subcommands = %v", subs)
	}
}

// TestCompletionBash runs the bash script in bash and asks it to
// complete partial command lines.
func TestCompletionBash(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := filepath.Join(t.TempDir(), "herald.bash")
	if err := os.WriteFile(script, []byte(completionScript(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words string
		cword int
		want  string
	}{
		{"herald no", 1, "notifications"},
		{"herald s", 1, "send serve"},
		{"herald notifications e", 2, "export"},
		{"herald notifications export n_1 --o", 4, "--out"},
		{"herald send --t", 2, "--text --title --to --topic"},
		{"herald directory users --te", 3, "--team --tenant"},
		{"herald completion ", 2, "bash fish zsh"},
	}
	for _, tt := range tests {
		words := strings.Fields(tt.words)
		if strings.HasSuffix(tt.words, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + script + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			string(rune('0'+tt.cword)) + `; _herald; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v: %s", tt.words, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("%q completes to %q, want %q", tt.words, got, tt.want)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	zsh := completionScript(t, "zsh")
	for _, want := range []string{"#compdef herald", "compadd -- bench completion demo directory", "export) opts=(--api-key --out --reason --state --url)", "compdef _herald herald"} {
		if !strings.Contains(zsh, want) {
			t.Errorf("zsh script lacks %q", want)
		}
	}
	fish := completionScript(t, "fish")
	for _, want := range []string{
		`complete -c herald -f -n __fish_use_subcommand -a send -d 'send a notification through Herald\'s API'`,
		"complete -c herald -n '__fish_seen_subcommand_from send' -l to -r -d",
		"complete -c herald -n '__fish_seen_subcommand_from send' -l wait -d",
		"-a ls -d 'list notifications, newest first'",
		"-n '__fish_seen_subcommand_from notifications; and __fish_seen_subcommand_from export' -l out -r",
	} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish script lacks %q", want)
		}
	}
	for _, sh := range []string{"zsh", "fish"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		flag := "-n"
		if sh == "fish" {
			flag = "--no-execute"
		}
		cmd := exec.Command(path, flag)
		cmd.Stdin = strings.NewReader(map[string]string{"zsh": zsh, "fish": fish}[sh])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s rejects its script: %v: %s", sh, err, out)
		}
	}
	var errb bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(string) string { return "" }}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "extra"}} {
		if err := run(context.Background(), args, e); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
}
