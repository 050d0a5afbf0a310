package emulator_test

import (
	"net/url"
	"runtime"
	"testing"

	"herald/emulator"
)

type wireMember struct {
	ID, Name, ObjectID, AADObjectID, Email, UserPrincipalName, TenantID, UserRole string
}

func TestRoster(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	team := d.Teams[0] // Engineering: users 0..19
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	r := b.call(t, "GET", "v3/conversations/"+esc(team.ID)+"/members", nil)
	var members []map[string]any
	r.decode(t, &members)
	if r.status != 200 || len(members) != 20 {
		t.Fatalf("members: %d, %d entries", r.status, len(members))
	}
	if members[0]["objectId"] != d.Users[0].AADObjectID || members[0]["aadObjectId"] != nil ||
		members[0]["userPrincipalName"] != "alice@contoso.com" || members[0]["userRole"] != "user" || members[0]["tenantId"] != d.TenantID {
		t.Fatalf("roster entry %v", members[0])
	}
	bob := d.Users[1]
	for _, key := range []string{bob.ID, bob.UPN, bob.AADObjectID} {
		r := b.call(t, "GET", "v3/conversations/"+esc(team.ID)+"/members/"+url.PathEscape(key), nil)
		var m wireMember
		r.decode(t, &m)
		if r.status != 200 || m.ID != bob.ID || m.ObjectID != bob.AADObjectID {
			t.Fatalf("member by %s: %d %s", key, r.status, r.body)
		}
	}
	if r := b.call(t, "GET", "v3/conversations/"+esc(team.ID)+"/members/"+url.PathEscape(d.Users[30].ID), nil); r.status != 404 || r.errorCode() != "MemberNotFoundInConversation" {
		t.Fatalf("non-member: %d %s", r.status, r.body)
	}
	var details struct {
		ID, Name, AADGroupID      string
		ChannelCount, MemberCount int
	}
	b.call(t, "GET", "v3/teams/"+esc(team.ID), nil).decode(t, &details)
	if details.ID != team.ID || details.Name != "Engineering" || details.AADGroupID != team.AADGroupID || details.ChannelCount != 3 || details.MemberCount != 20 {
		t.Fatalf("team details %+v", details)
	}
	r = b.call(t, "GET", "v3/teams/"+esc(team.ID)+"/conversations", nil)
	var chans struct {
		Conversations []struct {
			ID   string
			Name *string
		}
	}
	r.decode(t, &chans)
	if len(chans.Conversations) != 3 || chans.Conversations[0].ID != team.ID || chans.Conversations[0].Name != nil || *chans.Conversations[1].Name != "Backend" {
		t.Fatalf("channels %s", r.body)
	}
	// A personal chat's roster is the user.
	conv := b.personal(t, d.Users[2].ID)
	b.call(t, "GET", "v3/conversations/"+esc(conv)+"/members", nil).decode(t, &members)
	if len(members) != 1 || members[0]["id"] != d.Users[2].ID {
		t.Fatalf("personal roster %v", members)
	}
}

// TestMillionUsers pages through a generated team of a million members. It
// is not parallel: it measures the heap, which other tests would disturb.
func TestMillionUsers(t *testing.T) {
	b := setup(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	seed, err := b.em.SeedUsers(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Fatalf("seeding a million users took %d bytes of heap", grew)
	}
	var page struct {
		ContinuationToken string
		Members           []wireMember
	}
	r := b.call(t, "GET", "v3/conversations/"+esc(seed.TeamID)+"/pagedmembers?pageSize=500", nil)
	r.decode(t, &page)
	if r.status != 200 || len(page.Members) != 500 || page.ContinuationToken == "" || page.Members[0].UserPrincipalName != "user1@fabrikam.com" {
		t.Fatalf("first page: %d, %d members, token %q", r.status, len(page.Members), page.ContinuationToken)
	}
	r = b.call(t, "GET", "v3/conversations/"+esc(seed.TeamID)+"/pagedmembers?pageSize=500&continuationToken="+url.QueryEscape(page.ContinuationToken), nil)
	r.decode(t, &page)
	if page.Members[0].UserPrincipalName != "user501@fabrikam.com" {
		t.Fatalf("second page starts with %+v", page.Members[0])
	}
	// Every key of a generated user resolves, and the ids are distinct.
	last := page.Members[499]
	for _, key := range []string{last.ID, last.ObjectID, last.UserPrincipalName} {
		var m wireMember
		b.call(t, "GET", "v3/conversations/"+esc(seed.TeamID)+"/members/"+url.PathEscape(key), nil).decode(t, &m)
		if m.ID != last.ID || m.UserPrincipalName != "user1000@fabrikam.com" {
			t.Fatalf("lookup by %s: %+v", key, m)
		}
	}
	// A generated user can be messaged: by Entra id (installed) and then
	// blocked, which stores just that user.
	u := page.Members[0]
	var conv struct{ ID string }
	b.call(t, "POST", "v3/conversations", params(u.ObjectID, seed.TenantID)).decode(t, &conv)
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv.ID)+"/activities", message("hello")); r.status != 201 {
		t.Fatalf("send to generated user: %d %s", r.status, r.body)
	}
	if err := b.em.SetBlocked(u.UserPrincipalName, true); err != nil {
		t.Fatal(err)
	}
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv.ID)+"/activities", message("hello")); r.errorCode() != "ConversationBlockedByUser" {
		t.Fatalf("blocked generated user: %d %s", r.status, r.body)
	}
}
