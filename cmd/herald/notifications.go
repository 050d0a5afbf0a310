package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"herald"
	"herald/api"
)

// subcommand is one command of a group (notifications ls, directory users).
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, e *env) error
}

// runGroup dispatches a group's subcommand; -h or no command prints the
// group's usage, whose "Commands:" list the completion scripts read.
func runGroup(ctx context.Context, group string, subs map[string]subcommand, args []string, e *env) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: herald %s <command> [flags]\n\nCommands:\n", group)
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-10s %s\n", n, subs[n].summary)
		}
		fmt.Fprintf(w, "\nRun 'herald %s <command> -h' for a command's flags.\n", group)
	}
	if len(args) == 0 {
		usage(e.stderr)
		return usageError{fmt.Sprintf("%s: a command is required", group)}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("%s: unknown command %q (run 'herald %s -h')", group, args[0], group)}
	}
	return sub.run(ctx, args[1:], e)
}

// newSubFlags returns the flag set of a subcommand.
func newSubFlags(name, usage string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: herald %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// oneID parses flags and the single positional id of a subcommand.
func oneID(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError{fmt.Sprintf("%s: want exactly one %s", fs.Name(), what)}
	}
	return pos[0], nil
}

// runNotifications is `herald notifications`.
func runNotifications(ctx context.Context, args []string, e *env) error {
	return runGroup(ctx, "notifications", map[string]subcommand{
		"ls":     {"list notifications, newest first", notificationsLs},
		"show":   {"show a notification's state, counts and progress", notificationsShow},
		"cancel": {"cancel a notification's pending deliveries", notificationsCancel},
		"retry":  {"resend a notification's failed deliveries", notificationsRetry},
		"export": {"write a notification's deliveries as CSV", notificationsExport},
	}, args, e)
}

