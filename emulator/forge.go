package emulator

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Forge kinds: a valid token, and tokens a bot must refuse.
const (
	ForgeValid              = "valid"
	ForgeWrongKey           = "wrong-key"      // signed by an unpublished key claiming the current kid
	ForgeWrongAudience      = "wrong-audience" // aud is another app
	ForgeWrongIssuer        = "wrong-issuer"
	ForgeServiceURLMismatch = "serviceurl-mismatch" // serviceurl claim differs from activity.serviceUrl
	ForgeExpired            = "expired"             // expired an hour ago
	ForgeNotYetValid        = "not-yet-valid"       // nbf an hour ahead
	ForgeNoEndorsement      = "no-endorsement"      // signed by a published key that does not endorse msteams
	ForgeHS256              = "hs256"               // HMAC-signed with the app secret
	ForgeNone               = "none"                // alg none, no signature
	ForgeNoToken            = "no-token"            // no Authorization header
)

// ForgeKinds lists every forge kind.
func ForgeKinds() []string {
	return []string{ForgeValid, ForgeWrongKey, ForgeWrongAudience, ForgeWrongIssuer, ForgeServiceURLMismatch,
		ForgeExpired, ForgeNotYetValid, ForgeNoEndorsement, ForgeHS256, ForgeNone, ForgeNoToken}
}

// ForgeSpec asks for one activity posted to the bot with a chosen token.
type ForgeSpec struct {
	// Kind is one of ForgeKinds.
	Kind string `json:"kind"`
	// Activity is the activity to post; empty means a message from the
	// first user in their personal chat. Missing serviceUrl and channelId
	// are filled in.
	Activity json.RawMessage `json:"activity,omitempty"`
}

// ForgeResult is the bot's answer to a forged post.
type ForgeResult struct {
	Kind   string `json:"kind"`   // the forge kind
	Status int    `json:"status"` // the bot's HTTP status (0: no bot)
}

// Forge posts one activity to the bot with a deliberately good or bad
// token, and returns the bot's status. The activity is not recorded.
func (e *Emulator) Forge(ctx context.Context, s ForgeSpec) (ForgeResult, error) {
	if !slices.Contains(ForgeKinds(), s.Kind) {
		return ForgeResult{}, invalid("kind", "kind must be one of %v", ForgeKinds())
	}
	act, convID, tenantID, err := e.forgeActivity(s.Activity)
	if err != nil {
		return ForgeResult{}, err
	}
	body, _ := json.Marshal(act)
	status, err := e.postToBot(ctx, body, convID, tenantID, e.forgeToken(s.Kind))
	if err != nil {
		return ForgeResult{}, err
	}
	return ForgeResult{Kind: s.Kind, Status: status}, nil
}

// forgeActivity returns the activity to forge as a JSON object.
func (e *Emulator) forgeActivity(raw json.RawMessage) (map[string]any, string, string, error) {
	act := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &act); err != nil {
			return nil, "", "", invalid("activity", "activity is not a JSON object: %v", err)
		}
	} else {
		act = e.defaultForgeActivity()
	}
	if _, ok := act["serviceUrl"]; !ok {
		act["serviceUrl"] = e.ServiceURL()
	}
	if _, ok := act["channelId"]; !ok {
		act["channelId"] = "msteams"
	}
	var convID, tenantID string
	if conv, ok := act["conversation"].(map[string]any); ok {
		convID, _ = conv["id"].(string)
		tenantID, _ = conv["tenantId"].(string)
	}
	return act, convID, tenantID, nil
}

func (e *Emulator) defaultForgeActivity() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	act := map[string]any{
		"type": "message", "id": e.clock.next(now), "timestamp": now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"text": "hello", "textFormat": "plain", "locale": "en-US",
		"recipient": map[string]any{"id": e.BotID(), "name": e.cfg.BotName},
	}
	for _, tid := range e.tenantOrder {
		t := e.tenants[tid]
		if t.userCount() == 0 {
			continue
		}
		u := e.tenantUser(t, 0)
		convID := personalID(e.cfg.AppID, u.id)
		act["from"] = map[string]any{"id": u.id, "name": u.name, "aadObjectId": u.aadObjectID}
		act["conversation"] = map[string]any{"id": convID, "conversationType": "personal", "tenantId": t.id}
		act["channelData"] = map[string]any{"tenant": map[string]any{"id": t.id}}
		return act
	}
	act["from"] = map[string]any{"id": "29:1forged", "name": "Forged User"}
	act["conversation"] = map[string]any{"id": "a:1forged", "conversationType": "personal"}
	return act
}

// forgeToken returns the bearer token of a forge kind ("" for no token).
func (e *Emulator) forgeToken(kind string) string {
	now := e.now()
	claims := e.channelClaims(now)
	signer := e.keys.signer()
	switch kind {
	case ForgeNoToken:
		return ""
	case ForgeWrongKey:
		signer = e.keys.impostorKey()
	case ForgeWrongAudience:
		claims["aud"] = "ffffffff-0000-4000-8000-000000000bad"
	case ForgeWrongIssuer:
		claims["iss"] = "https://api.botframework.invalid"
	case ForgeServiceURLMismatch:
		claims["serviceurl"] = "https://smba.invalid/teams/"
	case ForgeExpired:
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case ForgeNotYetValid:
		claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	case ForgeNoEndorsement:
		signer = e.keys.unendorsedKey()
	case ForgeHS256:
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		t.Header["kid"] = signer.kid
		s, _ := t.SignedString([]byte(e.cfg.AppSecret))
		return s
	case ForgeNone:
		t := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
		s, _ := t.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	return signer.sign(claims)
}
