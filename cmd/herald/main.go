// Command herald runs Herald: the bot endpoint and notification service
// (serve), the local Teams emulator (emulator), the demo, benchmarks and
// administrative commands. Run `herald help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what every subcommand gets: its streams and the process
// environment, injected so tests can run commands in-process.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	stdin  io.Reader // nil reads as empty
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, e *env) error
}

// commands lists every subcommand; each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"version":  {"print the version", runVersion},
		"emulator": {"run a local Teams, Bot Framework and token endpoint", runEmulator},
		"demo":     {"run the emulator and Herald together and play a scenario (start here)", runDemo},
		"bench":    {"run a benchmark (herald bench -h lists them)", runBench},
		"serve":    {"run the delivery engine and the bot endpoint", runServe},
		"migrate":  {"create or upgrade the store's tables", runMigrate},
		"keys":     {"create, list and revoke API keys (in the store)", runKeys},
		"manifest": {"write the Teams app package (manifest and icons) to upload to Teams", runManifest},

		"send":          {"send a notification through Herald's API", runSend},
		"notifications": {"list, show, cancel, retry and export notifications", runNotifications},
		"directory":     {"list the users, teams and channels the bot can reach", runDirectory},
		"topics":        {"list the topics, their default and how many people each reaches", runTopics},
		"completion":    {"print a shell completion script (bash, zsh, fish)", runCompletion},
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func runVersion(_ context.Context, _ []string, e *env) error {
	fmt.Fprintf(e.stdout, "herald %s\n", version)
	return nil
}

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(ctx context.Context, args []string, e *env) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.stdout, cmds)
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q (run 'herald help')", args[0])}
	}
	return c.run(ctx, args[1:], e)
}

func printUsage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "herald: reach people first from your Microsoft Teams bot")
	fmt.Fprintln(w, "\nUsage: herald <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'herald <command> -h' for a command's flags.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stdin: os.Stdin})
	stop()
	code := exitCode(err)
	if code == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "herald: %v\n", err)
	os.Exit(code)
}

// exitCode is the process's exit status for run's error: 0 for none (or
// -h), 2 for a mistake in how the command was called (a usageError: a
// bad flag value, an unknown target kind), 1 for anything else (the API
// refused, Herald unreachable, nobody reached).
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}
