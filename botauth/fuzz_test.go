package botauth_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"herald/botauth"
)

// FuzzVerify feeds arbitrary Authorization header values to a verifier
// whose key server publishes one test key. Verify must not panic, every
// refusal must be a token error (the key server never fails), and anything
// accepted must carry an RS256 signature by the test key, checked here with
// crypto/rsa directly.
func FuzzVerify(f *testing.F) {
	key := newTestKey(f, 0, "msteams")
	other := newTestKey(f, 1, "msteams")
	ks := newKeyServer(f, key)
	v := newVerifier(f, ks, func() time.Time { return t0 })

	valid := key.sign(f, key.kid, goodClaims(t0))
	parts := strings.Split(valid, ".")
	f.Add(bearerOf(valid))
	f.Add("bearer " + valid)
	f.Add("Bearer " + parts[0] + "." + parts[1] + ".")
	f.Add("Bearer " + parts[0] + "." + parts[1] + "." + parts[2] + "=")
	f.Add("Bearer " + other.sign(f, key.kid, goodClaims(t0)))
	f.Add("Bearer " + other.sign(f, other.kid, goodClaims(t0)))
	f.Add("Bearer " + signWith(f, jwt.SigningMethodNone, key.kid, goodClaims(t0), jwt.UnsafeAllowNoneSignatureType))
	f.Add("Bearer " + signWith(f, jwt.SigningMethodHS256, key.kid, goodClaims(t0), []byte("secret")))
	f.Add("Bearer " + b64(`{"alg":"RS256","kid":"`+key.kid+`"}`) + "." + b64(`{"exp":1e400}`) + "." + parts[2])
	f.Add("Bearer " + b64(`{"alg":"RS256","kid":["x"]}`) + "." + parts[1] + "." + parts[2])
	f.Add("Bearer a.b.c.d")
	f.Add("Bearer ..")
	f.Add("Basic " + valid)
	f.Add("")

	act := teamsActivity()
	f.Fuzz(func(t *testing.T, authorization string) {
		id, err := v.Verify(context.Background(), authorization, act)
		if err != nil {
			if !botauth.IsTokenError(err) {
				t.Fatalf("refusal %v is not a token error", err)
			}
			if id != nil {
				t.Fatalf("identity returned with error %v", err)
			}
			return
		}
		if !signedBy(&key.priv.PublicKey, authorization) {
			t.Fatalf("accepted a token not signed by the test key: %q", authorization)
		}
		if id.ServiceURL != act.ServiceURL || id.AppID != testAppID {
			t.Fatalf("accepted identity %+v", id)
		}
	})
}

// signedBy reports whether the bearer token in authorization has an RS256
// signature by pub over its first two segments.
func signedBy(pub *rsa.PublicKey, authorization string) bool {
	_, tok, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok {
		return false
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}
