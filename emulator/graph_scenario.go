package emulator

import (
	"net/http"
	"slices"
	"strings"
)

// GraphSettings are a tenant's Graph-side settings: what its admin granted
// the app and how its policies treat the app. The zero value is a tenant
// that consented to DefaultGraphPermissions, has the app in its catalog
// and blocks nobody but guests.
type GraphSettings struct {
	// Permissions are the application permissions (app roles) granted; a
	// call that needs another answers 403 with Graph's body. Nil means
	// DefaultGraphPermissions; empty means none.
	Permissions []string `json:"permissions"`
	// NotConsented: no admin consented, so Graph token requests for the
	// tenant fail with AADSTS700016.
	NotConsented bool `json:"notConsented,omitempty"`
	// AppNotInCatalog: the org catalog lacks the app (lookups find
	// nothing, installs answer 404).
	AppNotInCatalog bool `json:"appNotInCatalog,omitempty"`
	// AppBlocked: the app permission policy blocks the app for everyone;
	// BlockedUsers blocks it for these users (any key; kept as object ids).
	AppBlocked   bool     `json:"appBlocked,omitempty"`
	BlockedUsers []string `json:"blockedUsers,omitempty"` // see AppBlocked
	// GuestInstalls lets the app be installed for guests, whom the policy
	// blocks by default.
	GuestInstalls bool `json:"guestInstalls,omitempty"`
	// ResourceSpecificPermissions are the application RSC permissions the
	// app's manifest declares (e.g. ChatMessageReadReceipt.Read.Chat):
	// installs then need a TeamsAppInstallation.ReadWriteAndConsent…
	// permission and a consentedPermissionSet listing exactly these.
	ResourceSpecificPermissions []string `json:"resourceSpecificPermissions,omitempty"`
}

// permissions are the granted permissions, defaults filled in.
func (s GraphSettings) permissions() []string {
	if s.Permissions == nil {
		return DefaultGraphPermissions()
	}
	return s.Permissions
}

func (s GraphSettings) clone() GraphSettings {
	s.Permissions = slices.Clone(s.Permissions)
	s.BlockedUsers = slices.Clone(s.BlockedUsers)
	s.ResourceSpecificPermissions = slices.Clone(s.ResourceSpecificPermissions)
	return s
}

// graphSettings returns a tenant's settings. Caller holds e.mu.
func (e *Emulator) graphSettings(tenantID string) GraphSettings {
	if s := e.directory.settings[tenantID]; s != nil {
		return s.clone()
	}
	return GraphSettings{}
}

// SetGraphSettings replaces a tenant's Graph settings; the change applies
// at once, to tokens issued before it too.
func (e *Emulator) SetGraphSettings(tenantID string, s GraphSettings) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.tenantFor(tenantID)
	if err != nil {
		return err
	}
	s = s.clone()
	for i, k := range s.BlockedUsers {
		u := e.findUser(k)
		if u == nil || u.tenantID != t.id {
			return notFound("blockedUsers", "no user %s in tenant %s", k, t.id)
		}
		s.BlockedUsers[i] = u.aadObjectID
	}
	e.directory.settings[t.id] = &s
	e.notifyLocked()
	return nil
}

// GraphSettingsOf returns a tenant's Graph settings, permissions filled in.
func (e *Emulator) GraphSettingsOf(tenantID string) (GraphSettings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.tenantFor(tenantID)
	if err != nil {
		return GraphSettings{}, err
	}
	s := e.graphSettings(t.id)
	s.Permissions = s.permissions()
	return s, nil
}

// ResetDelta invalidates the tenant's delta tokens: the next round from
// one answers 410 Gone, and the client starts over.
func (e *Emulator) ResetDelta(tenantID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.tenantFor(tenantID)
	if err != nil {
		return err
	}
	e.directory.epoch[t.id]++
	e.notifyLocked()
	return nil
}

