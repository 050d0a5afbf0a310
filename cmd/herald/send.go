package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"herald"
	"herald/api"
	"herald/card"
)

// defaultHeraldURL is where the API commands find Herald by default.
const defaultHeraldURL = "http://127.0.0.1:3978"

// apiFlags are the connection flags of every command that calls the API.
type apiFlags struct{ url, key string }

// addAPIFlags defines --url and --api-key on fs, defaulting from
// HERALD_URL and HERALD_API_KEY.
func addAPIFlags(fs *flag.FlagSet, e *env) *apiFlags {
	f := &apiFlags{}
	def := e.getenv("HERALD_URL")
	if def == "" {
		def = defaultHeraldURL
	}
	fs.StringVar(&f.url, "url", def, "Herald's base URL (env HERALD_URL)")
	fs.StringVar(&f.key, "api-key", "", "API key (default from env HERALD_API_KEY, which keeps it out of ps)")
	return f
}

// client returns an API client for the flags.
func (f *apiFlags) client(e *env) (*api.Client, error) {
	key := f.key
	if key == "" {
		key = e.getenv("HERALD_API_KEY")
	}
	if key == "" {
		return nil, usageError{"an API key is required: set HERALD_API_KEY (or pass --api-key)"}
	}
	c, err := api.NewClient(f.url, api.ClientOptions{APIKey: key, UserAgent: "herald-cli/" + version})
	if err != nil {
		return nil, usageError{fmt.Sprintf("--url %q: want http(s)://host:port", f.url)}
	}
	return c, nil
}

// apiError turns the API's refusals and connection failures into one
// readable line.
func apiError(base string, err error) error {
	var ae *api.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		msg := ae.Message
		if ae.Field != "" {
			msg = ae.Field + ": " + msg
		}
		if len(ae.Warnings) > 0 {
			fields := make([]string, len(ae.Warnings))
			for i, w := range ae.Warnings {
				fields[i] = w.Field
			}
			msg += " (missing: " + strings.Join(fields, ", ") + ")"
		}
		if ae.Status == 401 {
			msg += " (check HERALD_API_KEY)"
		}
		return fmt.Errorf("herald refused the request (HTTP %d %s): %s", ae.Status, ae.Code, msg)
	case errors.As(err, &oe), errors.As(err, &ne):
		return fmt.Errorf("cannot reach herald at %s (is `herald serve` running? set HERALD_URL): %w", base, err)
	}
	return err
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseAnywhere parses flags that may come before or after the positional
// arguments ("show n_1 --json"), returning the positional ones. A flag it
// cannot parse is a usageError (-h stays flag.ErrHelp).
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, err
		} else if err != nil {
			return nil, usageError{fmt.Sprintf("%s: %v", strings.TrimPrefix(fs.Name(), "herald "), err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// sendFlags are the flags of `herald send`.
type sendFlags struct {
	to, vars                                   multiFlag
	text, title, topic, key, priority, format  string
	summary, structured, card, sendAt, idemKey string
	alert, critical, atLeastOnce, strict, wait bool
	asJSON                                     bool
}

const sendUsage = `Usage: herald send --to TARGET [--to TARGET…] [--text TEXT | --structured FILE | --card FILE] [flags]

Sends a notification through Herald's API. Text comes from --text, or from
stdin when no content flag is given. A target is
  a user: 29: id, Entra object id, UPN or email; 29:<id>@<tenant id>
    reaches a user Herald has never seen (the 1:1 chat is created)
  team:<id or name>: each member personally
  channel:<team>/<channel>: a post (channel:<team> is General)
  a conversation id, or conversation:<id>: a personal chat (a:…), a
    channel (19:…@thread.tacv2), a thread (<channel id>;messageid=<id>:
    a reply) or a group chat (19:…@thread.v2)
  tenant:<id>, topic:<name>, reply:<key>

Prints the notification id on stdout, and on stderr what Herald found of
the audience: how many recipients, the skipped per reason and the
recipients skipped or failed so far with their reasons; it exits 1 when
nobody in the audience is reachable. With --wait, shows progress on
stderr and ends with the counts per delivery state and per reason, and
the recipients not reached (skipped, failed, uncertain: the first 20,
then how many more) with their reasons; it exits 0 once the notification
completed and reached someone, failures included (they are printed), and
1 if it reached nobody (everything skipped or failed), was cancelled, or
the wait was interrupted. Mistakes in the flags (an unknown target kind
such as teams:X) exit 2.

Flags:`

func parseSendFlags(args []string, e *env) (*sendFlags, *apiFlags, error) {
	var f sendFlags
	fs := flag.NewFlagSet("herald send", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	af := addAPIFlags(fs, e)
	fs.Var(&f.to, "to", "recipient (repeatable): a user identifier, team:<team>, channel:<team>/<channel>, a conversation id, topic:<topic>…")
	fs.StringVar(&f.text, "text", "", "the message text (Markdown unless --format plain); default: read stdin")
	fs.StringVar(&f.title, "title", "", "title: shown in bold above the text, and names the notification")
	fs.StringVar(&f.topic, "topic", "", "topic recipients may opt out of")
	fs.BoolVar(&f.critical, "critical", false, "critical: opt-outs do not apply")
	fs.StringVar(&f.key, "key", "", "update the messages sent earlier under this key instead of sending new ones")
	fs.StringVar(&f.priority, "priority", "", "high or normal (default: high for up to 10 users, else normal)")
	fs.BoolVar(&f.alert, "alert", false, "raise an activity-feed notification")
	fs.StringVar(&f.format, "format", "", "text format: markdown (default) or plain")
	fs.StringVar(&f.summary, "summary", "", "the preview text Teams shows in notifications")
	fs.StringVar(&f.structured, "structured", "", "a structured notification (JSON file, - for stdin), rendered as a card")
	fs.StringVar(&f.card, "card", "", "an Adaptive Card (JSON file, - for stdin), sent as it is")
	fs.Var(&f.vars, "var", "placeholder value name=value for every recipient (repeatable)")
	fs.StringVar(&f.sendAt, "send-at", "", "send later: an RFC 3339 time, or a delay such as 10m")
	fs.StringVar(&f.idemKey, "idempotency-key", "", "sending again with the same key does nothing")
	fs.BoolVar(&f.atLeastOnce, "at-least-once", false, "resend deliveries whose outcome is uncertain (may duplicate)")
	fs.BoolVar(&f.strict, "strict", false, "refuse a structured notification that lacks parts Teams asks for")
	fs.BoolVar(&f.wait, "wait", false, "wait for the end, showing progress on stderr")
	fs.BoolVar(&f.asJSON, "json", false, "print the notification as JSON instead of its id")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, sendUsage)
		fs.PrintDefaults()
	}
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) > 0 {
		return nil, nil, usageError{fmt.Sprintf("send: unexpected argument %q (targets go in --to, text in --text)", pos[0])}
	}
	if len(f.to) == 0 {
		return nil, nil, usageError{"send: at least one --to is required"}
	}
	return &f, af, nil
}

// runSend is `herald send`.
func runSend(ctx context.Context, args []string, e *env) error {
	f, af, err := parseSendFlags(args, e)
	if err != nil {
		return err
	}
	req, err := f.request(e, time.Now())
	if err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	n, err := c.Send(ctx, req)
	if err != nil {
		return apiError(af.url, err)
	}
	for _, w := range n.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s: %s\n", w.Field, w.Message)
	}
	if f.asJSON {
		if err := printJSON(e.stdout, n); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, n.ID)
	}
	if !f.wait {
		return reportAccepted(n, e.stderr, !f.asJSON)
	}
	final, err := waitAndReport(ctx, c, af.url, n.ID, e)
	if err != nil {
		return err
	}
	return nobodyReached(final)
}

