package graph

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Organization is the tenant's organization object.
type Organization struct {
	ID              string           `json:"id"`
	DisplayName     string           `json:"displayName,omitempty"`
	VerifiedDomains []VerifiedDomain `json:"verifiedDomains,omitempty"`
}

// VerifiedDomain is a domain the tenant has proved it owns.
type VerifiedDomain struct {
	Name         string `json:"name"`
	Type         string `json:"type,omitempty"` // e.g. "Managed"
	IsDefault    bool   `json:"isDefault,omitempty"`
	IsInitial    bool   `json:"isInitial,omitempty"` // the …onmicrosoft.com domain
	Capabilities string `json:"capabilities,omitempty"`
}

// HasDomain reports whether name (any case) is one of the verified
// domains.
func (o *Organization) HasDomain(name string) bool {
	for _, d := range o.VerifiedDomains {
		if strings.EqualFold(d.Name, name) {
			return true
		}
	}
	return false
}

// Organization reads the tenant's organization with its verified domains.
// It needs Organization.Read.All.
func (c *Client) Organization(ctx context.Context) (*Organization, error) {
	const op = "get organization"
	var page struct {
		Value []Organization `json:"value"`
	}
	cl := call{op: op, method: http.MethodGet, path: "/organization",
		query: query{}.add("$select", "id,displayName,verifiedDomains").String()}
	if err := c.get(ctx, cl, &page); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return &page.Value[0], nil
}

// Group is an Entra group.
type Group struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName,omitempty"`
	Mail            string   `json:"mail,omitempty"`
	MailEnabled     bool     `json:"mailEnabled,omitempty"`
	SecurityEnabled bool     `json:"securityEnabled,omitempty"`
	GroupTypes      []string `json:"groupTypes,omitempty"` // "Unified" for Microsoft 365 groups, "DynamicMembership"
}

const groupSelect = "id,displayName,mail,mailEnabled,securityEnabled,groupTypes"

// Group reads a group by its Entra object id. An unknown group is an
// *Error matching ErrNotFound.
func (c *Client) Group(ctx context.Context, id string) (*Group, error) {
	const op = "get group"
	esc, err := seg(op, "group", id)
	if err != nil {
		return nil, err
	}
	var g Group
	cl := call{op: op, method: http.MethodGet, path: "/groups/" + esc, query: query{}.add("$select", groupSelect).String()}
	if err := c.get(ctx, cl, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// GroupByMail finds a group by its mail address (any case). None is an
// error matching ErrNotFound. Dynamic distribution groups are not in
// /groups and are never found.
func (c *Client) GroupByMail(ctx context.Context, mail string) (*Group, error) {
	const op = "find group by mail"
	if mail == "" || strings.ContainsAny(mail, "\x00\r\n") {
		return nil, fmt.Errorf("%s: %w: mail %q", op, ErrInvalidArgument, mail)
	}
	var page struct {
		Value []Group `json:"value"`
	}
	cl := call{op: op, method: http.MethodGet, path: "/groups",
		query: query{}.add("$filter", "mail eq "+quote(mail)).add("$select", groupSelect).String()}
	if err := c.get(ctx, cl, &page); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, fmt.Errorf("%s %q: %w", op, mail, ErrNotFound)
	}
	return &page.Value[0], nil
}

// MemberQuery narrows a group's member listing.
type MemberQuery struct {
	// Select lists the properties; default DefaultUserSelect.
	Select []string
	// Top is the page size, 1 to MaxTop; default MaxTop.
	Top int
}

// GroupMembers lists the users among a group's transitive members (members
// of nested groups included; devices, contacts and groups left out), a
// page at a time. It sends ConsistencyLevel: eventual and $count=true,
// which the cast to users needs on some Graph versions. It needs
// GroupMember.Read.All (and User.Read.All for the users' properties).
func (c *Client) GroupMembers(groupID string, q MemberQuery) *Pager[User] {
	const op = "list group members"
	id, err := seg(op, "group", groupID)
	if err != nil {
		return failedPager[User](c, op, err)
	}
	top := q.Top
	if top == 0 {
		top = MaxTop
	}
	if top < 1 || top > MaxTop {
		return failedPager[User](c, op, fmt.Errorf("%s: %w: top %d is not between 1 and %d", op, ErrInvalidArgument, q.Top, MaxTop))
	}
	qs := query{}.add("$select", selectList(q.Select, DefaultUserSelect)).
		add("$top", strconv.Itoa(top)).add("$count", "true")
	return newPager[User](c, call{op: op, method: http.MethodGet,
		path: "/groups/" + id + "/transitiveMembers/microsoft.graph.user", query: qs.String(), header: eventual()})
}
