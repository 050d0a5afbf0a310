package emulator_test

import (
	"net/url"
	"slices"
	"testing"

	"herald/emulator"
)

func TestGraphGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	if len(d.Groups) != 2 || d.Groups[0].Name != "Leadership" || d.Groups[1].Mail != "everyone@contoso.com" {
		t.Fatalf("seeded groups %+v", d.Groups)
	}
	all, _ := g.pages(t, "/groups?$top=2")
	if len(all) != 5 {
		t.Fatalf("%d groups, want 2 and the 3 teams'", len(all))
	}
	found := values(t, g.get(t, "/groups?$filter="+url.QueryEscape("mail eq 'everyone@contoso.com'")+"&$select=id,displayName,mail,mailEnabled,securityEnabled,groupTypes"))
	if len(found) != 1 || found[0]["id"] != d.Groups[1].ID || found[0]["displayName"] != "All Contoso" || len(found[0]) != 6 {
		t.Fatalf("by mail %v", found)
	}
	eng := values(t, g.get(t, "/groups?$filter="+url.QueryEscape("mail eq 'engineering@contoso.com'")))
	if len(eng) != 1 || eng[0]["id"] != d.Teams[0].AADGroupID || !slices.Contains(eng[0]["resourceProvisioningOptions"].([]any), any("Team")) {
		t.Fatalf("team group %v", eng)
	}
	teamsOnly := values(t, g.get(t, "/groups?$filter="+url.QueryEscape("resourceProvisioningOptions/Any(x:x eq 'Team')")))
	if len(teamsOnly) != 3 {
		t.Fatalf("team groups %v", teamsOnly)
	}
	if one := g.get(t, "/groups/"+d.Groups[0].ID); one["mail"] != "leadership@contoso.com" || one["securityEnabled"] != true {
		t.Fatalf("group %v", one)
	}
	if r := g.do(t, "GET", "/groups/0b0b0b0b-0000-4000-8000-000000000000", nil); r.status != 404 || r.errorCode() != "Request_ResourceNotFound" {
		t.Fatalf("unknown group: %d %s", r.status, r.body)
	}
}

func TestGraphTransitiveMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	everyone := d.Groups[1].ID
	adv := []string{"ConsistencyLevel", "eventual"}
	path := "/groups/" + everyone + "/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName,accountEnabled,userType&$top=15&$count=true"
	users, sizes := g.pages(t, path, adv...)
	if !slices.Equal(sizes, []int{15, 15, 15, 5}) {
		t.Fatalf("page sizes %v", sizes)
	}
	seen := map[string]bool{}
	for _, u := range users {
		if u["@odata.type"] != "#microsoft.graph.user" || seen[u["id"].(string)] || u["userPrincipalName"] == nil {
			t.Fatalf("member %v (seen %v)", u, seen[u["id"].(string)])
		}
		seen[u["id"].(string)] = true
	}
	for _, u := range d.Users {
		if !seen[u.AADObjectID] {
			t.Fatalf("%s missing from All Contoso", u.Name)
		}
	}
	if c := g.get(t, path, adv...)["@odata.count"]; c != 50.0 {
		t.Fatalf("@odata.count %v", c)
	}
	// Without the cast, the nested groups are members too.
	mixed, _ := g.pages(t, "/groups/"+everyone+"/transitiveMembers")
	groups := 0
	for _, m := range mixed {
		if m["@odata.type"] == "#microsoft.graph.group" {
			groups++
		}
	}
	if groups != 4 || len(mixed) != 54 {
		t.Fatalf("%d members, %d groups", len(mixed), groups)
	}
	if onlyGroups, _ := g.pages(t, "/groups/"+everyone+"/transitiveMembers/microsoft.graph.group"); len(onlyGroups) != 4 {
		t.Fatalf("group cast: %d", len(onlyGroups))
	}
	lead, _ := g.pages(t, "/groups/"+d.Groups[0].ID+"/transitiveMembers/microsoft.graph.user")
	if want := []string{d.Users[0].AADObjectID, d.Users[5].AADObjectID, d.Users[11].AADObjectID, d.Users[45].AADObjectID}; !slices.Equal(ids(lead), want) {
		t.Fatalf("leadership %v", ids(lead))
	}
	sales, _ := g.pages(t, "/groups/"+d.Teams[2].AADGroupID+"/transitiveMembers/microsoft.graph.user")
	if len(sales) != 16 {
		t.Fatalf("sales team group: %d members, want 16", len(sales))
	}
	if r := g.do(t, "GET", "/groups/"+everyone+"/transitiveMembers/microsoft.graph.device", nil); r.status != 400 || r.errorCode() != "Request_UnsupportedQuery" {
		t.Fatalf("device cast: %d %s", r.status, r.body)
	}
	// Nesting added later, and a cycle, count each member once.
	nested, err := b.em.AddGroup(emulator.GroupSpec{TenantID: d.TenantID, Name: "Nested", Members: []string{d.Groups[0].ID, d.Users[30].Email}})
	must(t, err)
	_, err = b.em.AddGroupMember(d.Groups[0].ID, nested.ID)
	must(t, err)
	if got, _ := g.pages(t, "/groups/"+nested.ID+"/transitiveMembers/microsoft.graph.user"); len(got) != 5 {
		t.Fatalf("nested with a cycle: %v", ids(got))
	}
}

func TestGraphMembersWithoutUserRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{emulator.PermGroupMemberReadAll}}))
	lead, _ := g.pages(t, "/groups/"+d.Groups[0].ID+"/transitiveMembers/microsoft.graph.user?$select=id,mail")
	if len(lead) != 4 || len(lead[0]) != 2 || lead[0]["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("limited information: %v", lead)
	}
	must(t, b.em.SetGraphSettings(d.TenantID, emulator.GraphSettings{Permissions: []string{emulator.PermUserReadAll}}))
	r := g.do(t, "GET", "/groups/"+d.Groups[0].ID+"/transitiveMembers/microsoft.graph.user", nil)
	if r.status != 403 || r.errorCode() != "Authorization_RequestDenied" || r.errorMessage() != "Insufficient privileges to complete the operation." {
		t.Fatalf("without GroupMember.Read.All: %d %s", r.status, r.body)
	}
}
