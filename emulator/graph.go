package emulator

// The Microsoft Graph side of the emulator (teams-protocol-2026.md §1–§2):
// the directory (users, delta, groups, organization), the app catalog, app
// installations for users, group chats and teams, and JSON batching, all
// on the tenants, users, teams and chats the Teams side models. Requests
// carry an app-only token from the token endpoint with the scope
// https://graph.microsoft.com/.default; the token's tenant is the tenant
// whose directory they read.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GraphPath is where the Graph routes live under the emulator's base URL:
// BASE + GraphPath + "/users" is Graph's https://graph.microsoft.com/v1.0/users.
const GraphPath = "/graph/v1.0"

// GraphURL returns the Graph service root, BASE + GraphPath: a Graph
// client's base URL.
func (e *Emulator) GraphURL() string { return e.BaseURL() + GraphPath }

// graphWorld is the directory state that only Graph shows. Every method
// expects e.mu held.
type graphWorld struct {
	settings   map[string]*GraphSettings // by tenant id; absent means the defaults
	groups     map[string]*group         // explicit groups by id
	groupOrder []string
	seq        uint64      // directory change counter, over every tenant
	log        []dirChange // directory changes, by seq
	epoch      map[string]int
}

func newGraphWorld() graphWorld {
	return graphWorld{settings: map[string]*GraphSettings{}, groups: map[string]*group{}, epoch: map[string]int{}}
}

// Directory is how Entra ID shows a user through Graph. The zero value is
// a licensed, enabled member.
type Directory struct {
	// NoTeamsLicense: no enabled Teams service plan (assignedPlans has no
	// TeamspaceAPI entry); Graph installs for the user fail.
	NoTeamsLicense bool `json:"noTeamsLicense,omitempty"`
	// AccountDisabled: accountEnabled is false; Graph installs fail.
	AccountDisabled bool `json:"accountDisabled,omitempty"`
	// Guest: userType is Guest (an invited outsider).
	Guest bool `json:"guest,omitempty"`
}

// directoryState is a user's Directory and whether the user was deleted
// from the directory.
type directoryState struct {
	Directory
	deleted   bool // listed in neither /users nor /users/{id}
	permanent bool // deleted for good (delta reason "deleted", not "changed")
}

func (d directoryState) export() Directory { return d.Directory }

// graphCall is one Graph request being served.
type graphCall struct {
	r        *http.Request
	op       string
	tenant   *tenant
	settings GraphSettings
	body     []byte
	q        odataQuery
	auth     string // the request's Authorization header, for $batch items
}

// graphResult is a handler's successful answer. A nil body answers no
// content; header adds response headers.
type graphResult struct {
	status int
	body   any
	text   string // a text/plain answer instead of body ($count)
	header http.Header
}

type graphFunc func(c *graphCall) (graphResult, error)

// graphError is a Graph error answer:
// {"error":{"code","message","innerError":{…}}}.
type graphError struct {
	status     int
	code       string
	message    string
	inner      string // innerError.code, if any
	retryAfter time.Duration
	header     http.Header
}

func (g *graphError) Error() string { return fmt.Sprintf("%d %s: %s", g.status, g.code, g.message) }

func gErr(status int, code, format string, args ...any) *graphError {
	return &graphError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func gBadRequest(format string, args ...any) *graphError {
	return gErr(http.StatusBadRequest, "BadRequest", format, args...)
}

// gNotFound is the directory's answer for an object that does not exist.
func gNotFound(id string) *graphError {
	return gErr(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// graphContentType is what Graph answers JSON with.
const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeGraphJSON writes a Graph JSON answer.
func writeGraphJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", graphContentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeGraphError writes g with Graph's innerError (date, request ids).
func (e *Emulator) writeGraphError(w http.ResponseWriter, r *http.Request, g *graphError) {
	if sw, ok := w.(*statusWriter); ok {
		sw.code = g.code
	}
	for k, v := range g.header {
		w.Header()[k] = v
	}
	if g.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(g.retryAfter.Seconds()))))
	}
	inner := map[string]any{"date": e.now().UTC().Format("2006-01-02T15:04:05"),
		"request-id": w.Header().Get("request-id"), "client-request-id": w.Header().Get("client-request-id")}
	if g.inner != "" {
		inner["code"] = g.inner
	}
	writeGraphJSON(w, g.status, map[string]any{"error": map[string]any{"code": g.code, "message": g.message, "innerError": inner}})
}

