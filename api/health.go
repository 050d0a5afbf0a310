package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// HealthCounts counts users by how reachable they are; a user can count
// in several problem classes.
type HealthCounts struct {
	// Users is every user counted.
	Users int `json:"users"`
	// Reachable users are neither blocked nor uninstalled.
	Reachable int `json:"reachable"`
	// Blocked users blocked the bot (a send said so, and nothing since
	// says otherwise).
	Blocked int `json:"blocked"`
	// Uninstalled users do not have the app (they removed it, or a send
	// said the bot cannot reach them) and no install since covers them.
	Uninstalled int `json:"uninstalled"`
	// Stale users were neither seen nor refreshed for StaleDays.
	Stale int `json:"stale"`
	// MissingEmail users have neither an email nor a UPN.
	MissingEmail int `json:"missingEmail"`
}

// TenantHealth is the counts of one tenant's users.
type TenantHealth struct {
	TenantID string `json:"tenantId"`
	HealthCounts
}

// TeamHealth is the counts of one team's known members.
type TeamHealth struct {
	TeamID   string `json:"teamId"`
	TenantID string `json:"tenantId"`
	Name     string `json:"name"`
	// Installed is true while the bot is installed in the team (and the
	// team is not deleted).
	Installed bool `json:"installed"`
	HealthCounts
}

// HealthList is (a page of) the users of one problem class, ordered by
// id.
type HealthList struct {
	Users []User `json:"users"`
	// More is true when the list goes on: ask again with problem set to
	// the list's class and cursor to Next.
	More bool   `json:"more"`
	Next string `json:"next,omitempty"`
}

// DirectoryHealth is the answer of GET /v1/directory/health.
type DirectoryHealth struct {
	// StaleDays and StaleBefore are the stale cutoff: users neither seen
	// nor refreshed since StaleBefore are stale.
	StaleDays   int       `json:"staleDays"`
	StaleBefore time.Time `json:"staleBefore"`
	// Totals counts every user in scope.
	Totals HealthCounts `json:"totals"`
	// Tenants and Teams break the counts down (group chats are not
	// teams); TeamsMore says more teams are in scope than listed.
	Tenants   []TenantHealth `json:"tenants"`
	Teams     []TeamHealth   `json:"teams"`
	TeamsMore bool           `json:"teamsMore"`
	// Lists holds the users of each problem class ("blocked",
	// "uninstalled", "stale", "missingEmail"), or of the one asked for.
	Lists map[string]HealthList `json:"lists"`
}

// HealthQuery selects what DirectoryHealth counts and lists.
type HealthQuery struct {
	// Tenant and Team keep users of that tenant, members of that team
	// (by id, Entra group id or name).
	Tenant, Team string
	// StaleDays is the stale cutoff in days; 0 means the server's
	// default (30).
	StaleDays int
	// Problem, when set, lists only that class ("blocked",
	// "uninstalled", "stale", "missingEmail"), from Page.Cursor on.
	Problem string
	// Page.Limit caps each list; Page.Cursor needs Problem.
	Page
}

// DirectoryHealth reports how many users Herald can reach and who it
// cannot, and why (GET /v1/directory/health).
func (cl *Client) DirectoryHealth(ctx context.Context, hq HealthQuery) (DirectoryHealth, error) {
	q := hq.Page.values()
	setAll(q, "tenant", hq.Tenant)
	setAll(q, "team", hq.Team)
	setAll(q, "problem", hq.Problem)
	if hq.StaleDays != 0 {
		q.Set("staleDays", strconv.Itoa(hq.StaleDays))
	}
	var h DirectoryHealth
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/directory/health", query: q}, &h)
	return h, err
}
