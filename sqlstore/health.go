package sqlstore

import (
	"context"
	"fmt"

	"herald"
)

// DirectoryHealth: a handful of set-based statements whatever the number
// of users: one GROUP BY over the users in scope for the tenants (and the
// totals), one over the teams' memberships, and one keyset page per
// problem class.

// healthArgs numbers a statement's parameters as they are added, so a
// statement names only those it uses (PostgreSQL must infer each one's
// type).
type healthArgs struct{ vals []any }

func (a *healthArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return fmt.Sprintf("$%d", len(a.vals))
}

// healthCountCols are the aggregates of herald.HealthCounts over the rows
// of users, with stale as the stale cutoff's parameter.
func healthCountCols(stale string) string {
	return `COUNT(users.id) AS n_users,
	SUM(CASE WHEN users.blocked = false AND users.uninstalled = false THEN 1 ELSE 0 END) AS n_reachable,
	SUM(CASE WHEN users.blocked = true THEN 1 ELSE 0 END) AS n_blocked,
	SUM(CASE WHEN users.uninstalled = true THEN 1 ELSE 0 END) AS n_uninstalled,
	SUM(CASE WHEN users.last_seen < ` + stale + ` AND users.updated_at < ` + stale + ` THEN 1 ELSE 0 END) AS n_stale,
	SUM(CASE WHEN users.email = '' AND users.upn = '' THEN 1 ELSE 0 END) AS n_missing`
}

// healthProblemCond is the WHERE condition of a problem class.
func healthProblemCond(p herald.HealthProblem, stale string) string {
	switch p {
	case herald.ProblemBlocked:
		return `users.blocked = true`
	case herald.ProblemUninstalled:
		return `users.uninstalled = true`
	case herald.ProblemStale:
		return `users.last_seen < ` + stale + ` AND users.updated_at < ` + stale
	default:
		return `users.email = '' AND users.upn = ''`
	}
}

// usersInScope returns the FROM and WHERE of the users p keeps, adding
// their parameters to a.
func usersInScope(p herald.DirectoryHealthParams, a *healthArgs) (from, where string) {
	from, where = ` FROM users`, ` WHERE true`
	if p.TeamID != "" {
		from += ` JOIN memberships ON memberships.user_id = users.id AND memberships.team_id = ` + a.add(p.TeamID)
	}
	if p.TenantID != "" {
		where += ` AND users.tenant_id = ` + a.add(p.TenantID)
	}
	return from, where
}

// DirectoryHealth implements herald.StatsStore.
func (s *Store) DirectoryHealth(ctx context.Context, p herald.DirectoryHealthParams) (herald.DirectoryHealth, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	out := herald.DirectoryHealth{StaleBefore: p.StaleBefore}
	var err error
	if out.Tenants, err = s.healthTenants(ctx, p); err != nil {
		return herald.DirectoryHealth{}, fmt.Errorf("directory health: %w", err)
	}
	for _, t := range out.Tenants {
		out.Totals.Add(t.Counts)
	}
	if out.Teams, out.TeamsMore, err = s.healthTeams(ctx, p); err != nil {
		return herald.DirectoryHealth{}, fmt.Errorf("directory health: %w", err)
	}
	problems := herald.HealthProblems()
	if p.Problem != "" {
		problems = []herald.HealthProblem{p.Problem}
	}
	for _, pr := range problems {
		after := ""
		if pr == p.Problem {
			after = p.After
		}
		l, err := s.healthList(ctx, p, pr, after)
		if err != nil {
			return herald.DirectoryHealth{}, fmt.Errorf("directory health: %w", err)
		}
		out.Lists = append(out.Lists, l)
	}
	return out, nil
}

// scanCounts reads the columns of healthCountCols after head.
func scanCounts(r rowScanner, c *herald.HealthCounts, head ...any) error {
	return r.Scan(append(head, &c.Users, &c.Reachable, &c.Blocked, &c.Uninstalled, &c.Stale, &c.MissingEmail)...)
}

