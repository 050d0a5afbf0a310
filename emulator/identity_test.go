package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"herald/emulator"
)

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.demo(t)
	form := func(mod func(url.Values)) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {emulator.DefaultAppID},
			"client_secret": {emulator.DefaultAppSecret}, "scope": {"https://api.botframework.com/.default"}}
		if mod != nil {
			mod(v)
		}
		return v
	}
	tests := []struct {
		name    string
		tenant  string
		form    url.Values
		status  int
		errCode string
		tid     string
	}{
		{"multi-tenant", "botframework.com", form(nil), 200, "", emulator.BotFrameworkTenantID},
		{"single-tenant", emulator.DemoTenantID, form(nil), 200, "", emulator.DemoTenantID},
		{"tenant by domain", "contoso.com", form(nil), 200, "", emulator.DemoTenantID},
		{"wrong secret", "botframework.com", form(func(v url.Values) { v.Set("client_secret", "nope") }), 401, "invalid_client", ""},
		{"wrong app", "botframework.com", form(func(v url.Values) { v.Set("client_id", "someone-else") }), 401, "invalid_client", ""},
		{"wrong grant", "botframework.com", form(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type", ""},
		{"wrong scope", "botframework.com", form(func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/.default") }), 400, "invalid_scope", ""},
		{"unknown tenant", "00000000-1111-2222-3333-444444444444", form(nil), 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.PostForm(b.em.TokenURL(tt.tenant), tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || tt.errCode != "" && body["error"] != tt.errCode {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, body, tt.status, tt.errCode)
			}
			if tt.status != 200 {
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["ext_expires_in"] != 3600.0 {
				t.Fatalf("token response %v", body)
			}
			claims := jwt.MapClaims{}
			tok, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), claims)
			if err != nil || tok.Method.Alg() != "RS256" {
				t.Fatalf("token %v: %v", tok, err)
			}
			if claims["aud"] != "https://api.botframework.com" || claims["appid"] != emulator.DefaultAppID ||
				claims["tid"] != tt.tid || claims["iss"] != "https://sts.windows.net/"+tt.tid+"/" {
				t.Fatalf("claims %v", claims)
			}
		})
	}
}

func TestConnectorAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	good := b.token(t)
	parts := strings.Split(good, ".")
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"valid", "Bearer " + good, 201},
		{"none", "", 401},
		{"not bearer", "Basic " + good, 401},
		{"garbage", "Bearer abc.def.ghi", 401},
		{"bad signature", "Bearer " + parts[0] + "." + parts[1] + ".AAAA", 401},
		{"channel token (wrong audience)", "Bearer " + channelToken(t, b), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.callWith(t, tt.auth, "POST", "v3/conversations/"+esc(conv)+"/activities", message("hi"))
			if r.status != tt.want {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.want, r.body)
			}
			if tt.want == 401 && string(r.body) != `{"message":"Authorization has been denied for this request."}` {
				t.Fatalf("401 body %s", r.body)
			}
		})
	}
	b.clock.Advance(66 * time.Minute) // past expiry and the 5 minutes of skew
	if r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", message("hi")); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
}

// channelToken returns a token the channel signed for the bot (from an
// activity the bot received).
func channelToken(t *testing.T, b *bundle) string {
	t.Helper()
	b.bot.await(t, 1)
	b.bot.mu.Lock()
	defer b.bot.mu.Unlock()
	return strings.TrimPrefix(b.bot.headers[0].Get("Authorization"), "Bearer ")
}

func TestMetadataAndKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var meta map[string]any
	if err := getJSON(b.em.MetadataURL(), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["issuer"] != "https://api.botframework.com" || meta["jwks_uri"] != b.em.KeysURL() {
		t.Fatalf("metadata %v", meta)
	}
	// Teams SDK v2 derives the keys URL from the metadata URL.
	if strings.TrimSuffix(b.em.MetadataURL(), "/openidconfiguration")+"/keys" != b.em.KeysURL() {
		t.Fatalf("keys are not the sibling of the metadata")
	}
	var set struct{ Keys []testJWK }
	if err := getJSON(b.em.KeysURL(), &set); err != nil {
		t.Fatal(err)
	}
	first := set.Keys[0]
	if first.Kty != "RSA" || first.Kid == "" || first.Kid != first.X5t || len(first.Endorsements) != 1 || first.Endorsements[0] != "msteams" {
		t.Fatalf("first key %+v", first)
	}
	var msal map[string]any
	if err := getJSON(b.srv.URL+"/botframework.com/v2.0/.well-known/openid-configuration", &msal); err != nil {
		t.Fatal(err)
	}
	if msal["token_endpoint"] != b.em.TokenURL("botframework.com") || msal["authorization_endpoint"] == nil {
		t.Fatalf("MSAL metadata %v", msal)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	old := b.token(t)
	k1 := b.em.Keys().Current
	info := b.em.RotateKeys(false)
	if info.Current == k1 || info.Published[1] != k1 {
		t.Fatalf("after rotation: %+v (old %s)", info, k1)
	}
	// The bot verifies new activities with the new key, found in the JWKS.
	if _, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: d.Users[0].ID, Text: "after rotation"}); err != nil {
		t.Fatal(err)
	}
	b.bot.await(t, 3)
	if r := b.callWith(t, "Bearer "+old, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status != 201 {
		t.Fatalf("token of the previous key: %d", r.status)
	}
	b.em.RotateKeys(true)
	if r := b.callWith(t, "Bearer "+old, "POST", "v3/conversations/"+esc(conv)+"/activities", message("x")); r.status != 401 {
		t.Fatalf("token of a retired key: %d", r.status)
	}
}

func TestStagedKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k1 := b.em.Keys().Current
	staged := b.em.StageNextKey()
	if staged.Current != k1 || staged.Next == "" || staged.Next == k1 {
		t.Fatalf("after staging: %+v (current %s)", staged, k1)
	}
	if !contains(staged.Published, staged.Next) {
		t.Fatalf("staged key %s not published: %v", staged.Next, staged.Published)
	}
	rotated := b.em.RotateKeys(false)
	if rotated.Current != staged.Next || rotated.Next != "" || !contains(rotated.Published, k1) {
		t.Fatalf("rotation did not promote the staged key: %+v (staged %s)", rotated, staged.Next)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
