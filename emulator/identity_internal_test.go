package emulator

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyConnectorToken(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	e := New(Config{Now: func() time.Time { return now }})
	defer e.Close()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"aud": ConnectorAudience, "iss": "https://sts.windows.net/" + BotFrameworkTenantID + "/",
			"appid": DefaultAppID, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	v2 := with("appid", nil)
	v2["azp"], v2["iss"] = DefaultAppID, "https://login.microsoftonline.com/"+BotFrameworkTenantID+"/v2.0"
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
	hs.Header["kid"] = e.keys.signer().kid
	hsToken, _ := hs.SignedString([]byte(DefaultAppSecret))
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"good", e.keys.signer().sign(good()), true},
		{"v2 token with azp", e.keys.signer().sign(v2), true},
		{"wrong audience", e.keys.signer().sign(with("aud", DefaultAppID)), false},
		{"other app", e.keys.signer().sign(with("appid", "11111111-1111-1111-1111-111111111111")), false},
		{"no app", e.keys.signer().sign(with("appid", nil)), false},
		{"channel issuer", e.keys.signer().sign(with("iss", ChannelIssuer)), false},
		{"expired beyond skew", e.keys.signer().sign(with("exp", now.Add(-6*time.Minute).Unix())), false},
		{"expired within skew", e.keys.signer().sign(with("exp", now.Add(-4*time.Minute).Unix())), true},
		{"not yet valid", e.keys.signer().sign(with("nbf", now.Add(10*time.Minute).Unix())), false},
		{"no expiry", e.keys.signer().sign(with("exp", nil)), false},
		{"unpublished key", e.keys.impostorKey().sign(good()), false},
		{"HS256", hsToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/teams/v3/teams/x", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			if err := e.verifyConnectorToken(r); (err == nil) != tt.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