// UserUpdate changes a user's directory entry; nil fields stay as they are.
type UserUpdate struct {
	Name            *string `json:"name,omitempty"`
	NoTeamsLicense  *bool   `json:"noTeamsLicense,omitempty"`
	AccountDisabled *bool   `json:"accountDisabled,omitempty"`
	Guest           *bool   `json:"guest,omitempty"`
	Locale          *string `json:"locale,omitempty"`
}

// UpdateUser changes a user's directory entry: the change shows in the
// next delta round (when it touches a tracked property).
func (e *Emulator) UpdateUser(key string, up UserUpdate) (User, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userFor("userId", key)
	if err != nil {
		return User{}, err
	}
	u = e.keep(u)
	var props propMask
	set := func(dst *bool, v *bool, prop string) {
		if v != nil && *dst != *v {
			*dst, props = *v, props|propBits[prop]
		}
	}
	set(&u.dir.NoTeamsLicense, up.NoTeamsLicense, "assignedPlans")
	set(&u.dir.AccountDisabled, up.AccountDisabled, "accountEnabled")
	set(&u.dir.Guest, up.Guest, "userType")
	if up.Name != nil && strings.TrimSpace(*up.Name) != "" && *up.Name != u.name {
		u.name = strings.TrimSpace(*up.Name)
		u.givenName, u.surname, _ = strings.Cut(u.name, " ")
		props |= propBits["displayName"]
	}
	if up.Locale != nil && *up.Locale != "" && *up.Locale != u.locale {
		u.locale, props = *up.Locale, props|propBits["preferredLanguage"]
	}
	if props != 0 {
		e.dirChanged(u, props)
	}
	e.notifyLocked()
	return u.export(), nil
}

// DeleteUser deletes a user from the directory: Graph no longer lists
// them, and the next delta round reports them removed ("changed": in the
// deleted items, restorable; "deleted" when permanent). Teams' side
// (chats, rosters) is left as it is.
func (e *Emulator) DeleteUser(key string, permanent bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userFor("userId", key)
	if err != nil {
		return err
	}
	u = e.keep(u)
	if u.dir.permanent {
		return notFound("userId", "user %s was deleted for good", key)
	}
	u.dir.deleted, u.dir.permanent = true, permanent
	e.dirChanged(u, propsAll)
	e.notifyLocked()
	return nil
}

// RestoreUser restores a user deleted (not permanently) from the
// directory; the next delta round shows them again.
func (e *Emulator) RestoreUser(key string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userFor("userId", key)
	if err == nil && (!u.dir.deleted || u.dir.permanent) {
		err = invalid("userId", "user %s is not in the deleted items", key)
	}
	if err != nil {
		return err
	}
	u.dir.deleted = false
	e.dirChanged(u, propsAll)
	e.notifyLocked()
	return nil
}

// GroupSpec describes an Entra group to add (a security group or a
// distribution list; teams' groups exist with their teams).
type GroupSpec struct {
	// TenantID is the group's tenant; empty means the only tenant.
	TenantID string `json:"tenantId,omitempty"`
	// Name is the display name (required); Mail the address (empty: a
	// security group without mail).
	Name string `json:"name"`
	Mail string `json:"mail,omitempty"` // see Name
	// Security marks a security group.
	Security bool `json:"security,omitempty"`
	// Members are users (any key) and groups (id or mail, a team's group
	// included), nested as deep as wanted.
	Members []string `json:"members,omitempty"`
}

// Group is an Entra group of the emulator.
type Group struct {
	ID       string   `json:"id"`
	TenantID string   `json:"tenantId"`
	Name     string   `json:"name"`
	Mail     string   `json:"mail,omitempty"`
	Security bool     `json:"security,omitempty"`
	Members  []string `json:"members"` // users' 29: ids and groups' ids
}

func (g *group) export() Group {
	return Group{ID: g.id, TenantID: g.tenantID, Name: g.name, Mail: g.mail, Security: g.security, Members: slices.Clone(g.members)}
}

// AddGroup adds a group.
func (e *Emulator) AddGroup(s GroupSpec) (Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	g, err := e.addGroup(s, e.ids)
	if err != nil {
		return Group{}, err
	}
	return g.export(), nil
}

