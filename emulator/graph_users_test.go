package emulator_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"herald/emulator"
)

func TestGraphUsersPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	first := g.get(t, "/users?$top=7")
	next, _ := first["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, b.em.GraphURL()+"/users?") || !strings.Contains(next, "$top=7") || !strings.Contains(next, "$skiptoken=") {
		t.Fatalf("nextLink %q", next)
	}
	all, sizes := g.pages(t, "/users?$top=7")
	if want := []int{7, 7, 7, 7, 7, 7, 7, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("page sizes %v, want %v", sizes, want)
	}
	got := ids(all)
	for i, u := range d.Users {
		if got[i] != u.AADObjectID {
			t.Fatalf("user %d: id %s, want %s", i, got[i], u.AADObjectID)
		}
	}
	alice := all[0]
	if alice["displayName"] != "Alice Anderson" || alice["mail"] != "alice@contoso.com" || alice["userPrincipalName"] != "alice@contoso.com" {
		t.Fatalf("alice %v", alice)
	}
	// accountEnabled, userType and assignedPlans come only on $select.
	for _, p := range []string{"accountEnabled", "userType", "assignedPlans"} {
		if _, ok := alice[p]; ok {
			t.Fatalf("%s returned without $select: %v", p, alice)
		}
	}
	if len(alice) != 11 {
		t.Fatalf("default properties: %d, want 11: %v", len(alice), alice)
	}
	// The default page is 100.
	if _, sizes := g.pages(t, "/users"); !slices.Equal(sizes, []int{50}) {
		t.Fatalf("default page sizes %v", sizes)
	}
	// nextLinks keep the filter and the selection.
	enabled, sizes := g.pages(t, "/users?$top=10&$select=id,accountEnabled&$filter="+url.QueryEscape("accountEnabled eq true"))
	if len(enabled) != 49 || len(sizes) != 5 || len(enabled[48]) != 2 || enabled[48]["accountEnabled"] != true {
		t.Fatalf("filtered pages %v: %d users, last %v", sizes, len(enabled), enabled[len(enabled)-1])
	}
}

func TestGraphUsersSelect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	all, _ := g.pages(t, "/users?$select=id,accountEnabled,userType,assignedPlans")
	teams := func(u map[string]any) bool {
		for _, p := range u["assignedPlans"].([]any) {
			pl := p.(map[string]any)
			if pl["service"] == "TeamspaceAPI" && pl["servicePlanId"] == emulator.TeamsServicePlanID && pl["capabilityStatus"] == "Enabled" {
				return true
			}
		}
		return false
	}
	licensedEnabledMembers := 0
	for i, u := range all {
		if len(u) != 4 {
			t.Fatalf("user %d: %v", i, u)
		}
		want := map[int]string{40: "nolicence", 42: "nolicence", 44: "nolicence", 46: "disabled", 48: "guest"}[i]
		switch got := [3]bool{teams(u), u["accountEnabled"] == true, u["userType"] == "Member"}; {
		case got == [3]bool{true, true, true}:
			licensedEnabledMembers++
			if want != "" {
				t.Fatalf("%s (%d) is licensed, enabled and a member; want %s", d.Users[i].Name, i, want)
			}
		case want == "nolicence" && got == [3]bool{false, true, true},
			want == "disabled" && got == [3]bool{true, false, true},
			want == "guest" && got == [3]bool{true, true, false}:
		default:
			t.Fatalf("%s (%d): %v, want %s", d.Users[i].Name, i, u, want)
		}
	}
	if licensedEnabledMembers != 45 {
		t.Fatalf("%d licensed enabled members, want 45", licensedEnabledMembers)
	}
	if guest := d.Users[48]; guest.Email != "yusuf@adatum.com" || guest.UPN != "yusuf_adatum.com#EXT#@contoso.onmicrosoft.com" || !guest.Guest {
		t.Fatalf("guest %+v", guest)
	}
	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"$select=aboutMe", 501, "NotImplemented"},
		{"$select=nonsense", 400, "Request_BadRequest"},
		{"$top=1000", 400, "Request_BadRequest"},
		{"$top=0", 400, "Request_BadRequest"},
		{"$skip=5", 400, "Request_BadRequest"},
		{"$bogus=1", 400, "BadRequest"},
		{"$search=%22displayName:ali%22", 400, "Request_UnsupportedQuery"},
		{"$skiptoken=garbage", 400, "Request_BadRequest"},
	} {
		if r := g.do(t, "GET", "/users?"+tt.query, nil); r.status != tt.status || r.errorCode() != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.query, r.status, r.body, tt.status, tt.code)
		}
	}
	// One user: aboutMe is allowed.
	one := g.get(t, "/users/"+d.Users[1].AADObjectID+"?$select=aboutMe,displayName")
	if v, ok := one["aboutMe"]; !ok || v != nil || one["displayName"] != "Bob Brown" {
		t.Fatalf("one user %v", one)
	}
}