// targetsError turns a refusal of the --to values into a usage error
// saying what is wrong: the first field at fault, named unless it is the
// target or the audience as a whole, which the flag already names.
func targetsError(err error) error {
	var fe *herald.FieldError
	if !errors.As(err, &fe) {
		return fmt.Errorf("send: --to: %w", err)
	}
	if fe.Field == "target" || fe.Field == "audience" {
		return usageError{"send: --to: " + fe.Message}
	}
	return usageError{"send: --to: " + fe.Error()}
}

// request builds the API request from the flags.
func (f *sendFlags) request(e *env, now time.Time) (api.NotificationRequest, error) {
	aud, err := api.ParseTargets(f.to...)
	if err != nil {
		return api.NotificationRequest{}, targetsError(err)
	}
	req := api.NotificationRequest{
		Audience: aud, Title: f.title, Topic: f.topic, Critical: f.critical, Key: f.key,
		Priority: herald.Priority(f.priority), IdempotencyKey: f.idemKey, Alert: f.alert,
		AtLeastOnce: f.atLeastOnce, Strict: f.strict,
		Content: api.Content{TextFormat: f.format, Summary: f.summary},
	}
	if f.sendAt != "" {
		if req.SendAt, err = parseSendAt(f.sendAt, now); err != nil {
			return req, err
		}
	}
	for _, v := range f.vars {
		name, value, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return req, usageError{fmt.Sprintf("send: --var %q: want name=value", v)}
		}
		if req.Variables == nil {
			req.Variables = map[string]string{}
		}
		req.Variables[strings.TrimSpace(name)] = value
	}
	sources := 0
	for _, s := range []string{f.text, f.structured, f.card} {
		if s != "" {
			sources++
		}
	}
	if sources > 1 {
		return req, usageError{"send: give one of --text, --structured and --card"}
	}
	switch {
	case f.structured != "":
		raw, err := readInput(f.structured, e)
		if err != nil {
			return req, err
		}
		var s card.Structured
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return req, fmt.Errorf("send: --structured %s: %w", f.structured, err)
		}
		req.Content.Structured = &s
	case f.card != "":
		raw, err := readInput(f.card, e)
		if err != nil {
			return req, err
		}
		if !json.Valid(raw) {
			return req, fmt.Errorf("send: --card %s: not valid JSON", f.card)
		}
		req.Content.AdaptiveCard = json.RawMessage(raw)
	default:
		text := f.text
		if text == "" {
			raw, err := readInput("-", e)
			if err != nil {
				return req, err
			}
			text = strings.TrimRight(string(raw), "\r\n")
		}
		if strings.TrimSpace(text) == "" {
			return req, usageError{"send: nothing to send: give --text, --structured or --card, or pipe the text in"}
		}
		if f.title != "" {
			if f.format == "plain" {
				text = f.title + "\n\n" + text
			} else {
				text = "**" + f.title + "**\n\n" + text
			}
		}
		req.Content.Text = text
	}
	return req, nil
}

// parseSendAt reads an RFC 3339 time or a delay from now.
func parseSendAt(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	return time.Time{}, usageError{fmt.Sprintf("send: --send-at %q: want an RFC 3339 time (2026-05-01T09:00:00Z) or a delay (10m)", v)}
}

// maxInputBytes bounds what the CLI reads from a file or stdin.
const maxInputBytes = 1 << 20

// readInput reads a file, or stdin for "-".
func readInput(name string, e *env) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if e.stdin == nil {
			return nil, nil
		}
		r = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("send: read %s: %w", name, err)
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("send: %s is larger than %d bytes", name, maxInputBytes)
	}
	return b, nil
}

// printJSON prints v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