func notificationsLs(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("notifications ls", "notifications ls [--state STATE] [--no-welcomes] [--oldest] [--limit N] [--all] [--json]", e)
	af := addAPIFlags(fs, e)
	var states multiFlag
	fs.Var(&states, "state", "keep these states: scheduled, expanding, sending, completed, cancelled (repeatable or comma-separated)")
	limit := fs.Int("limit", 20, "notifications per page (1 to 100)")
	cursor := fs.String("cursor", "", "start after this notification id (the next of the previous page)")
	all := fs.Bool("all", false, "list every page")
	noWelcomes := fs.Bool("no-welcomes", false, "leave out the welcome messages the bot sends on its own")
	oldest := fs.Bool("oldest", false, "list oldest first (default: newest first)")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseAnywhere(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{fmt.Sprintf("notifications ls: unexpected argument %q", pos[0])}
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	var st []herald.NotificationState
	for _, s := range splitList(states) {
		st = append(st, herald.NotificationState(s))
	}
	var out []api.Notification
	q := api.NotificationQuery{States: st, Newest: !*oldest, NoWelcomes: *noWelcomes, Page: api.Page{Cursor: *cursor, Limit: *limit}}
	next := ""
	for {
		l, err := c.ListNotifications(ctx, q)
		if err != nil {
			return apiError(af.url, err)
		}
		out = append(out, l.Notifications...)
		next = l.Next
		if !*all || l.Next == "" {
			break
		}
		q.Cursor = l.Next
	}
	if *asJSON {
		return printJSON(e.stdout, api.NotificationList{Notifications: out, Next: next})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tDELIVERED\tFAILED\tTOTAL\tCREATED\tTITLE")
	for _, n := range out {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", n.ID, n.State, n.Counts.Delivered, n.Counts.Failed,
			n.Counts.Total(), n.CreatedAt.Local().Format("2006-01-02 15:04"), n.Request.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(e.stderr, "more: --cursor %s (or --all)\n", next)
	}
	return nil
}

// splitList splits repeated, comma-separated flag values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func notificationsShow(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("notifications show", "notifications show ID [--wait] [--json]", e)
	af := addAPIFlags(fs, e)
	wait := fs.Bool("wait", false, "wait for the end, showing progress on stderr")
	asJSON := fs.Bool("json", false, "print JSON")
	id, err := oneID(fs, args, "notification id")
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	if *wait {
		_, err := waitAndReport(ctx, c, af.url, id, e)
		return err
	}
	n, err := c.Notification(ctx, id)
	if err != nil {
		return apiError(af.url, err)
	}
	if *asJSON {
		return printJSON(e.stdout, n)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("id", n.ID)
	row("title", n.Request.Title)
	row("state", string(n.State))
	row("audience", n.Request.Audience.String())
	row("topic", n.Request.Topic)
	row("priority", string(n.Request.Priority))
	row("created", n.CreatedAt.Local().Format(time.RFC3339))
	if by := n.CreatedBy; by.KeyID != "" {
		row("created by", strings.TrimSpace(by.KeyID+" "+parenthesised(by.KeyName)))
	}
	if !n.Request.SendAt.IsZero() {
		row("send at", n.Request.SendAt.Local().Format(time.RFC3339))
	}
	if !n.CompletedAt.IsZero() {
		row("completed", n.CompletedAt.Local().Format(time.RFC3339))
	}
	row("deliveries", countsLine(n.Counts))
	row("why", reasonsLine(n.Reasons))
	row("progress", progressLine(n))
	return tw.Flush()
}

func notificationsCancel(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("notifications cancel", "notifications cancel ID", e)
	af := addAPIFlags(fs, e)
	id, err := oneID(fs, args, "notification id")
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	n, err := c.Cancel(ctx, id)
	if err != nil {
		return apiError(af.url, err)
	}
	fmt.Fprintf(e.stdout, "%s %s: %s\n", n.ID, n.State, countsLine(n.Counts))
	return nil
}

func notificationsRetry(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("notifications retry", "notifications retry ID [--uncertain] [--wait]", e)
	af := addAPIFlags(fs, e)
	uncertain := fs.Bool("uncertain", false, "also resend deliveries whose outcome is uncertain (they may arrive twice)")
	wait := fs.Bool("wait", false, "wait for the end, showing progress on stderr")
	id, err := oneID(fs, args, "notification id")
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	res, err := c.Retry(ctx, id, api.RetryRequest{Uncertain: *uncertain})
	if err != nil {
		return apiError(af.url, err)
	}
	fmt.Fprintf(e.stdout, "%s: %d deliveries reopened\n", id, res.Reopened)
	if *wait && res.Reopened > 0 {
		_, err := waitAndReport(ctx, c, af.url, id, e)
		return err
	}
	return nil
}

func notificationsExport(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("notifications export", "notifications export ID [--state STATE] [--out FILE]", e)
	af := addAPIFlags(fs, e)
	var states multiFlag
	fs.Var(&states, "state", "keep these delivery states (repeatable or comma-separated)")
	reason := fs.String("reason", "", "keep deliveries with this reason (opted-out, blocked-by-user, …)")
	out := fs.String("out", "", "write to this file instead of stdout")
	id, err := oneID(fs, args, "notification id")
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	dq := api.DeliveryQuery{Reason: herald.Reason(*reason)}
	for _, s := range splitList(states) {
		dq.States = append(dq.States, herald.DeliveryState(s))
	}
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := c.ExportDeliveries(ctx, id, dq, f); err != nil {
			f.Close()
			os.Remove(*out)
			return apiError(af.url, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
	return apiError(af.url, c.ExportDeliveries(ctx, id, dq, w))
}

// oneLine shortens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// countsLine is "3 delivered, 1 failed" (or "no deliveries yet").
func countsLine(c herald.Counts) string {
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{
		{c.Delivered, "delivered"}, {c.Failed, "failed"}, {c.Uncertain, "uncertain"}, {c.Skipped, "skipped"},
		{c.Cancelled, "cancelled"}, {c.Pending, "pending"}, {c.Sending, "sending"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	if len(parts) == 0 {
		return "no deliveries yet"
	}
	return strings.Join(parts, ", ")
}

// barWidth is the width of the progress bar.
const barWidth = 20

// progressLine draws a notification's progress on one line:
// "[########------------]  40%  4/10  4 delivered, 6 pending  ETA 12s".
func progressLine(n api.Notification) string {
	switch {
	case n.State == herald.NotificationScheduled:
		return fmt.Sprintf("scheduled for %s", n.Request.SendAt.Local().Format(time.RFC3339))
	case n.Progress.Total == 0 && !n.State.Final():
		return "preparing the audience…"
	}
	done := min(max(n.Progress.Done, 0), 1)
	filled := int(done*barWidth + 0.5)
	final := n.Progress.Total - n.Counts.Open()
	line := fmt.Sprintf("[%s%s] %3.0f%%  %d/%d  %s", strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled),
		done*100, final, n.Progress.Total, countsLine(n.Counts))
	switch {
	case n.State.Final():
		return line + "  " + string(n.State)
	case !n.Expanded:
		return line + "  (audience still growing)"
	case n.Progress.RemainingSeconds > 0:
		return line + "  ETA " + (time.Duration(n.Progress.RemainingSeconds * float64(time.Second))).Round(time.Second).String()
	}
	return line
}

// isTerminal reports whether w is a terminal, where progress is redrawn
// in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parenthesised returns "(s)", or "" for an empty s.
func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
