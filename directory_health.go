package herald

import (
	"fmt"
	"time"
)

// HealthProblem names a class of users Herald cannot reach, or reaches
// with less than it should know.
type HealthProblem string

// The problem classes of DirectoryHealth.
const (
	// ProblemBlocked: a send failed because the user blocked the bot, and
	// nothing since says they unblocked it.
	ProblemBlocked HealthProblem = "blocked"
	// ProblemUninstalled: the app is not installed for the user (they
	// removed it, or a send said the bot cannot reach them), and no install
	// since covers them.
	ProblemUninstalled HealthProblem = "uninstalled"
	// ProblemStale: the user was neither seen (wrote to the bot) nor
	// refreshed (a roster or details fetch, an event naming them, a send's
	// outcome recorded on their row) since DirectoryHealthParams.StaleBefore.
	ProblemStale HealthProblem = "stale"
	// ProblemMissingEmail: the user has neither an email nor a UPN, so no
	// one can address them by either.
	ProblemMissingEmail HealthProblem = "missingEmail"
)

// HealthProblems lists every problem class, in the order DirectoryHealth
// lists them.
func HealthProblems() []HealthProblem {
	return []HealthProblem{ProblemBlocked, ProblemUninstalled, ProblemStale, ProblemMissingEmail}
}

// ParseHealthProblem checks that s names a problem class.
func ParseHealthProblem(s string) (HealthProblem, error) {
	for _, p := range HealthProblems() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not blocked, uninstalled, stale or missingEmail", ErrInvalid, s)
}

// HealthTeamLimit is the most teams DirectoryHealth breaks the counts
// down by; DirectoryHealth.TeamsMore tells there are more.
const HealthTeamLimit = 1000

// DirectoryHealthParams selects what StatsStore.DirectoryHealth counts
// and lists.
type DirectoryHealthParams struct {
	// TenantID, when set, keeps users and teams of that tenant.
	TenantID string
	// TeamID, when set, keeps members of that team.
	TeamID string
	// StaleBefore is the stale cutoff: users neither seen nor refreshed
	// since are stale. Zero counts nobody stale.
	StaleBefore time.Time
	// Problem, when set, lists the users of that problem only (continuing
	// after After); otherwise every problem's first page is listed.
	Problem HealthProblem
	// After is the keyset cursor (a user id) of Problem's list.
	After string
	// Limit caps each list; 0 means 100.
	Limit int
}

// HealthCounts counts users by how reachable they are. A user can count
// in several problem classes (blocked and stale, say).
type HealthCounts struct {
	// Users is every user counted.
	Users int
	// Reachable users are neither blocked nor uninstalled.
	Reachable int
	// Blocked, Uninstalled, Stale and MissingEmail count the users of each
	// problem class.
	Blocked, Uninstalled, Stale, MissingEmail int
}

// Add adds o's counts to c.
func (c *HealthCounts) Add(o HealthCounts) {
	c.Users += o.Users
	c.Reachable += o.Reachable
	c.Blocked += o.Blocked
	c.Uninstalled += o.Uninstalled
	c.Stale += o.Stale
	c.MissingEmail += o.MissingEmail
}

// TenantHealth is the counts of one tenant's users.
type TenantHealth struct {
	TenantID string
	Counts   HealthCounts
}

// TeamHealth is the counts of one team's known members.
type TeamHealth struct {
	TeamID, TenantID, Name string
	// Installed is true while the bot is installed in the team and the
	// team is not deleted.
	Installed bool
	Counts    HealthCounts
}

// HealthList is (a page of) the users of one problem class, ordered by id.
type HealthList struct {
	Problem HealthProblem
	Users   []User
	// Next is the cursor of the next page: the last user's id when there
	// are more, else "".
	Next string
}

// DirectoryHealth is how healthy the directory is: who Herald can reach,
// who it cannot and why, overall, per tenant and per team, with the users
// of each problem class.
type DirectoryHealth struct {
	// StaleBefore is the stale cutoff the counts used.
	StaleBefore time.Time
	// Totals counts every user in scope.
	Totals HealthCounts
	// Tenants break Totals down by tenant, ordered by tenant id.
	Tenants []TenantHealth
	// Teams count the known members of each team in scope (group chats
	// are not teams), ordered by team id, at most HealthTeamLimit of them.
	Teams []TeamHealth
	// TeamsMore is true when more teams are in scope than Teams holds.
	TeamsMore bool
	// Lists hold the users of each problem class, in HealthProblems order
	// (only Params.Problem's when set), each capped at Params.Limit.
	Lists []HealthList
}
