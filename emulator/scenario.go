package emulator

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Kinds of scenario errors, for errors.Is.
var (
	// ErrNotFound: a tenant, user, team or conversation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a request is malformed or contradicts the state.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the thing already exists.
	ErrConflict = errors.New("conflict")
)

// ScenarioError is the error of a scenario method; the HTTP scenario API
// renders it as {"error":{"code","message","field"}}.
type ScenarioError struct {
	Kind    error  // ErrNotFound, ErrInvalid or ErrConflict
	Code    string // "NotFound", "Invalid" or "Conflict"
	Message string // what is wrong
	Field   string // the request field at fault, if any
}

// Error returns the field and message.
func (s *ScenarioError) Error() string {
	if s.Field != "" {
		return s.Field + ": " + s.Message
	}
	return s.Message
}

// Unwrap returns Kind.
func (s *ScenarioError) Unwrap() error { return s.Kind }

func notFound(field, format string, args ...any) error {
	return &ScenarioError{Kind: ErrNotFound, Code: "NotFound", Field: field, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) error {
	return &ScenarioError{Kind: ErrInvalid, Code: "Invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

func conflict(field, format string, args ...any) error {
	return &ScenarioError{Kind: ErrConflict, Code: "Conflict", Field: field, Message: fmt.Sprintf(format, args...)}
}

// TenantSpec describes a tenant to add.
type TenantSpec struct {
	// ID is the tenant id (a GUID); empty means a random one.
	ID string `json:"id,omitempty"`
	// Name is the organisation's name; empty means "Contoso".
	Name string `json:"name,omitempty"`
	// Domain is the mail domain of its users; empty means the name
	// lower-cased + ".com".
	Domain string `json:"domain,omitempty"`
}

// Tenant is a tenant of the emulator.
type Tenant struct {
	ID        string `json:"id"`                    // a GUID
	Name      string `json:"name"`                  // the organisation's name
	Domain    string `json:"domain"`                // its users' mail domain
	UserCount int    `json:"userCount"`             // explicit and generated users
	Disabled  bool   `json:"botDisabled,omitempty"` // the admin disabled the bot
}

func (t *tenant) export() Tenant {
	return Tenant{ID: t.id, Name: t.name, Domain: t.domain, UserCount: t.userCount(), Disabled: t.disabled}
}

// AddTenant adds a tenant.
func (e *Emulator) AddTenant(s TenantSpec) (Tenant, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	t, err := e.addTenant(s)
	if err != nil {
		return Tenant{}, err
	}
	return t.export(), nil
}

func (e *Emulator) addTenant(s TenantSpec) (*tenant, error) {
	if s.ID == "" {
		s.ID = e.ids.guid()
	}
	if !isGUID(s.ID) {
		return nil, invalid("id", "tenant id %q is not a GUID", s.ID)
	}
	s.ID = strings.ToLower(s.ID)
	if e.tenants[s.ID] != nil {
		return nil, conflict("id", "tenant %s exists", s.ID)
	}
	if s.Name == "" {
		s.Name = "Contoso"
	}
	if s.Domain == "" {
		s.Domain = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s.Name) + ".com"
	}
	t := &tenant{id: s.ID, name: s.Name, domain: strings.ToLower(s.Domain)}
	e.tenants[t.id] = t
	e.tenantOrder = append(e.tenantOrder, t.id)
	return t, nil
}

// tenantFor returns the tenant id names, or the only tenant when id is empty.
func (e *Emulator) tenantFor(id string) (*tenant, error) {
	if id == "" {
		if len(e.tenantOrder) != 1 {
			return nil, invalid("tenantId", "tenantId is required when there is not exactly one tenant")
		}
		return e.tenants[e.tenantOrder[0]], nil
	}
	t := e.tenants[strings.ToLower(id)]
	if t == nil {
		return nil, notFound("tenantId", "no tenant %s", id)
	}
	return t, nil
}

// SetTenantDisabled makes the tenant's admin disable (or re-enable) the bot:
// Connector calls for the tenant then get 403 BotDisabledByAdmin.
func (e *Emulator) SetTenantDisabled(tenantID string, disabled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.tenantFor(tenantID)
	if err != nil {
		return err
	}
	t.disabled = disabled
	e.notifyLocked()
	return nil
}

// UserSpec describes a user to add.
type UserSpec struct {
	// TenantID is the user's tenant; empty means the only tenant.
	TenantID string `json:"tenantId,omitempty"`
	// Name is the display name (required).
	Name string `json:"name"`
	// Email and UPN default to the name lower-cased with dots at the
	// tenant's domain; UPN defaults to Email.
	Email string `json:"email,omitempty"`
	UPN   string `json:"upn,omitempty"` // see Email
	// ID is the 29: id and AADObjectID the Entra object id; empty means
	// random ones.
	ID          string `json:"id,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"` // see ID
	// Locale and Timezone go into the clientInfo of the user's activities;
	// empty means "en-US" and "America/Los_Angeles".
	Locale   string `json:"locale,omitempty"`
	Timezone string `json:"timezone,omitempty"` // see Locale
	// Directory is how Entra ID (Microsoft Graph) sees the user: licence,
	// account state, member or guest. The zero value is a licensed,
	// enabled member.
	Directory
}

// User is a user of the emulator.
type User struct {
	ID          string `json:"id"`                  // the 29: id
	AADObjectID string `json:"aadObjectId"`         // the Entra object id
	Name        string `json:"name"`                // the display name
	GivenName   string `json:"givenName,omitempty"` // the name's first word
	Surname     string `json:"surname,omitempty"`   // the rest of the name
	Email       string `json:"email"`               // the mail address
	UPN         string `json:"upn"`                 // the user principal name
	TenantID    string `json:"tenantId"`            // the user's tenant
	Locale      string `json:"locale"`              // as in the clientInfo entity
	Timezone    string `json:"timezone"`            // an IANA zone
	// Installed reports the bot installed in the user's personal scope;
	// Uninstalled that the user removed it; Blocked that the user blocked it.
	Installed   bool `json:"installed"`
	Uninstalled bool `json:"uninstalled,omitempty"` // see Installed
	Blocked     bool `json:"blocked,omitempty"`     // see Installed
	Directory        // licence, account state, member or guest
}

func (u *user) export() User {
	return User{ID: u.id, AADObjectID: u.aadObjectID, Name: u.name, GivenName: u.givenName, Surname: u.surname,
		Email: u.email, UPN: u.upn, TenantID: u.tenantID, Locale: u.locale, Timezone: u.timezone,
		Installed: u.installed, Uninstalled: u.removed, Blocked: u.blocked, Directory: u.dir.export()}
}

// AddUser adds a user to a tenant.
func (e *Emulator) AddUser(s UserSpec) (User, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	u, err := e.addUser(s, e.ids)
	if err != nil {
		return User{}, err
	}
	return u.export(), nil
}

func (e *Emulator) addUser(s UserSpec, ids idgen) (*user, error) {
	t, err := e.tenantFor(s.TenantID)
	if err != nil {
		return nil, err
	}
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		return nil, invalid("name", "name is required")
	}
	if s.ID == "" {
		s.ID = ids.userID()
	}
	if !strings.HasPrefix(s.ID, "29:") {
		return nil, invalid("id", "a user id starts with 29:")
	}
	if s.AADObjectID == "" {
		s.AADObjectID = ids.guid()
	}
	if !isGUID(s.AADObjectID) {
		return nil, invalid("aadObjectId", "%q is not a GUID", s.AADObjectID)
	}
	if s.Email == "" {
		s.Email = strings.ToLower(strings.Join(strings.Fields(s.Name), ".")) + "@" + t.domain
	}
	if s.UPN == "" {
		s.UPN = s.Email
	}
	for field, key := range map[string]string{"id": s.ID, "aadObjectId": s.AADObjectID, "upn": s.UPN, "email": s.Email} {
		if e.findUser(key) != nil {
			return nil, conflict(field, "a user with %s %s exists", field, key)
		}
	}
	given, sur, _ := strings.Cut(s.Name, " ")
	u := &user{id: s.ID, aadObjectID: strings.ToLower(s.AADObjectID), tenantID: t.id, name: s.Name,
		givenName: given, surname: sur, email: s.Email, upn: s.UPN,
		locale: cmpOr(s.Locale, "en-US"), timezone: cmpOr(s.Timezone, "America/Los_Angeles"), synth: -1,
		dir: directoryState{Directory: s.Directory}}
	e.keep(u)
	t.users = append(t.users, u.id)
	e.dirChanged(u, propsAll)
	return u, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// userFor finds a user by any of its keys. Caller holds e.mu.
func (e *Emulator) userFor(field, key string) (*user, error) {
	if key == "" {
		return nil, invalid(field, "%s is required", field)
	}
	u := e.findUser(key)
	if u == nil {
		return nil, notFound(field, "no user %s", key)
	}
	return u, nil
}

// SetBlocked makes the user block (or unblock) the bot: sends to their
// personal chat then get 403 ConversationBlockedByUser. Teams sends no event.
func (e *Emulator) SetBlocked(userID string, blocked bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userFor("userId", userID)
	if err != nil {
		return err
	}
	e.keep(u).blocked = blocked
	e.notifyLocked()
	return nil
}

// User returns a user by 29: id, Entra object id, UPN or email.
func (e *Emulator) User(key string) (User, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.userFor("userId", key)
	if err != nil {
		return User{}, err
	}
	return u.export(), nil
}
