package server

import (
	"fmt"
	"net/http"
	"time"

	"herald"
	"herald/api"
)

// Bounds of GET /v1/directory/health's staleDays.
const (
	defaultStaleDays = 30
	maxStaleDays     = 3650
)

// directoryHealth is GET
// /v1/directory/health?tenant=&team=&staleDays=&problem=&cursor=&limit=.
func (s *Server) directoryHealth(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "tenant", "team", "staleDays", "problem", "cursor", "limit"); err != nil {
		return err
	}
	q := r.URL.Query()
	days, err := queryInt(r, "staleDays", defaultStaleDays, 1, maxStaleDays)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	p := herald.DirectoryHealthParams{TenantID: q.Get("tenant"), After: q.Get("cursor"), Limit: limit,
		StaleBefore: time.Now().Add(-time.Duration(days) * 24 * time.Hour)}
	if v := q.Get("problem"); v != "" {
		if p.Problem, err = herald.ParseHealthProblem(v); err != nil {
			return invalid("problem", "%q is not blocked, uninstalled, stale or missingEmail", v)
		}
	}
	if p.After != "" && p.Problem == "" {
		return invalid("cursor", "a cursor continues one list: name it with problem")
	}
	if team := q.Get("team"); team != "" {
		t, err := s.store.TeamFind(r.Context(), team)
		if err != nil {
			return lookup(err, "team", team, "team")
		}
		p.TeamID = t.ID
	}
	h, err := s.store.DirectoryHealth(r.Context(), p)
	if err != nil {
		return fmt.Errorf("directory health: %w", err)
	}
	return writeJSON(w, http.StatusOK, apiHealth(h, days))
}

// apiHealth converts a health report for the API.
func apiHealth(h herald.DirectoryHealth, days int) api.DirectoryHealth {
	out := api.DirectoryHealth{StaleDays: days, StaleBefore: h.StaleBefore, Totals: apiCounts(h.Totals),
		Tenants: make([]api.TenantHealth, len(h.Tenants)), Teams: make([]api.TeamHealth, len(h.Teams)),
		TeamsMore: h.TeamsMore, Lists: make(map[string]api.HealthList, len(h.Lists))}
	for i, t := range h.Tenants {
		out.Tenants[i] = api.TenantHealth{TenantID: t.TenantID, HealthCounts: apiCounts(t.Counts)}
	}
	for i, t := range h.Teams {
		out.Teams[i] = api.TeamHealth{TeamID: t.TeamID, TenantID: t.TenantID, Name: t.Name, Installed: t.Installed,
			HealthCounts: apiCounts(t.Counts)}
	}
	for _, l := range h.Lists {
		out.Lists[string(l.Problem)] = api.HealthList{Users: mapSlice(l.Users, apiUser), More: l.Next != "", Next: l.Next}
	}
	return out
}

func apiCounts(c herald.HealthCounts) api.HealthCounts {
	return api.HealthCounts{Users: c.Users, Reachable: c.Reachable, Blocked: c.Blocked, Uninstalled: c.Uninstalled,
		Stale: c.Stale, MissingEmail: c.MissingEmail}
}