// graphRoute is one Graph route: its operation name (for logs, faults and
// limits), the permissions it needs and what it costs against the limits.
type graphRoute struct {
	op    string
	perms permSet
	cost  graphCost
	h     graphFunc
}

// graphRoutes returns the Graph route table, patterns relative to GraphPath.
func (e *Emulator) graphRoutes() *http.ServeMux {
	m := http.NewServeMux()
	add := func(pattern string, rt graphRoute) {
		method, path, _ := strings.Cut(pattern, " ")
		m.Handle(method+" "+GraphPath+path, e.graph(rt))
	}
	const ua = "/users/{id}/teamwork/installedApps"
	add("GET /users", graphRoute{"users", permUsers, identityCost(2), e.gListUsers})
	add("GET /users/delta", graphRoute{"usersDelta", permUsers, identityCost(5), e.gUsersDelta})
	add("GET /users/{id}", graphRoute{"user", permUsers, identityCost(1), e.gGetUser})
	add("GET /organization", graphRoute{"organization", permOrganization, identityCost(1), e.gOrganization})
	add("GET /groups", graphRoute{"groups", permGroups, identityCost(2), e.gListGroups})
	add("GET /groups/{id}", graphRoute{"group", permGroups, identityCost(1), e.gGetGroup})
	add("GET /groups/{id}/transitiveMembers", graphRoute{"transitiveMembers", permGroups, identityCost(5), e.gTransitiveMembers})
	add("GET /groups/{id}/transitiveMembers/{cast}", graphRoute{"transitiveMembers", permGroups, identityCost(5), e.gTransitiveMembers})
	add("GET /appCatalogs/teamsApps", graphRoute{"appCatalog", permCatalog, teamsCost(classTeamsRead), e.gCatalog})
	add("GET "+ua, graphRoute{"userApps", permUserAppsRead, teamsCost(classTeamsRead), e.gListUserApps})
	add("POST "+ua, graphRoute{"userInstall", permUserAppsWrite, teamsCost(classTeamsWrite), e.gInstallUser})
	add("GET "+ua+"/{installationId}", graphRoute{"userApp", permUserAppsRead, teamsCost(classTeamsRead), e.gGetUserApp})
	add("DELETE "+ua+"/{installationId}", graphRoute{"userUninstall", permUserAppsWrite, teamsCost(classTeamsDelete), e.gUninstallUser})
	add("GET "+ua+"/{installationId}/chat", graphRoute{"userAppChat", permUserAppsRead, teamsCost(classTeamsRead), e.gUserAppChat})
	add("GET /chats/{id}/installedApps", graphRoute{"chatApps", permChatAppsRead, teamsCost(classTeamsRead), e.gListChatApps})
	add("POST /chats/{id}/installedApps", graphRoute{"chatInstall", permChatAppsWrite, teamsCost(classTeamsWrite), e.gInstallChat})
	add("GET /teams/{id}/installedApps", graphRoute{"teamApps", permTeamAppsRead, teamsCost(classTeamsRead), e.gListTeamApps})
	add("POST /teams/{id}/installedApps", graphRoute{"teamInstall", permTeamAppsWrite, teamsCost(classTeamsWrite), e.gInstallTeam})
	add("POST /$batch", graphRoute{op: "batch", h: e.gBatch})
	m.HandleFunc("/", e.graphUnknown)
	return m
}

// graphUnknown answers a path Graph does not have (or the emulator does not
// model) and remembers it for Err.
func (e *Emulator) graphUnknown(w http.ResponseWriter, r *http.Request) {
	e.fail(fmt.Errorf("unexpected Graph request %s %s", r.Method, r.URL.RequestURI()))
	seg := strings.TrimPrefix(r.URL.Path, GraphPath+"/")
	seg, _, _ = strings.Cut(seg, "/")
	e.graphStats.count("unknown", "graph")
	e.graphStats.answered(RequestRecord{Time: e.now(), Method: r.Method, Path: r.URL.Path, Operation: "unknown",
		Status: http.StatusBadRequest, Code: "BadRequest"})
	e.writeGraphError(w, r, gBadRequest("Resource not found for the segment '%s'.", seg))
}

