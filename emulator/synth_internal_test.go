package emulator

import (
	"strings"
	"testing"
)

func TestSynthCodec(t *testing.T) {
	t.Parallel()
	s := &synthUsers{tenantID: LoadTenantID, n: 1_000_000, tag: [6]byte{1, 2, 3, 4, 5, 6}, domain: "fabrikam.com"}
	other := &synthUsers{tenantID: LoadTenantID, n: 1_000_000, tag: [6]byte{9, 9, 9, 9, 9, 9}, domain: "other.com"}
	for _, i := range []int{0, 1, 49, 999, 65535, 65536, 999_999} {
		u := s.user(i)
		for _, key := range []string{u.id, u.aadObjectID, u.upn, strings.ToUpper(u.upn), strings.ToUpper(u.aadObjectID)} {
			got, ok := s.index(key)
			if !ok || got != i {
				t.Fatalf("index(%q) = %d, %v; want %d", key, got, ok, i)
			}
			if _, ok := other.index(key); ok {
				t.Fatalf("another tenant decoded %q", key)
			}
		}
		if !strings.HasPrefix(u.id, "29:1") || len(u.id) != 47 || !isGUID(u.aadObjectID) {
			t.Fatalf("shapes: %q %q", u.id, u.aadObjectID)
		}
	}
	bad := []string{"", "29:1", "29:1AAAA", "user0@fabrikam.com", "user1000001@fabrikam.com", "user01@fabrikam.com",
		"userx@fabrikam.com", "010203040506-0000-4000-8000-000000000000", s.userID(1_000_000), s.aadObjectID(1_000_000)}
	for _, key := range bad {
		if i, ok := s.index(key); ok {
			t.Fatalf("index(%q) = %d, want no match", key, i)
		}
	}
	// A tampered id (right tag and index, wrong digest) does not decode.
	id := []byte(s.userID(7))
	id[len(id)-1] ^= 1
	if _, ok := s.index(string(id)); ok {
		t.Fatal("tampered id decoded")
	}
}

func TestSynthRosterEnd(t *testing.T) {
	t.Parallel()
	e := New(Config{})
	defer e.Close()
	seed, err := e.SeedUsers(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SeedUsers(5); err == nil {
		t.Fatal("seeding twice must fail")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tm := e.teams[seed.TeamID]
	u := e.findUser("user500@fabrikam.com")
	e.keep(u).blocked = true
	tm.synthOut = map[int]bool{3: true}
	r := e.teamRoster(tm)
	if r.n != 999_999 {
		t.Fatalf("roster size %d", r.n)
	}
	if got := r.at(3).upn; got != "user5@fabrikam.com" {
		t.Fatalf("position 3 is %s (user4 was removed)", got)
	}
	if got := r.at(498); !got.blocked || got.upn != "user500@fabrikam.com" {
		t.Fatalf("a stored generated user must replace the generated one: %+v", got)
	}
	last := r.page(999_800, 500)
	if len(last) != 199 || last[198].UserPrincipalName != "user1000000@fabrikam.com" {
		t.Fatalf("last page: %d, ends with %+v", len(last), last[len(last)-1])
	}
}
