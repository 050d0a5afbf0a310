package emulator_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/emulator"
)

// deltaRound follows a delta round from link and returns its entries and
// the deltaLink that ends it.
func deltaRound(t *testing.T, g *graphClient, link string, hdr ...string) ([]map[string]any, string) {
	t.Helper()
	var all []map[string]any
	for range 100 {
		page := g.get(t, link, hdr...)
		all = append(all, values(t, page)...)
		if dl, ok := page["@odata.deltaLink"].(string); ok {
			if _, both := page["@odata.nextLink"]; both {
				t.Fatalf("page with nextLink and deltaLink: %v", page)
			}
			return all, dl
		}
		next, ok := page["@odata.nextLink"].(string)
		if !ok {
			t.Fatalf("page without nextLink or deltaLink: %v", page)
		}
		if strings.Contains(next, "$select") {
			t.Fatalf("nextLink repeats the query: %s", next)
		}
		link = next
	}
	t.Fatal("delta round does not end")
	return nil, ""
}

func byID(objs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		out[o["id"].(string)] = o
	}
	return out
}

func TestGraphDeltaRounds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	first, link := deltaRound(t, g, "/users/delta?$select=id,displayName,accountEnabled&$top=20")
	if len(first) != 50 || !slices.Equal(ids(first), ids(func() []map[string]any {
		var out []map[string]any
		for _, u := range d.Users {
			out = append(out, map[string]any{"id": u.AADObjectID})
		}
		return out
	}())) {
		t.Fatalf("first round: %d users", len(first))
	}
	if first[46]["accountEnabled"] != false || len(first[0]) != 3 {
		t.Fatalf("first round entries %v %v", first[0], first[46])
	}
	if again, _ := deltaRound(t, g, link); len(again) != 0 {
		t.Fatalf("nothing changed, round has %v", again)
	}
	bob, carol, dave, erin := d.Users[1], d.Users[2], d.Users[3], d.Users[4]
	_, err := b.em.UpdateUser(bob.ID, emulator.UserUpdate{AccountDisabled: ptr(true)})
	must(t, err)
	_, err = b.em.UpdateUser(erin.ID, emulator.UserUpdate{Locale: ptr("fr-FR")}) // preferredLanguage is not selected
	must(t, err)
	newcomer, err := b.em.AddUser(emulator.UserSpec{TenantID: d.TenantID, Name: "Nora New"})
	must(t, err)
	must(t, b.em.DeleteUser(carol.Email, false))
	must(t, b.em.DeleteUser(dave.Email, true))
	second, link2 := deltaRound(t, g, link)
	got := byID(second)
	if len(second) != 4 || got[bob.AADObjectID]["accountEnabled"] != false || got[newcomer.AADObjectID]["displayName"] != "Nora New" {
		t.Fatalf("second round %v", second)
	}
	if r := got[carol.AADObjectID]["@removed"]; r == nil || r.(map[string]any)["reason"] != "changed" {
		t.Fatalf("carol %v", got[carol.AADObjectID])
	}
	if r := got[dave.AADObjectID]["@removed"]; r == nil || r.(map[string]any)["reason"] != "deleted" {
		t.Fatalf("dave %v", got[dave.AADObjectID])
	}
	// Deleted users leave /users.
	if r := g.do(t, "GET", "/users/"+carol.AADObjectID, nil); r.status != 404 {
		t.Fatalf("deleted user: %d", r.status)
	}
	if all, _ := g.pages(t, "/users"); len(all) != 49 {
		t.Fatalf("%d users after two deletions and one addition, want 49", len(all))
	}
	must(t, b.em.RestoreUser(carol.Email))
	if err := b.em.RestoreUser(dave.Email); err == nil {
		t.Fatal("a permanently deleted user was restored")
	}
	third, _ := deltaRound(t, g, link2)
	if len(third) != 1 || third[0]["id"] != carol.AADObjectID || third[0]["@removed"] != nil || third[0]["displayName"] != carol.Name {
		t.Fatalf("third round %v", third)
	}
}

func TestGraphDeltaMinimal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	_, link := deltaRound(t, g, "/users/delta?$select=displayName,userPrincipalName,accountEnabled,userType")
	_, err := b.em.UpdateUser(d.Users[7].Email, emulator.UserUpdate{Guest: ptr(true)})
	must(t, err)
	round, _ := deltaRound(t, g, link, "Prefer", "return=minimal")
	if len(round) != 1 || len(round[0]) != 2 || round[0]["userType"] != "Guest" {
		t.Fatalf("minimal round %v", round)
	}
}

func TestGraphDeltaTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, g := b.demoGraph(t)
	latest := g.get(t, "/users/delta?$deltatoken=latest")
	if len(values(t, latest)) != 0 || latest["@odata.deltaLink"] == nil {
		t.Fatalf("latest %v", latest)
	}
	_, err := b.em.UpdateUser(d.Users[9].Email, emulator.UserUpdate{Name: ptr("Judy Renamed")})
	must(t, err)
	if round, _ := deltaRound(t, g, latest["@odata.deltaLink"].(string)); len(round) != 1 || round[0]["displayName"] != "Judy Renamed" {
		t.Fatalf("round after latest %v", round)
	}
	_, link := deltaRound(t, g, "/users/delta?$select=id,displayName")
	must(t, b.em.ResetDelta(d.TenantID))
	r := g.do(t, "GET", link, nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusGone || r.errorCode() != "resyncRequired" || !strings.HasSuffix(loc, "/users/delta?$select=id,displayName") {
		t.Fatalf("after reset: %d %s %q", r.status, r.body, loc)
	}
	if all, _ := deltaRound(t, g, loc); len(all) != 50 {
		t.Fatalf("resync: %d users", len(all))
	}
	_, link = deltaRound(t, g, "/users/delta")
	b.clock.Advance(8 * 24 * time.Hour)
	g = b.graphFor(t, d.TenantID) // the old token expired too
	if r := g.do(t, "GET", link, nil); r.status != http.StatusGone || r.errorCode() != "syncStateNotFound" {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"/users/delta?$deltatoken=garbage", "/users/delta?$filter=mail%20eq%20'a@b.c'", "/users/delta?$expand=manager"} {
		if r := g.do(t, "GET", bad, nil); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	one := d.Users[5].AADObjectID
	if round, _ := deltaRound(t, g, "/users/delta?$filter=id%20eq%20'"+one+"'"); len(round) != 1 || round[0]["id"] != one {
		t.Fatalf("id filter %v", round)
	}
}

func ptr[T any](v T) *T { return &v }
