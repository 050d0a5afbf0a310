package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// runTopics is `herald topics`: the configured topics with their default
// and how many people each would reach now.
func runTopics(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("topics", "topics [--json]", e)
	af := addAPIFlags(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	c, err := af.client(e)
	if err != nil {
		return err
	}
	l, err := c.Topics(ctx)
	if err != nil {
		return apiError(af.url, err)
	}
	if *asJSON {
		return printJSON(e.stdout, l)
	}
	if len(l.Topics) == 0 {
		fmt.Fprintln(e.stdout, "no topics are configured (herald serve --topics)")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tDEFAULT\tCRITICAL\tAUDIENCE\tDESCRIPTION")
	for _, t := range l.Topics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.Name, t.Default, yesNo(t.Critical), t.Audience, t.Description)
	}
	return tw.Flush()
}
