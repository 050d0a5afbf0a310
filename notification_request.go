package herald

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint identifies what a request asks for, so that a store can
// tell a repeat of a request (same idempotency key, same request: the
// first notification is the answer) from a different request that reuses
// the key (ErrIdempotencyMismatch). It is the hex SHA-256 of the request's
// JSON without its IdempotencyKey; encoding/json writes struct fields in
// declaration order and map keys sorted, so equal requests give equal
// fingerprints. Callers fingerprint the request as stored (the engine
// resolves PriorityAuto first), so "auto" and the priority it resolves to
// count as the same request.
func (r NotificationRequest) Fingerprint() string {
	r.IdempotencyKey = ""
	b, err := json.Marshal(r)
	if err != nil {
		// Content that does not encode cannot be stored either; an empty
		// fingerprint matches nothing but the empty one.
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// WelcomeTitle is the Title (and Content.Summary) of the welcome messages
// the bot sends on its own when it is installed for a user or a team.
const WelcomeTitle = "Welcome"

// IsWelcome reports whether the request is one of the bot's own welcome
// messages: the bot sends them as critical, high priority requests with
// Title and Content.Summary WelcomeTitle and no topic or update key.
// Listings use it to leave welcomes out (NotificationListParams.NoWelcomes).
// A request sent through the API with exactly those values counts as a
// welcome too.
func (r NotificationRequest) IsWelcome() bool {
	return r.Title == WelcomeTitle && r.Content.Summary == WelcomeTitle && r.Critical &&
		r.Priority == PriorityHigh && r.Topic == "" && r.Key == ""
}
