package emulator

import (
	"errors"
	"strings"
)

// DemoTenantID is the tenant of the demo seed.
const DemoTenantID = "c0a7e5e0-5eed-4d3e-9000-000000000001"

// LoadTenantID is the tenant of SeedUsers.
const LoadTenantID = "fab1ca7e-0000-4000-8000-000000000001"

// DemoSeed lists what SeedDemo created.
type DemoSeed struct {
	TenantID string `json:"tenantId"` // DemoTenantID
	Users    []User `json:"users"`    // the 50 users, alice@contoso.com first
	Teams    []Team `json:"teams"`    // Engineering, Marketing, Sales
	// Groups are the Entra groups besides the teams': Leadership (four
	// people) and All Contoso (leadership@… and the three teams' groups,
	// nested: every demo user once).
	Groups []Group `json:"groups"`
}

// demoDirectory are the exceptions of the demo directory, by user index:
// everyone else is a licensed, enabled member.
var demoDirectory = map[int]Directory{
	40: {NoTeamsLicense: true},  // Oskar
	42: {NoTeamsLicense: true},  // Rafael
	44: {NoTeamsLicense: true},  // Tomas
	46: {AccountDisabled: true}, // Vera
	48: {Guest: true},           // Yusuf, invited from adatum.com
}

// demoGuestDomain is the home domain of the demo's guest.
const demoGuestDomain = "adatum.com"

// demoTeams are the demo teams: name, extra channels, and the range of
// demo users (by index) in it; Alice (user 0) is in every team.
var demoTeams = [...]struct {
	name     string
	channels []string
	from, to int
}{
	{"Engineering", []string{"Backend", "Frontend"}, 0, 20},
	{"Marketing", []string{"Campaigns", "Events"}, 20, 35},
	{"Sales", []string{"EMEA", "Americas"}, 35, 50},
}

// SeedDemo creates the demo organisation: the Contoso tenant
// (DemoTenantID), 50 named users (alice@contoso.com, bob@contoso.com, …)
// and three teams with channels and members, and two Entra groups. The
// bot is installed nowhere. In the directory (Graph), 45 people are
// licensed, enabled members; Oskar, Rafael and Tomas have no Teams
// licence, Vera's account is disabled and Yusuf is a guest
// (yusuf@adatum.com). Ids are the same in every run. Seeding again
// returns what exists.
func (e *Emulator) SeedDemo() DemoSeed {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	if e.tenants[DemoTenantID] == nil {
		e.seedDemoLocked()
	}
	out := DemoSeed{TenantID: DemoTenantID}
	t := e.tenants[DemoTenantID]
	for _, id := range t.users {
		out.Users = append(out.Users, e.users[id].export())
	}
	for _, id := range e.teamOrder {
		if tm := e.teams[id]; tm.tenantID == DemoTenantID {
			out.Teams = append(out.Teams, e.exportTeam(tm))
		}
	}
	for _, id := range e.directory.groupOrder {
		if g := e.directory.groups[id]; g.tenantID == DemoTenantID {
			out.Groups = append(out.Groups, g.export())
		}
	}
	return out
}

func (e *Emulator) seedDemoLocked() {
	ids := seededIDs("herald emulator demo")
	if _, err := e.addTenant(TenantSpec{ID: DemoTenantID, Name: "Contoso", Domain: "contoso.com"}); err != nil {
		panic("emulator: seed demo tenant: " + err.Error())
	}
	var users []string
	for i, first := range firstNames {
		last := lastNames[i%len(lastNames)]
		spec := UserSpec{TenantID: DemoTenantID, Name: first + " " + last, Email: strings.ToLower(first) + "@contoso.com",
			Locale: demoLocales[i%len(demoLocales)].locale, Timezone: demoLocales[i%len(demoLocales)].tz, Directory: demoDirectory[i]}
		if spec.Guest {
			spec.Email = strings.ToLower(first) + "@" + demoGuestDomain
			spec.UPN = strings.ReplaceAll(spec.Email, "@", "_") + "#EXT#@" + InitialDomain("contoso.com")
		}
		u, err := e.addUser(spec, ids)
		if err != nil {
			panic("emulator: seed demo user: " + err.Error())
		}
		users = append(users, u.id)
	}
	for _, dt := range demoTeams {
		members := []string{users[0]}
		for i := max(dt.from, 1); i < dt.to; i++ {
			members = append(members, users[i])
		}
		if _, err := e.addTeam(TeamSpec{TenantID: DemoTenantID, Name: dt.name, Channels: dt.channels, Members: members}, ids); err != nil {
			panic("emulator: seed demo team: " + err.Error())
		}
	}
	e.seedDemoGroups(users, ids)
}

