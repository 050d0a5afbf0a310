package graph

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DefaultUserSelect is the $select of user listings, lookups and the users
// delta: what Herald keeps of a person. accountEnabled, userType and
// assignedPlans are returned only when selected.
const DefaultUserSelect = "id,displayName,userPrincipalName,mail,accountEnabled,userType,preferredLanguage,assignedPlans"

// MaxTop is the largest page size /users accepts.
const MaxTop = 999

// User is a directory user, with the properties of DefaultUserSelect.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	// AccountEnabled is true when the person can sign in; nil when the
	// property was not selected or not returned.
	AccountEnabled *bool `json:"accountEnabled,omitempty"`
	// UserType is "Member" or "Guest"; Graph sometimes returns null ("").
	UserType          string `json:"userType,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
	// AssignedPlans are the service plans of the person's licenses; nil
	// when the property was not selected or not returned, empty when the
	// person has none.
	AssignedPlans []AssignedPlan `json:"assignedPlans,omitempty"`
}

// AssignedPlan is one service plan assigned to a user.
type AssignedPlan struct {
	AssignedDateTime string `json:"assignedDateTime,omitempty"`
	// CapabilityStatus is "Enabled", "Warning", "Suspended", "Deleted" or
	// "LockedOut".
	CapabilityStatus string `json:"capabilityStatus,omitempty"`
	// Service is the workload, "TeamspaceAPI" for Teams.
	Service       string `json:"service,omitempty"`
	ServicePlanID string `json:"servicePlanId,omitempty"`
}

// Service plan ids of Microsoft Teams.
const (
	TeamsPlanCommercial = "57ff2da0-773e-42df-b2af-ffb7a2317929" // TEAMS1
	TeamsPlanGCC        = "304767db-7d23-49e8-a945-4a7eb65f9f28" // TEAMS_GOV (third-party sources only)
	TeamsPlanGCCHigh    = "9953b155-8aef-4c56-92f3-72b0487fce41" // TEAMS_AR_GCCHIGH
	TeamsPlanDoD        = "fd500458-c24c-478e-856c-a6067a8376cd" // TEAMS_AR_DOD
	// TeamsService is the service name of every Teams plan.
	TeamsService = "TeamspaceAPI"
)

// HasTeamsLicense reports whether plans include a usable Teams plan: one
// whose capabilityStatus is "Enabled" and whose servicePlanId is a Teams
// plan of the commercial, GCC, GCC High or DoD cloud, or, for the other
// SKUs that carry Teams under other plan ids, whose service is
// "TeamspaceAPI". A suspended, deleted or locked-out plan does not count.
func HasTeamsLicense(plans []AssignedPlan) bool {
	for _, p := range plans {
		if !strings.EqualFold(p.CapabilityStatus, "Enabled") {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(p.ServicePlanID)) {
		case TeamsPlanCommercial, TeamsPlanGCC, TeamsPlanGCCHigh, TeamsPlanDoD:
			return true
		}
		if strings.EqualFold(p.Service, TeamsService) {
			return true
		}
	}
	return false
}

// HasTeamsLicense is [HasTeamsLicense] of the user's assigned plans. It is
// false when the plans were not selected: see LicenseKnown.
func (u *User) HasTeamsLicense() bool { return HasTeamsLicense(u.AssignedPlans) }

// LicenseKnown reports whether assignedPlans came with the user.
func (u *User) LicenseKnown() bool { return u.AssignedPlans != nil }

// Disabled reports whether the account is known to be disabled.
func (u *User) Disabled() bool { return u.AccountEnabled != nil && !*u.AccountEnabled }

// IsGuest reports whether the user is a guest: userType "Guest", or, when
// Graph returned no userType, a UPN with the "#EXT#" marker of external
// accounts.
func (u *User) IsGuest() bool {
	if u.UserType != "" {
		return strings.EqualFold(u.UserType, "Guest")
	}
	return strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#")
}

// InstallBlocker returns why, from the directory alone, Herald does not
// install its app for the user: KindDisabled, KindGuestNotAllowed or
// KindLicenseMissing (only when the plans are known); "" when nothing in
// the record stands in the way.
func (u *User) InstallBlocker() Kind {
	switch {
	case u.Disabled():
		return KindDisabled
	case u.IsGuest():
		return KindGuestNotAllowed
	case u.LicenseKnown() && !u.HasTeamsLicense():
		return KindLicenseMissing
	}
	return ""
}

// UserQuery narrows a user listing.
type UserQuery struct {
	// Select lists the properties; default DefaultUserSelect.
	Select []string
	// Filter is an OData $filter, e.g. "accountEnabled eq true" or
	// "assignedPlans/any(a:a/servicePlanId eq 57ff2da0-…)"; quote string
	// literals with single quotes, doubling quotes inside.
	Filter string
	// Top is the page size, 1 to MaxTop; default MaxTop.
	Top int
	// Advanced sends ConsistencyLevel: eventual and $count=true, which
	// filters with ne, not, endsWith and lambdas on several properties need.
	Advanced bool
}

// Users lists the directory's users a page at a time. Nothing is sent
// before the pager's first Next.
func (c *Client) Users(q UserQuery) *Pager[User] {
	const op = "list users"
	top := q.Top
	if top == 0 {
		top = MaxTop
	}
	if top < 1 || top > MaxTop {
		return failedPager[User](c, op, fmt.Errorf("%s: %w: top %d is not between 1 and %d", op, ErrInvalidArgument, q.Top, MaxTop))
	}
	qs := query{}.add("$select", selectList(q.Select, DefaultUserSelect)).
		add("$filter", q.Filter).add("$top", strconv.Itoa(top))
	var h http.Header
	if q.Advanced {
		qs = qs.add("$count", "true")
		h = eventual()
	}
	return newPager[User](c, call{op: op, method: http.MethodGet, path: "/users", query: qs.String(), header: h})
}

// User reads one user by Entra object id or user principal name, with
// sel's properties (default DefaultUserSelect). An unknown user is an
// *Error matching ErrNotFound.
func (c *Client) User(ctx context.Context, idOrUPN string, sel ...string) (*User, error) {
	const op = "get user"
	id, err := seg(op, "user", idOrUPN)
	if err != nil {
		return nil, err
	}
	var u User
	cl := call{op: op, method: http.MethodGet, path: "/users/" + id,
		query: query{}.add("$select", selectList(sel, DefaultUserSelect)).String()}
	if err := c.get(ctx, cl, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
