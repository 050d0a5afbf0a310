package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"herald"
	"herald/api"
)

// waitAndReport follows a notification to its end, drawing progress on
// stderr (one line redrawn with \r on a terminal, a line per change
// otherwise), then prints on stdout the counts per state, the counts per
// reason and the recipients not reached (skipped, failed, uncertain) with
// their reasons. A completed notification is a success, failures
// included; a cancelled one is an error. It returns the notification as
// it ended.
func waitAndReport(ctx context.Context, c *api.Client, base, id string, e *env) (api.Notification, error) {
	p := &progress{w: e.stderr, tty: isTerminal(e.stderr)}
	var n api.Notification
	for {
		got, err := c.WaitNotification(ctx, id, time.Second)
		if err != nil {
			p.end()
			return n, apiError(base, err)
		}
		n = got
		p.draw(progressLine(n))
		if n.State.Final() {
			break
		}
	}
	p.end()
	fmt.Fprintf(e.stdout, "%s %s: %s\n", n.ID, n.State, countsLine(n.Counts))
	if r := reasonsLine(n.Reasons); r != "" {
		fmt.Fprintf(e.stdout, "  why: %s\n", r)
	}
	if err := printUnreached(ctx, c, base, n, e.stdout); err != nil {
		return n, err
	}
	if n.State == herald.NotificationCancelled {
		return n, fmt.Errorf("notification %s was cancelled", n.ID)
	}
	return n, nil
}

// nobodyReached returns the error `herald send --wait` ends with when a
// completed notification reached no one: every delivery skipped or
// failed (or there were none). Uncertain deliveries may have arrived.
func nobodyReached(n api.Notification) error {
	if n.State != herald.NotificationCompleted || n.Counts.Delivered+n.Counts.Uncertain > 0 {
		return nil
	}
	if n.Counts.Total() == 0 {
		return fmt.Errorf("notification %s reached nobody: its audience holds no one", n.ID)
	}
	return fmt.Errorf("notification %s reached nobody: %s", n.ID, countsLine(n.Counts))
}

// reasonStates orders the states of reasonsLine.
var reasonStates = []herald.DeliveryState{herald.DeliverySkipped, herald.DeliveryFailed, herald.DeliveryUncertain, herald.DeliveryCancelled}

// reasonsLine is "skipped: unresolved 2, opted-out 1; failed:
// blocked-by-user 1" (reasons by count, then name), or "" for none.
func reasonsLine(rs map[herald.DeliveryState]map[herald.Reason]int) string {
	var parts []string
	for _, st := range reasonStates {
		byReason := rs[st]
		if len(byReason) == 0 {
			continue
		}
		names := make([]herald.Reason, 0, len(byReason))
		for r := range byReason {
			names = append(names, r)
		}
		sort.Slice(names, func(i, j int) bool {
			if byReason[names[i]] != byReason[names[j]] {
				return byReason[names[i]] > byReason[names[j]]
			}
			return names[i] < names[j]
		})
		items := make([]string, len(names))
		for i, r := range names {
			items[i] = fmt.Sprintf("%s %d", r, byReason[r])
		}
		parts = append(parts, string(st)+": "+strings.Join(items, ", "))
	}
	return strings.Join(parts, "; ")
}

// progress draws progress lines: on a terminal one line redrawn in place
// (\r, then erase to the end of the line), elsewhere a line per change.
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func (p *progress) draw(line string) {
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	case line != p.last:
		fmt.Fprintln(p.w, line)
	}
	p.last = line
}

// end finishes the redrawn line on a terminal.
func (p *progress) end() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
		p.last = ""
	}
}

// maxUnreachedShown bounds the recipients waitAndReport lists.
const maxUnreachedShown = 20

// printUnreached lists the skipped, failed and uncertain deliveries
// (the first maxUnreachedShown, then how many more).
func printUnreached(ctx context.Context, c *api.Client, base string, n api.Notification, w io.Writer) error {
	bad := n.Counts.Skipped + n.Counts.Failed + n.Counts.Uncertain
	if bad == 0 {
		return nil
	}
	l, err := c.Deliveries(ctx, n.ID, api.DeliveryQuery{States: []herald.DeliveryState{herald.DeliverySkipped, herald.DeliveryFailed, herald.DeliveryUncertain},
		Page: api.Page{Limit: maxUnreachedShown}})
	if err != nil {
		return apiError(base, err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range l.Deliveries {
		who := d.Recipient
		if d.Email != "" {
			who = d.Email
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.State, who, d.Reason, oneLine(d.Error, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more := bad - len(l.Deliveries); more > 0 {
		fmt.Fprintf(w, "  … and %d more: herald notifications export %s --state skipped,failed,uncertain\n", more, n.ID)
	}
	return nil
}
