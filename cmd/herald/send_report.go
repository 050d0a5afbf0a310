package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"herald"
	"herald/api"
)

// reportAccepted prints on w what the answer to a new notification says
// of its audience (api.Expansion): how many it is being sent to, the
// skipped per reason, and the recipients not reached so far with their
// reasons (list false leaves the list out, for --json, whose output holds
// it). It returns an error when the audience is expanded and nobody in it
// is reachable: everyone skipped or failed already, or nobody at all.
func reportAccepted(n api.Notification, w io.Writer, list bool) error {
	x := n.Expansion
	if x == nil { // a Herald that does not report expansion
		return nil
	}
	summary := reasonsLine(map[herald.DeliveryState]map[herald.Reason]int{herald.DeliverySkipped: x.Skipped})
	if x.Expanding {
		fmt.Fprintf(w, "%s: still expanding its audience, %s found so far%s (follow it: herald notifications show %s --wait)\n",
			n.ID, recipients(x.Resolved), prefixed(", ", summary), n.ID)
	} else {
		fmt.Fprintf(w, "%s: %s%s\n", n.ID, recipients(x.Resolved), prefixed(", ", summary))
	}
	if list && len(x.Unreached) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, u := range x.Unreached {
			who := u.Recipient
			if u.Email != "" {
				who = u.Email
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", u.State, who, u.Reason, oneLine(u.Error, 100))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if x.UnreachedTruncated {
			fmt.Fprintf(w, "  … and more: herald notifications export %s --state skipped,failed\n", n.ID)
		}
	}
	c := n.Counts
	if x.Expanding || c.Pending+c.Sending+c.Delivered+c.Uncertain > 0 {
		return nil
	}
	if c.Total() == 0 {
		return fmt.Errorf("notification %s reaches nobody: its audience holds no one", n.ID)
	}
	return fmt.Errorf("notification %s reaches nobody: %s%s", n.ID, countsLine(c), prefixed(" — ", summary))
}

// prefixed is prefix+s, or "" for an empty s.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// recipients is "1 recipient" or "n recipients".
func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return fmt.Sprintf("%d recipients", n)
}