// healthTenants counts the users in scope per tenant.
func (s *Store) healthTenants(ctx context.Context, p herald.DirectoryHealthParams) ([]herald.TenantHealth, error) {
	var a healthArgs
	stale := a.add(toMicros(p.StaleBefore))
	from, where := usersInScope(p, &a)
	rows, err := s.query(ctx, `SELECT users.tenant_id, `+healthCountCols(stale)+from+where+
		` GROUP BY users.tenant_id ORDER BY users.tenant_id`, a.vals...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	out, err := collect(rows, func(r rowScanner) (herald.TenantHealth, error) {
		var t herald.TenantHealth
		return t, scanCounts(r, &t.Counts, &t.TenantID)
	})
	return out, s.mapErr(err)
}

// healthTeams counts the known members in scope of each team in scope,
// teams without known members included. Across every team, it scans the
// users once and finds their teams in the index of memberships by user
// (SQLite keeps that join order for a CROSS JOIN); for one team, it reads
// the team's memberships.
func (s *Store) healthTeams(ctx context.Context, p herald.DirectoryHealthParams) ([]herald.TeamHealth, bool, error) {
	var a healthArgs
	stale := a.add(toMicros(p.StaleBefore))
	members := ` FROM users CROSS JOIN memberships WHERE memberships.user_id = users.id`
	teamsWhere := ` WHERE true`
	if p.TeamID != "" {
		team := a.add(p.TeamID)
		members = ` FROM memberships JOIN users ON users.id = memberships.user_id WHERE memberships.team_id = ` + team
		teamsWhere += ` AND teams.id = ` + team
	}
	if p.TenantID != "" {
		tenant := a.add(p.TenantID)
		members += ` AND users.tenant_id = ` + tenant
		teamsWhere += ` AND teams.tenant_id = ` + tenant
	}
	rows, err := s.query(ctx, `SELECT teams.id, teams.tenant_id, teams.name, teams.installed AND NOT teams.deleted,
	COALESCE(c.n_users, 0), COALESCE(c.n_reachable, 0), COALESCE(c.n_blocked, 0), COALESCE(c.n_uninstalled, 0),
	COALESCE(c.n_stale, 0), COALESCE(c.n_missing, 0)
	FROM teams LEFT JOIN (SELECT memberships.team_id, `+healthCountCols(stale)+members+`
		GROUP BY memberships.team_id) AS c ON c.team_id = teams.id`+teamsWhere+`
	ORDER BY teams.id LIMIT `+a.add(herald.HealthTeamLimit+1), a.vals...)
	if err != nil {
		return nil, false, s.mapErr(err)
	}
	out, err := collect(rows, func(r rowScanner) (herald.TeamHealth, error) {
		var t herald.TeamHealth
		return t, scanCounts(r, &t.Counts, &t.TeamID, &t.TenantID, &t.Name, &t.Installed)
	})
	if err != nil {
		return nil, false, s.mapErr(err)
	}
	if len(out) > herald.HealthTeamLimit {
		return out[:herald.HealthTeamLimit], true, nil
	}
	return out, false, nil
}

// healthList lists a page of the users in scope with problem pr, after
// the cursor after.
func (s *Store) healthList(ctx context.Context, p herald.DirectoryHealthParams, pr herald.HealthProblem, after string) (herald.HealthList, error) {
	var a healthArgs
	stale := ""
	if pr == herald.ProblemStale {
		stale = a.add(toMicros(p.StaleBefore))
	}
	from, where := usersInScope(p, &a)
	where += ` AND ` + healthProblemCond(pr, stale) + ` AND users.id > ` + a.add(after)
	rows, err := s.query(ctx, `SELECT `+userCols+from+where+` ORDER BY users.id LIMIT `+a.add(p.Limit+1), a.vals...)
	if err != nil {
		return herald.HealthList{}, s.mapErr(err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return herald.HealthList{}, s.mapErr(err)
	}
	l := herald.HealthList{Problem: pr, Users: users}
	if len(users) > p.Limit {
		l.Users = users[:p.Limit]
		l.Next = l.Users[p.Limit-1].ID
	}
	if l.Users == nil {
		l.Users = []herald.User{}
	}
	return l, nil
}
