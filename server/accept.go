package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"herald"
	"herald/api"
)

// defaultAcceptWait is Config.AcceptWait's default.
const defaultAcceptWait = 2 * time.Second

// unreachedStates are the states Expansion.Unreached lists.
var unreachedStates = []herald.DeliveryState{herald.DeliverySkipped, herald.DeliveryFailed}

// accepted is the 202 answer to new notification n: it waits, at most
// Config.AcceptWait, for the audience to be expanded, then reports the
// counts, the reasons and the recipients not reached so far. When the wait
// ends first, Expansion.Expanding says so.
func (s *Server) accepted(ctx context.Context, n herald.Notification) (api.Notification, error) {
	got, err := s.waitExpanded(ctx, n.ID)
	switch {
	case err == nil:
		n = got
	case ctx.Err() != nil:
		return api.Notification{}, fmt.Errorf("send: %w", ctx.Err())
	default:
		// The notification is stored and on its way; an answer without
		// what expansion found beats a 500 for it.
		s.log.Warn("read a new notification", "id", n.ID, "err", err)
		return apiNotification(n, nil), nil
	}
	out := apiNotification(n, nil)
	if out.Reasons, err = s.store.NotificationReasons(ctx, n.ID); err != nil {
		return out, fmt.Errorf("send: %w", err)
	}
	if len(out.Reasons) == 0 {
		out.Reasons = nil
	}
	x := &api.Expansion{
		Expanding: !n.Expanded && !n.State.Final(),
		Resolved:  n.Counts.Total() - n.Counts.Skipped,
		Pending:   n.Counts.Open(),
		Skipped:   out.Reasons[herald.DeliverySkipped],
		Unreached: []api.Unreached{},
	}
	if x.Skipped == nil {
		x.Skipped = map[herald.Reason]int{}
	}
	if n.Counts.Skipped+n.Counts.Failed > 0 {
		ds, err := s.store.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: n.ID,
			Filter: herald.DeliveryFilter{States: unreachedStates}, Page: herald.Page{Limit: api.MaxUnreached + 1}})
		if err != nil {
			return out, fmt.Errorf("send: %w", err)
		}
		if len(ds) > api.MaxUnreached {
			ds, x.UnreachedTruncated = ds[:api.MaxUnreached], true
		}
		for _, d := range ds {
			x.Unreached = append(x.Unreached, api.Unreached{Recipient: d.Recipient, Kind: d.Kind, State: d.State,
				Reason: d.Reason, Name: d.Name, Email: d.Email, Error: d.Error})
		}
	}
	out.Expansion = x
	return out, nil
}

// waitExpanded waits for the notification's expansion, at most
// Config.AcceptWait (not at all when negative), and returns it with its
// counts. The wait running out is no error.
func (s *Server) waitExpanded(ctx context.Context, id string) (herald.Notification, error) {
	if s.cfg.AcceptWait < 0 {
		return s.engine.Get(ctx, id)
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.AcceptWait)
	defer cancel()
	n, err := s.engine.WaitExpanded(wctx, id)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		if n.ID == "" { // the wait ran out before the first read
			return s.engine.Get(ctx, id)
		}
		return n, nil
	}
	return n, err
}
