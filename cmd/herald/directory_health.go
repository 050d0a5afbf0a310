package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"herald/api"
)

// healthClass is a problem class of a health report and its heading.
type healthClass struct{ key, title string }

// healthClasses are the problem classes of a health report, in the order
// it prints them.
func healthClasses() []healthClass {
	return []healthClass{
		{"blocked", "BLOCKED (they blocked the bot)"},
		{"uninstalled", "UNINSTALLED (no install reaches them)"},
		{"stale", "STALE (neither seen nor refreshed)"},
		{"missingEmail", "NO EMAIL (neither email nor UPN)"},
	}
}

// healthOpts are the flags of `herald directory health`.
type healthOpts struct {
	q      api.HealthQuery
	asJSON bool
}

func directoryHealth(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("directory health", "directory health [--tenant ID] [--team TEAM] [--stale-days N] [--problem P [--cursor ID]] [--limit N] [--json]", e)
	af := addAPIFlags(fs, e)
	var o healthOpts
	fs.StringVar(&o.q.Tenant, "tenant", "", "count users and teams of this tenant")
	fs.StringVar(&o.q.Team, "team", "", "count members of this team (id, Entra group id or name)")
	fs.IntVar(&o.q.StaleDays, "stale-days", 30, "users neither seen nor refreshed for this many days are stale (1 to 3650)")
	fs.StringVar(&o.q.Problem, "problem", "", "list only this class: blocked, uninstalled, stale or missingEmail")
	fs.StringVar(&o.q.Cursor, "cursor", "", "with --problem: start after this user id (the next the previous page printed)")
	fs.IntVar(&o.q.Limit, "limit", 100, "users listed per class (1 to 1000)")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if err := o.check(pos); err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	h, err := c.DirectoryHealth(ctx, o.q)
	if err != nil {
		return apiError(af.url, err)
	}
	if o.asJSON {
		return printJSON(e.stdout, h)
	}
	return printHealth(e, h)
}

// check refuses flag values the API would refuse, as a usage error.
func (o healthOpts) check(pos []string) error {
	switch {
	case len(pos) > 0:
		return usageError{fmt.Sprintf("directory health: unexpected argument %q", pos[0])}
	case o.q.StaleDays < 1 || o.q.StaleDays > 3650:
		return usageError{"directory health: --stale-days must be from 1 to 3650"}
	case o.q.Limit < 1 || o.q.Limit > 1000:
		return usageError{"directory health: --limit must be from 1 to 1000"}
	case o.q.Cursor != "" && o.q.Problem == "":
		return usageError{"directory health: --cursor continues one list: name it with --problem"}
	}
	for _, p := range healthClasses() {
		if o.q.Problem == "" || o.q.Problem == p.key {
			return nil
		}
	}
	return usageError{fmt.Sprintf("directory health: --problem %q is not blocked, uninstalled, stale or missingEmail", o.q.Problem)}
}

// printHealth prints a report as tables: the counts overall, per tenant
// and per team, then each problem class's users.
func printHealth(e *env, h api.DirectoryHealth) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SCOPE\tNAME\tINSTALLED\tUSERS\tREACHABLE\tBLOCKED\tUNINSTALLED\tSTALE (%dd)\tNO EMAIL\n", h.StaleDays)
	countRow(tw, "all", "", "", h.Totals)
	for _, t := range h.Tenants {
		countRow(tw, "tenant "+t.TenantID, "", "", t.HealthCounts)
	}
	for _, t := range h.Teams {
		countRow(tw, "team "+t.TeamID, t.Name, yesNo(t.Installed), t.HealthCounts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h.TeamsMore {
		fmt.Fprintf(e.stderr, "more teams than listed: narrow with --tenant or --team\n")
	}
	for _, p := range healthClasses() {
		l, ok := h.Lists[p.key]
		if !ok || len(l.Users) == 0 {
			continue
		}
		if err := printHealthList(e.stdout, p.title, l); err != nil {
			return err
		}
		if l.More {
			fmt.Fprintf(e.stderr, "more %s: --problem %s --cursor %s\n", p.key, p.key, l.Next)
		}
	}
	return nil
}

func countRow(w io.Writer, scope, name, installed string, c api.HealthCounts) {
	cells := []string{scope, name, installed}
	for _, n := range []int{c.Users, c.Reachable, c.Blocked, c.Uninstalled, c.Stale, c.MissingEmail} {
		cells = append(cells, strconv.Itoa(n))
	}
	for i, cell := range cells {
		if cell == "" {
			cell = "-"
		}
		sep := "\t"
		if i == len(cells)-1 {
			sep = "\n"
		}
		fmt.Fprint(w, cell+sep)
	}
}

// printHealthList prints one problem class's users.
func printHealthList(w io.Writer, title string, l api.HealthList) error {
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tTENANT\tLAST SEEN\tUPDATED")
	for _, u := range l.Users {
		email := u.Email
		if email == "" {
			email = u.UPN
		}
		seen := "never"
		if !u.LastSeen.IsZero() {
			seen = u.LastSeen.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, dash(u.Name), dash(email), u.TenantID, seen, u.UpdatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
