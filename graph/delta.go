package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Reasons of a removed entry in a users delta.
const (
	// RemovedChanged: deleted, but restorable from the directory's deleted
	// items for a while.
	RemovedChanged = "changed"
	// RemovedDeleted: permanently deleted.
	RemovedDeleted = "deleted"
)

// DeltaPage is one page of a users delta round.
type DeltaPage struct {
	// Users are new, restored or updated users. An update carries the id
	// and the selected properties; replays and duplicates occur, so merge
	// by id.
	Users []User
	// Removed are the users deleted since the last round.
	Removed []RemovedUser
	// NextLink continues this round; store it to resume after a restart.
	// Empty on the round's last page.
	NextLink string
	// DeltaLink, on the round's last page only, starts the next round
	// (with the changes made since this one). Store it whole; it expires
	// after about 7 days of disuse ([ErrResyncRequired]).
	DeltaLink string
}

// Done reports whether this is the round's last page.
func (p *DeltaPage) Done() bool { return p.NextLink == "" }

// RemovedUser is a "@removed" entry of a users delta.
type RemovedUser struct {
	ID string
	// Reason is RemovedChanged or RemovedDeleted (or another value Graph
	// may add).
	Reason string
}

// DeltaQuery shapes the first request of a full users delta round. The
// links Graph returns carry it on; later requests ignore it.
type DeltaQuery struct {
	// Select lists the tracked properties (changes to others do not
	// surface a user); default DefaultUserSelect.
	Select []string
}

// UsersDelta reads one page of the users delta. With link "" it starts a
// full round; otherwise link is the NextLink of the previous page or the
// DeltaLink of the previous round, used verbatim (and only towards the
// configured Graph host). A delta state Graph no longer knows (410 Gone,
// syncStateNotFound) is an *Error matching ErrResyncRequired: start again
// with "".
func (c *Client) UsersDelta(ctx context.Context, link string, q DeltaQuery) (*DeltaPage, error) {
	const op = "users delta"
	cl := call{op: op, method: http.MethodGet, link: link, required: []string{PermUserRead}}
	if link == "" {
		cl.path = "/users/delta"
		cl.query = query{}.add("$select", selectList(q.Select, DefaultUserSelect)).String()
	}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	page, err := parseDeltaPage(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, &responseError{err: err})
	}
	if page.NextLink == "" && page.DeltaLink == "" {
		return nil, fmt.Errorf("%s: %w", op, &responseError{err: fmt.Errorf("page has neither nextLink nor deltaLink")})
	}
	if link != "" && page.NextLink == link {
		return nil, fmt.Errorf("%s: %w", op, &responseError{err: fmt.Errorf("nextLink repeats the page just read")})
	}
	return page, nil
}

// parseDeltaPage decodes a users delta page, separating removed entries.
func parseDeltaPage(body []byte) (*DeltaPage, error) {
	var raw struct {
		Value     []json.RawMessage `json:"value"`
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	page := &DeltaPage{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink}
	for i, item := range raw.Value {
		var entry struct {
			User
			Removed *struct {
				Reason string `json:"reason"`
			} `json:"@removed"`
		}
		if err := json.Unmarshal(item, &entry); err != nil {
			return nil, fmt.Errorf("value[%d]: %w", i, err)
		}
		if entry.ID == "" {
			return nil, fmt.Errorf("value[%d]: no id", i)
		}
		if entry.Removed != nil {
			page.Removed = append(page.Removed, RemovedUser{ID: entry.ID, Reason: entry.Removed.Reason})
			continue
		}
		page.Users = append(page.Users, entry.User)
	}
	return page, nil
}