func TestGraphUsersFilter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	adv := []string{"ConsistencyLevel", "eventual"}
	esc := url.QueryEscape
	tests := []struct {
		name   string
		filter string
		hdr    []string
		want   []int // demo user indexes
		count  bool
	}{
		{"mail", "mail eq 'bob@contoso.com'", nil, []int{1}, false},
		{"mail ignores case", "mail eq 'BOB@Contoso.com'", nil, []int{1}, false},
		{"guest upn", "userPrincipalName eq 'yusuf_adatum.com#EXT#@contoso.onmicrosoft.com'", nil, []int{48}, false},
		{"id", "id eq '" + d.Users[3].AADObjectID + "'", nil, []int{3}, false},
		{"ids or", "id eq '" + d.Users[3].AADObjectID + "' or id eq '" + d.Users[4].AADObjectID + "'", nil, []int{3, 4}, false},
		{"mail in", "mail in ('carol@contoso.com', 'zara@contoso.com', 'nobody@contoso.com')", nil, []int{2, 49}, false},
		{"disabled", "accountEnabled eq false", nil, []int{46}, false},
		{"guests", "userType eq 'Guest'", nil, []int{48}, false},
		{"starts with", "startsWith(displayName,'A')", nil, []int{0, 26}, false},
		{"and", "userType eq 'Member' and startsWith(mail,'z')", nil, []int{25, 49}, false},
		{"no teams plan", "not(assignedPlans/any(a:a/servicePlanId eq " + emulator.TeamsServicePlanID + "))", adv, []int{40, 42, 44}, true},
		{"ne", "userType ne 'Member'", adv, []int{48}, true},
		{"ends with", "endsWith(mail,'@adatum.com')", adv, []int{48}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "/users?$filter=" + esc(tt.filter)
			if tt.count {
				q += "&$count=true"
			}
			all, _ := g.pages(t, q, tt.hdr...)
			var want []string
			for _, i := range tt.want {
				want = append(want, d.Users[i].AADObjectID)
			}
			if got := ids(all); !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if tt.count {
				if c := g.get(t, q, tt.hdr...)["@odata.count"]; c != float64(len(tt.want)) {
					t.Fatalf("@odata.count %v", c)
				}
			}
		})
	}
	// The licensed: a default query.
	all, _ := g.pages(t, "/users?$filter="+esc("assignedPlans/any(a:a/servicePlanId eq "+emulator.TeamsServicePlanID+")"))
	if len(all) != 47 {
		t.Fatalf("%d with a Teams plan, want 47", len(all))
	}
	for _, bad := range []struct{ filter, code string }{
		{"userType ne 'Member'", "Request_UnsupportedQuery"},
		{"endsWith(mail,'x')", "Request_UnsupportedQuery"},
		{"mail eq", "BadRequest"},
		{"mail eq 'unterminated", "BadRequest"},
		{"shoeSize eq 3", "Request_BadRequest"},
		{"contains(mail,'x')", "BadRequest"},
	} {
		if r := g.do(t, "GET", "/users?$filter="+esc(bad.filter), nil); r.status != 400 || r.errorCode() != bad.code {
			t.Errorf("%s: %d %s, want 400 %s", bad.filter, r.status, r.body, bad.code)
		}
	}
}

func TestGraphUserGet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	bob := d.Users[1]
	other, err := b.em.AddTenant(emulator.TenantSpec{Name: "Fabrikam"})
	must(t, err)
	stranger, err := b.em.AddUser(emulator.UserSpec{TenantID: other.ID, Name: "Sam Stranger"})
	must(t, err)
	tests := []struct {
		name, key string
		status    int
		want      string
	}{
		{"object id", bob.AADObjectID, 200, bob.AADObjectID},
		{"upn", bob.UPN, 200, bob.AADObjectID},
		{"upn in capitals", strings.ToUpper(bob.UPN), 200, bob.AADObjectID},
		{"guest upn", url.PathEscape(d.Users[48].UPN), 200, d.Users[48].AADObjectID},
		{"teams id is not a graph id", url.PathEscape(bob.ID), 404, ""},
		{"unknown", "0b0b0b0b-0000-4000-8000-000000000000", 404, ""},
		{"another tenant's user", stranger.AADObjectID, 404, ""},
	}
	for _, tt := range tests {
		r := g.do(t, "GET", "/users/"+tt.key, nil)
		var u map[string]any
		r.decode(t, &u)
		if r.status != tt.status || tt.status == 200 && u["id"] != tt.want || tt.status == 404 && r.errorCode() != "Request_ResourceNotFound" {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
	}
	if r := g.do(t, "GET", "/users/$count", nil); r.status != 400 || r.errorMessage() != "$count is not currently supported." {
		t.Fatalf("$count without ConsistencyLevel: %d %s", r.status, r.body)
	}
	if r := g.do(t, "GET", "/users/$count", nil, "ConsistencyLevel", "eventual"); r.status != 200 || string(r.body) != "50" {
		t.Fatalf("$count: %d %s", r.status, r.body)
	}
}

func TestGraphOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	org := values(t, g.get(t, "/organization?$select=id,displayName,verifiedDomains"))
	if len(org) != 1 || org[0]["id"] != d.TenantID || org[0]["displayName"] != "Contoso" || len(org[0]) != 3 {
		t.Fatalf("organization %v", org)
	}
	doms := org[0]["verifiedDomains"].([]any)
	def, initial := doms[0].(map[string]any), doms[1].(map[string]any)
	if len(doms) != 2 || def["name"] != "contoso.com" || def["isDefault"] != true || def["type"] != "Managed" ||
		initial["name"] != "contoso.onmicrosoft.com" || initial["isInitial"] != true {
		t.Fatalf("verifiedDomains %v", doms)
	}
}
