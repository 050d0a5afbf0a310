package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"herald/api"
)

// runDirectory is `herald directory`.
func runDirectory(ctx context.Context, args []string, e *env) error {
	return runGroup(ctx, "directory", map[string]subcommand{
		"users":    {"list or search the people the bot can reach", directoryUsers},
		"teams":    {"list the teams the bot was added to", directoryTeams},
		"channels": {"list a team's channels", directoryChannels},
		"health":   {"how many people the bot can reach, who it cannot and why", directoryHealth},
	}, args, e)
}

func directoryUsers(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("directory users", "directory users [--q TEXT] [--tenant ID] [--team TEAM] [--all] [--json]", e)
	af := addAPIFlags(fs, e)
	q := fs.String("q", "", "search: matches name, email, UPN, Teams id and Entra object id")
	tenant := fs.String("tenant", "", "keep users of this tenant")
	team := fs.String("team", "", "keep members of this team (id, Entra group id or name)")
	limit := fs.Int("limit", 100, "users per page (1 to 1000)")
	cursor := fs.String("cursor", "", "start after this user id (the next of the previous page)")
	all := fs.Bool("all", false, "list every page")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	uq := api.UserQuery{Q: *q, Tenant: *tenant, Team: *team, Page: api.Page{Cursor: *cursor, Limit: *limit}}
	var users []api.User
	next := ""
	for {
		l, err := c.Users(ctx, uq)
		if err != nil {
			return apiError(af.url, err)
		}
		users = append(users, l.Users...)
		next = l.Next
		if !*all || next == "" {
			break
		}
		uq.Page.Cursor = next
	}
	if *asJSON {
		return printJSON(e.stdout, api.UserList{Users: users, Next: next})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tTENANT\tREACHABLE")
	for _, u := range users {
		email := u.Email
		if email == "" {
			email = u.UPN
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, email, u.TenantID, yesNo(u.Reachable))
	}
	return flushMore(tw, e, next)
}

func directoryTeams(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("directory teams", "directory teams [--tenant ID] [--all] [--json]", e)
	af := addAPIFlags(fs, e)
	tenant := fs.String("tenant", "", "keep teams of this tenant")
	limit := fs.Int("limit", 100, "teams per page (1 to 1000)")
	cursor := fs.String("cursor", "", "start after this team id (the next of the previous page)")
	all := fs.Bool("all", false, "list every page")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	page := api.Page{Cursor: *cursor, Limit: *limit}
	var teams []api.Team
	next := ""
	for {
		l, err := c.Teams(ctx, *tenant, page)
		if err != nil {
			return apiError(af.url, err)
		}
		teams = append(teams, l.Teams...)
		next = l.Next
		if !*all || next == "" {
			break
		}
		page.Cursor = next
	}
	if *asJSON {
		return printJSON(e.stdout, api.TeamList{Teams: teams, Next: next})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTENANT\tINSTALLED")
	for _, t := range teams {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.TenantID, yesNo(t.Installed && !t.Deleted))
	}
	return flushMore(tw, e, next)
}

func directoryChannels(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("directory channels", "directory channels --team TEAM [--json]", e)
	af := addAPIFlags(fs, e)
	team := fs.String("team", "", "the team (id, Entra group id or name); required")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && *team == "":
		*team = pos[0]
	case len(pos) > 0:
		return usageError{fmt.Sprintf("directory channels: unexpected argument %q", pos[0])}
	case *team == "":
		return usageError{"directory channels: --team is required"}
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	l, err := c.Channels(ctx, *team)
	if err != nil {
		return apiError(af.url, err)
	}
	if *asJSON {
		return printJSON(e.stdout, l)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tDELETED")
	for _, ch := range l.Channels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.ID, ch.Name, ch.Type, yesNo(ch.Deleted))
	}
	return tw.Flush()
}

// noArgs parses flags of a command that takes no positional arguments.
func noArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if rest := fs.Args(); len(rest) > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), rest[0])}
	}
	return nil
}

// flushMore flushes a table and says how to get the next page.
func flushMore(tw *tabwriter.Writer, e *env, next string) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(e.stderr, "more: --cursor %s (or --all)\n", next)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
