package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyHistory is how many previous signing keys the JWKS keeps after a
// rotation, so tokens signed just before it still verify.
const keyHistory = 2

// signingKey is an RSA key with the self-signed certificate Microsoft
// publishes its keys with; kid and x5t are the certificate's SHA-1
// thumbprint.
type signingKey struct {
	priv         *rsa.PrivateKey
	kid          string
	cert         []byte
	endorsements []string
}

func newSigningKey(endorsements ...string) *signingKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("emulator: generate RSA key: %v", err))
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "login.botframework.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		panic(fmt.Sprintf("emulator: create certificate: %v", err))
	}
	sum := sha1.Sum(der)
	return &signingKey{priv: priv, kid: base64.RawURLEncoding.EncodeToString(sum[:]), cert: der, endorsements: endorsements}
}

// jwk is one key of a JWKS, with Microsoft's endorsements member.
type jwk struct {
	Kty          string   `json:"kty"`
	Use          string   `json:"use"`
	Kid          string   `json:"kid"`
	X5t          string   `json:"x5t"`
	N            string   `json:"n"`
	E            string   `json:"e"`
	X5c          []string `json:"x5c"`
	Endorsements []string `json:"endorsements,omitempty"`
}

func (k *signingKey) jwk() jwk {
	return jwk{
		Kty: "RSA", Use: "sig", Kid: k.kid, X5t: k.kid,
		N:            base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
		E:            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()),
		X5c:          []string{base64.StdEncoding.EncodeToString(k.cert)},
		Endorsements: k.endorsements,
	}
}

// sign returns claims signed RS256 by k, with kid and x5t headers.
func (k *signingKey) sign(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	t.Header["x5t"] = k.kid
	s, err := t.SignedString(k.priv)
	if err != nil {
		panic(fmt.Sprintf("emulator: sign token: %v", err))
	}
	return s
}

// keyring holds the published keys: the current signing key, the previous
// ones, and one key that endorses a channel other than msteams (used to
// forge tokens a bot must refuse).
type keyring struct {
	mu         sync.RWMutex
	current    *signingKey
	next       *signingKey // published ahead of use; the next rotation signs with it
	previous   []*signingKey
	unendorsed *signingKey
	impostor   *signingKey // not published; made on first use
}

func newKeyring() *keyring {
	return &keyring{current: newSigningKey("msteams"), unendorsed: newSigningKey("webchat")}
}

func (kr *keyring) signer() *signingKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current
}

// published returns every key of the JWKS, the current one first, then a
// staged next key, the previous ones and the unendorsed one.
func (kr *keyring) published() []*signingKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	out := []*signingKey{kr.current}
	if kr.next != nil {
		out = append(out, kr.next)
	}
	out = append(out, kr.previous...)
	return append(out, kr.unendorsed)
}

func (kr *keyring) lookup(kid string) *signingKey {
	for _, k := range kr.published() {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// stage publishes a new key without signing with it yet, as Microsoft
// publishes keys ahead of use; the next rotate promotes it.
func (kr *keyring) stage() {
	k := newSigningKey("msteams")
	kr.mu.Lock()
	defer kr.mu.Unlock()
	kr.next = k
}

// rotate makes a new current key: the staged one if there is one, else a
// fresh key. The old one stays published (up to keyHistory keys) unless
// retire is set.
func (kr *keyring) rotate(retire bool) {
	kr.mu.Lock()
	k := kr.next
	kr.next = nil
	kr.mu.Unlock()
	if k == nil {
		k = newSigningKey("msteams")
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if retire {
		kr.previous = nil
	} else {
		kr.previous = append([]*signingKey{kr.current}, kr.previous...)
		if len(kr.previous) > keyHistory {
			kr.previous = kr.previous[:keyHistory]
		}
	}
	kr.current = k
}

func (kr *keyring) unendorsedKey() *signingKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.unendorsed
}

// impostorKey returns an unpublished key that claims the current key's kid.
func (kr *keyring) impostorKey() *signingKey {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.impostor == nil {
		kr.impostor = newSigningKey("msteams")
	}
	fake := *kr.impostor
	fake.kid = kr.current.kid
	return &fake
}

// KeyInfo describes the published signing keys.
type KeyInfo struct {
	// Current is the kid that signs new tokens.
	Current string `json:"current"`
	// Next is the kid published ahead of use, if one is staged.
	Next string `json:"next,omitempty"`
	// Published lists every kid in the JWKS, Current first.
	Published []string `json:"published"`
}

func (kr *keyring) info() KeyInfo {
	ks := kr.published()
	info := KeyInfo{Current: ks[0].kid}
	kr.mu.RLock()
	if kr.next != nil {
		info.Next = kr.next.kid
	}
	kr.mu.RUnlock()
	for _, k := range ks {
		info.Published = append(info.Published, k.kid)
	}
	return info
}

// RotateKeys replaces the signing key. The previous keys stay in the JWKS
// (the last two) so tokens already issued keep verifying, unless retireOld
// is set, which removes them at once.
func (e *Emulator) RotateKeys(retireOld bool) KeyInfo {
	e.keys.rotate(retireOld)
	e.notify()
	return e.keys.info()
}

// StageNextKey publishes a new signing key in the JWKS without signing with
// it, the way Microsoft publishes keys before using them: a bot that fetches
// the keys afterwards already knows the key the next RotateKeys switches to.
func (e *Emulator) StageNextKey() KeyInfo {
	e.keys.stage()
	e.notify()
	return e.keys.info()
}

// Keys returns the published signing keys.
func (e *Emulator) Keys() KeyInfo { return e.keys.info() }