// seedDemoGroups adds Leadership (Alice, Frank, Laura, Uma) and All
// Contoso (Leadership and the teams' groups, nested).
func (e *Emulator) seedDemoGroups(users []string, ids idgen) {
	lead, err := e.addGroup(GroupSpec{TenantID: DemoTenantID, Name: "Leadership", Mail: "leadership@contoso.com", Security: true,
		Members: []string{users[0], users[5], users[11], users[45]}}, ids)
	if err != nil {
		panic("emulator: seed demo group: " + err.Error())
	}
	members := []string{lead.id}
	for _, id := range e.teamOrder {
		if t := e.teams[id]; t.tenantID == DemoTenantID {
			members = append(members, t.aadGroupID)
		}
	}
	if _, err := e.addGroup(GroupSpec{TenantID: DemoTenantID, Name: "All Contoso", Mail: "everyone@contoso.com", Members: members}, ids); err != nil {
		panic("emulator: seed demo group: " + err.Error())
	}
}

var demoLocales = [...]struct{ locale, tz string }{
	{"en-US", "America/Los_Angeles"}, {"en-GB", "Europe/London"}, {"de-DE", "Europe/Berlin"},
	{"fr-FR", "Europe/Paris"}, {"ja-JP", "Asia/Tokyo"}, {"en-US", "America/New_York"},
}

// LoadSeed describes what SeedUsers created.
type LoadSeed struct {
	// TenantID is LoadTenantID.
	TenantID string `json:"tenantId"`
	// TeamID is the "Everyone" team: every generated user is a member and
	// the bot is installed in it.
	TeamID string `json:"teamId"`
	Users  int    `json:"users"` // how many were generated
}

// SeedUsers creates the Fabrikam tenant (LoadTenantID, fabrikam.com) with n
// generated users (user1@fabrikam.com … "User N"), each with the bot
// installed in personal scope, and an "Everyone" team holding them all with
// the bot installed. No activity is posted. Users cost no memory until
// something changes them, so n may be in the millions.
func (e *Emulator) SeedUsers(n int) (LoadSeed, error) {
	if n <= 0 || n > 1<<31-1 {
		return LoadSeed{}, invalid("n", "the number of users must be in [1, 2^31)")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.notifyLocked()
	if e.tenants[LoadTenantID] != nil {
		return LoadSeed{}, conflict("n", "users are already seeded")
	}
	t, err := e.addTenant(TenantSpec{ID: LoadTenantID, Name: "Fabrikam", Domain: "fabrikam.com"})
	if err != nil {
		return LoadSeed{}, err
	}
	t.synth = &synthUsers{tenantID: t.id, n: n, domain: t.domain, installed: true}
	copy(t.synth.tag[:], e.ids.bytes(len(t.synth.tag)))
	tm, err := e.addTeam(TeamSpec{TenantID: t.id, Name: "Everyone", Channels: []string{"Announcements"}}, e.ids)
	if err != nil {
		return LoadSeed{}, errors.Join(errors.New("seed users"), err)
	}
	tm.allSynth, tm.installed = true, true
	return LoadSeed{TenantID: t.id, TeamID: tm.id, Users: n}, nil
}