// graph wraps a Graph handler: it counts and logs the request, checks the
// token and the permissions, applies faults and limits, reads the body and
// renders the answer.
func (e *Emulator) graph(rt graphRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		requestIDs(sw, r, e.ids)
		e.graphStats.count(rt.op, "graph")
		defer func() {
			e.graphStats.answered(RequestRecord{Time: e.now(), Method: r.Method, Path: r.URL.Path, Operation: rt.op,
				ConversationID: r.PathValue("id"), Status: sw.status, Code: sw.code})
			e.notify()
		}()
		res, err := e.serveGraph(rt, sw, r)
		if err != nil {
			var g *graphError
			if !errors.As(err, &g) {
				e.fail(fmt.Errorf("graph %s %s: %w", r.Method, r.URL.Path, err))
				g = gErr(http.StatusInternalServerError, "InternalServerError", "%v", err)
			}
			e.writeGraphError(sw, r, g)
			return
		}
		for k, v := range res.header {
			sw.Header()[k] = v
		}
		switch {
		case res.text != "":
			sw.Header().Set("Content-Type", "text/plain;charset=utf-8")
			sw.WriteHeader(res.status)
			_, _ = io.WriteString(sw, res.text)
			return
		case res.body == nil:
			sw.WriteHeader(res.status)
			return
		}
		writeGraphJSON(sw, res.status, res.body)
	})
}

// serveGraph runs one Graph request through authentication, faults,
// query parsing, limits and permissions, then the handler.
func (e *Emulator) serveGraph(rt graphRoute, w http.ResponseWriter, r *http.Request) (graphResult, error) {
	tid, err := e.verifyGraphToken(r)
	if err != nil {
		return graphResult{}, err
	}
	c := &graphCall{r: r, op: rt.op, auth: r.Header.Get("Authorization")}
	e.mu.Lock()
	c.tenant = e.tenants[tid]
	c.settings = e.graphSettings(tid)
	e.mu.Unlock()
	if c.tenant == nil {
		return graphResult{}, gErr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: unknown tenant.")
	}
	if rt.op != "batch" {
		if err := e.graphFault(r, rt.op); err != nil {
			return graphResult{}, err
		}
	}
	if c.q, err = parseODataQuery(r); err != nil {
		return graphResult{}, err
	}
	if err := e.graphLimit(w, c, rt.cost); err != nil {
		return graphResult{}, err
	}
	if err := c.settings.allow(rt.perms); err != nil {
		return graphResult{}, err
	}
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			return graphResult{}, gErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		}
		c.body = b
	}
	return rt.h(c)
}

// requestIDs sets the request-id and client-request-id headers Graph
// answers with.
func requestIDs(w http.ResponseWriter, r *http.Request, ids idgen) {
	w.Header().Set("request-id", ids.guid())
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = w.Header().Get("request-id")
	}
	w.Header().Set("client-request-id", crid)
}

// decodeGraphBody decodes a Graph request's JSON body into v. Malformed
// JSON is a client bug: Err reports it.
func (e *Emulator) decodeGraphBody(c *graphCall, v any) error {
	if err := json.Unmarshal(c.body, v); err != nil {
		e.fail(fmt.Errorf("graph %s %s: malformed body: %w", c.r.Method, c.r.URL.Path, err))
		return gBadRequest("Invalid request body: %v", err)
	}
	return nil
}

// context returns the "@odata.context" of an answer about what.
func (e *Emulator) odataContext(what string) string { return e.GraphURL() + "/$metadata#" + what }

// GraphRequests returns the Graph requests answered, oldest first (at
// most Config.RequestLog of the newest), apart from the Connector's. Each
// item of a $batch is listed on its own, before the batch. Operation names
// the route ("users", "usersDelta", "userInstall", "transitiveMembers"…);
// ConversationID holds the id in the path (a user, group, chat or team).
// Counters of GraphCounters count them the same way (Requests: all).
func (e *Emulator) GraphRequests() []RequestRecord { return e.graphStats.requests() }

// GraphCounters returns counters of the Graph requests so far.
func (e *Emulator) GraphCounters() Counters { return e.graphStats.snapshot() }
