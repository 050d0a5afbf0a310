package herald

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Scope is what an API key may do.
type Scope string

// Scopes. ScopeAdmin grants everything, without limits: sending
// (critical notifications included), reading, changing people's
// preferences and managing keys.
const (
	// ScopeSend sends notifications (POST /v1/notifications, /v1/send)
	// and cancels or retries those the key sent, within the key's limits.
	ScopeSend Scope = "send"
	// ScopeRead reads notifications, deliveries, the directory and topics.
	ScopeRead Scope = "read"
	// ScopeAdmin grants everything.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope, in the order help texts show them.
var Scopes = []Scope{ScopeSend, ScopeRead, ScopeAdmin}

// APIKeyPrefix starts every key Herald makes, so a leaked key is
// recognisable.
const APIKeyPrefix = "hk_"

// APIKey is an API key as the store keeps it: its SHA-256, never the key
// itself, with what it may do. The key is shown once, when it is made
// (NewAPIKey).
type APIKey struct {
	// ID names the key ("k_" + 26 characters); the key itself carries it.
	ID string `json:"id"`
	// Name says whose or what the key is, for people.
	Name string `json:"name"`
	// Hash is the SHA-256 of the key.
	Hash []byte `json:"-"`
	// Scopes are what the key may do.
	Scopes []Scope `json:"scopes"`
	// Topics, when set, limit sending to notifications whose topic is one
	// of them (and to topic audiences among them).
	Topics []string `json:"topics,omitempty"`
	// Audiences, when set, limit sending to audiences whose every entry
	// one of them allows: entries in the text form of ParseAudience
	// ("team:Engineering", "channel:Ops/Alerts"), written exactly as the
	// request writes them, where the value "*" allows any entry of its
	// kind ("user:*") and "channel:<team>/*" any channel of a team.
	Audiences []string `json:"audiences,omitempty"`
	// Critical allows sending critical notifications (which ignore
	// opt-outs).
	Critical bool `json:"critical,omitempty"`
	// CreatedAt, RevokedAt and LastUsedAt are the key's times; a key
	// with RevokedAt set is refused.
	CreatedAt  time.Time `json:"createdAt"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
}

// Creator is who asked for a notification: the API key it came with.
type Creator struct {
	// KeyID is the key's id: "k_…" for a key in the store, "config:N"
	// for the Nth key given to `herald serve` (--api-key, HERALD_API_KEYS,
	// or the generated key file).
	KeyID string `json:"keyId"`
	// KeyName is the key's name when it was used.
	KeyName string `json:"keyName,omitempty"`
}

// Creator returns the attribution of a notification sent with k.
func (k APIKey) Creator() Creator { return Creator{KeyID: k.ID, KeyName: k.Name} }

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Has reports whether the key grants scope s; admin grants every scope.
func (k APIKey) Has(s Scope) bool {
	return slices.Contains(k.Scopes, ScopeAdmin) || slices.Contains(k.Scopes, s)
}

// Matches reports whether key is this key, comparing SHA-256 digests in
// constant time.
func (k APIKey) Matches(key string) bool {
	sum := sha256.Sum256([]byte(key))
	return len(k.Hash) == sha256.Size && subtle.ConstantTimeCompare(sum[:], k.Hash) == 1
}

// Key ids and secrets: the key is APIKeyPrefix, the 26 characters of its
// id after "k_", "_", then 32 random bytes in unpadded base64url.
const (
	keyIDChars     = 26
	keySecretBytes = 32
	keyLen         = len(APIKeyPrefix) + keyIDChars + 1 + (keySecretBytes*8+5)/6
)

// NewAPIKey fills k's ID and Hash for a new key and returns the key, to
// be shown once: only its hash is kept.
func NewAPIKey(k APIKey, now time.Time) (APIKey, string, error) {
	b := make([]byte, keySecretBytes)
	if _, err := rand.Read(b); err != nil {
		return APIKey{}, "", fmt.Errorf("new API key: %w", err)
	}
	k.ID = NewID("k", now)
	key := APIKeyPrefix + strings.TrimPrefix(k.ID, "k_") + "_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	k.Hash, k.CreatedAt = sum[:], now
	return k, key, nil
}

// APIKeyID returns the id carried by a key Herald made, and false for
// anything else.
func APIKeyID(key string) (string, bool) {
	if len(key) != keyLen || !strings.HasPrefix(key, APIKeyPrefix) || key[len(APIKeyPrefix)+keyIDChars] != '_' {
		return "", false
	}
	id := key[len(APIKeyPrefix) : len(APIKeyPrefix)+keyIDChars]
	for _, r := range id {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", r) {
			return "", false
		}
	}
	return "k_" + id, true
}

// maxKeyName bounds a key's name.
const maxKeyName = 100

// Validate checks a key's name, scopes and limits before it is made. Its
// error wraps ErrInvalid and holds a [*FieldError] per problem.
func (k APIKey) Validate() error {
	var errs []error
	if strings.TrimSpace(k.Name) == "" || len(k.Name) > maxKeyName || !printable(k.Name) {
		errs = append(errs, fieldError("name", "want 1 to %d printable characters", maxKeyName))
	}
	if len(k.Scopes) == 0 {
		errs = append(errs, fieldError("scopes", "name at least one of send, read, admin"))
	}
	for i, s := range k.Scopes {
		if !slices.Contains(Scopes, s) {
			errs = append(errs, fieldError(fmt.Sprintf("scopes[%d]", i), "%q is not send, read or admin", s))
		}
	}
	limited := len(k.Topics) > 0 || len(k.Audiences) > 0 || k.Critical
	switch {
	case limited && slices.Contains(k.Scopes, ScopeAdmin):
		errs = append(errs, fieldError("scopes", "an admin key may do everything: topics, audiences and critical apply to send keys"))
	case limited && !slices.Contains(k.Scopes, ScopeSend):
		errs = append(errs, fieldError("scopes", "topics, audiences and critical need the send scope"))
	}
	for i, t := range k.Topics {
		if strings.TrimSpace(t) == "" || len(t) > maxIdentifier || !printable(t) {
			errs = append(errs, fieldError(fmt.Sprintf("topics[%d]", i), "want 1 to %d printable characters", maxIdentifier))
		}
	}
	for i, a := range k.Audiences {
		if msg := audienceLimitProblem(a); msg != "" {
			errs = append(errs, fieldError(fmt.Sprintf("audiences[%d]", i), "%s", msg))
		}
	}
	return invalid(errs...)
}

// audienceLimitProblem says what is wrong with an entry of Audiences.
func audienceLimitProblem(a string) string {
	kind, value, ok := strings.Cut(a, ":")
	switch {
	case !ok || value == "" || len(a) > maxIdentifier || !printable(a) || strings.ContainsAny(a, ",\n\r"):
		return fmt.Sprintf("%q: want kind:value (value * for any), such as team:Engineering or user:*", a)
	case !slices.Contains([]string{audUser, audTeam, audChannel, audReply, audTenant, audTopic, audConv}, kind):
		return fmt.Sprintf("%q: unknown kind %q (user, team, channel, reply, tenant, topic, conversation)", a, kind)
	}
	return ""
}

// printable reports whether s is UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