func (e *Emulator) addGroup(s GroupSpec, ids idgen) (*group, error) {
	t, err := e.tenantFor(s.TenantID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s.Name) == "" {
		return nil, invalid("name", "name is required")
	}
	if _, taken := e.groupByID(t.id, s.Mail, true); s.Mail != "" && taken {
		return nil, conflict("mail", "a group with mail %s exists", s.Mail)
	}
	g := &group{id: ids.guid(), tenantID: t.id, name: strings.TrimSpace(s.Name), mail: strings.ToLower(s.Mail), security: s.Security}
	for _, m := range s.Members {
		id, err := e.groupMember(t.id, m)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(g.members, id) {
			g.members = append(g.members, id)
		}
	}
	e.directory.groups[g.id] = g
	e.directory.groupOrder = append(e.directory.groupOrder, g.id)
	return g, nil
}

// AddGroupMember adds a user or a group (any key) to a group.
func (e *Emulator) AddGroupMember(groupID, member string) (Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.directory.groups[strings.ToLower(groupID)]
	if g == nil {
		return Group{}, notFound("groupId", "no group %s (teams' groups change with their teams)", groupID)
	}
	id, err := e.groupMember(g.tenantID, member)
	if err != nil {
		return Group{}, err
	}
	if id == g.id {
		return Group{}, invalid("memberId", "a group cannot contain itself")
	}
	if !slices.Contains(g.members, id) {
		g.members = append(g.members, id)
	}
	e.notifyLocked()
	return g.export(), nil
}

// Groups returns the groups added with AddGroup (teams' groups are the
// teams).
func (e *Emulator) Groups() []Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []Group{}
	for _, id := range e.directory.groupOrder {
		out = append(out, e.directory.groups[id].export())
	}
	return out
}

// addGraphRoutes adds the Graph routes under GraphPath and the Graph
// side's scenario routes.
func (e *Emulator) addGraphRoutes(m *http.ServeMux, sc string) {
	e.graphMux = e.graphRoutes()
	m.Handle(GraphPath+"/", e.graphMux)
	m.HandleFunc("GET "+sc+"/graph/tenants/{tenantId}", e.scenario(e.hGraphSettings))
	m.HandleFunc("PUT "+sc+"/graph/tenants/{tenantId}", e.scenario(e.hPutGraphSettings))
	m.HandleFunc("POST "+sc+"/graph/tenants/{tenantId}/resetdelta", e.scenario(e.hResetDelta))
	m.HandleFunc("GET "+sc+"/graph/faults", e.scenario(func(*http.Request) (int, any, error) { return http.StatusOK, e.GraphFaults(), nil }))
	m.HandleFunc("PUT "+sc+"/graph/faults", e.scenario(e.hPutGraphFaults))
	m.HandleFunc("GET "+sc+"/graph/limits", e.scenario(func(*http.Request) (int, any, error) { return http.StatusOK, e.GraphLimits(), nil }))
	m.HandleFunc("PUT "+sc+"/graph/limits", e.scenario(e.hPutGraphLimits))
	m.HandleFunc("GET "+sc+"/graph/requests", e.scenario(func(*http.Request) (int, any, error) { return http.StatusOK, e.GraphRequests(), nil }))
	m.HandleFunc("GET "+sc+"/graph/counters", e.scenario(func(*http.Request) (int, any, error) { return http.StatusOK, e.GraphCounters(), nil }))
	m.HandleFunc("PATCH "+sc+"/users/{userId}", e.scenario(e.hUpdateUser))
	m.HandleFunc("DELETE "+sc+"/users/{userId}", e.scenario(e.hDeleteUser))
	m.HandleFunc("POST "+sc+"/users/{userId}/restore", e.scenario(e.hRestoreUser))
	m.HandleFunc("GET "+sc+"/groups", e.scenario(func(*http.Request) (int, any, error) { return http.StatusOK, e.Groups(), nil }))
	m.HandleFunc("POST "+sc+"/groups", e.scenario(e.hAddGroup))
	m.HandleFunc("POST "+sc+"/groups/{groupId}/members", e.scenario(e.hAddGroupMember))
}
