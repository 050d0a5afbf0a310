package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// synthUsers are the n generated users of one tenant (SeedUsers). Nothing
// is stored per user: user i's ids, names and addresses are computed from i,
// and every id decodes back to i. A generated user that something changes
// (a block, an install, a message) is stored in world.users from then on.
type synthUsers struct {
	tenantID  string
	n         int
	tag       [6]byte // random per tenant, so ids differ between runs
	domain    string
	installed bool // the bot is installed in every generated user's personal scope
}

// userID returns user i's 29: id: "29:1" + base64url(tag, i, digest).
func (s *synthUsers) userID(i int) string {
	var b [32]byte
	copy(b[:6], s.tag[:])
	binary.BigEndian.PutUint32(b[6:10], uint32(i))
	h := sha256.Sum256(b[:10])
	copy(b[10:], h[:22])
	return "29:1" + b64(b[:])
}

// aadObjectID returns user i's Entra object id: a GUID whose first groups
// are the tenant tag and whose last group is i.
func (s *synthUsers) aadObjectID(i int) string {
	t := hex.EncodeToString(s.tag[:])
	h := mix(uint64(i) ^ binary.BigEndian.Uint64(append(s.tag[:], 0, 0)))
	return fmt.Sprintf("%s-%s-4%03x-8%03x-%012x", t[:8], t[8:12], h&0xfff, (h>>12)&0xfff, i)
}

// upn returns user i's UPN, which is also the email address.
func (s *synthUsers) upn(i int) string { return "user" + strconv.Itoa(i+1) + "@" + s.domain }

// user returns generated user i (a fresh value).
func (s *synthUsers) user(i int) *user {
	given := firstNames[i%len(firstNames)]
	sur := lastNames[(i/len(firstNames))%len(lastNames)]
	upn := s.upn(i)
	return &user{
		id: s.userID(i), aadObjectID: s.aadObjectID(i), tenantID: s.tenantID,
		name: given + " " + sur, givenName: given, surname: sur,
		email: upn, upn: upn, locale: "en-US", timezone: "America/Los_Angeles",
		installed: s.installed, synth: i,
	}
}

// index decodes a 29: id, Entra object id or UPN of a generated user.
func (s *synthUsers) index(key string) (int, bool) {
	switch {
	case strings.HasPrefix(key, "29:1"):
		b, err := base64.RawURLEncoding.DecodeString(key[4:])
		if err != nil || len(b) != 32 || !bytes.Equal(b[:6], s.tag[:]) {
			return 0, false
		}
		i := int(binary.BigEndian.Uint32(b[6:10]))
		return i, i < s.n && s.userID(i) == key
	case strings.Contains(key, "@"):
		local, domain, _ := strings.Cut(strings.ToLower(key), "@")
		num, ok := strings.CutPrefix(local, "user")
		if !ok || domain != s.domain {
			return 0, false
		}
		i, err := strconv.Atoi(num)
		if err != nil || i < 1 || i > s.n || strconv.Itoa(i) != num {
			return 0, false
		}
		return i - 1, true
	case isGUID(key):
		k := strings.ToLower(key)
		i64, err := strconv.ParseInt(k[24:], 16, 64)
		if err != nil || i64 >= int64(s.n) {
			return 0, false
		}
		return int(i64), s.aadObjectID(int(i64)) == k
	}
	return 0, false
}

// mix is SplitMix64's finaliser: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// firstNames and lastNames name the demo and generated users. The first
// names are distinct, so "<first>@<domain>" addresses are unique.
var firstNames = [...]string{
	"Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
	"Karl", "Laura", "Mallory", "Niaj", "Olivia", "Peggy", "Quentin", "Rupert", "Sybil", "Trent",
	"Ursula", "Victor", "Wendy", "Xavier", "Yvonne", "Zoe", "Aaron", "Bianca", "Chen", "Diego",
	"Elena", "Farid", "Gita", "Hiro", "Ines", "Jonas", "Kemal", "Lena", "Mateo", "Nadia",
	"Oskar", "Priya", "Rafael", "Sofia", "Tomas", "Uma", "Vera", "Wei", "Yusuf", "Zara",
}

var lastNames = [...]string{
	"Anderson", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
	"Kowalski", "Lopez", "Müller", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Silva", "Tanaka",
}
