package herald

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
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

// HasControl reports whether s holds a control character (C0, DEL or C1):
// identifiers, keys, topics and titles are one line of printable text, and
// no store keeps a NUL.
func HasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }) >= 0
}

// nulProblems refuses NUL in the content and the variables: no store
// keeps it in text, and no message needs it.
func (r NotificationRequest) nulProblems() []error {
	var errs []error
	if b, err := json.Marshal(r.Content); err == nil && bytes.Contains(b, []byte(`\u0000`)) {
		errs = append(errs, fieldError("content", "contains NUL (U+0000)"))
	}
	for k, v := range r.Variables {
		if strings.ContainsRune(k+v, 0) {
			errs = append(errs, fieldError("variables", "contains NUL (U+0000)"))
			break
		}
	}
	for who, vars := range r.RecipientVariables {
		bad := strings.ContainsRune(who, 0)
		for k, v := range vars {
			bad = bad || strings.ContainsRune(k+v, 0)
		}
		if bad {
			errs = append(errs, fieldError("recipientVariables", "contains NUL (U+0000)"))
			break
		}
	}
	return errs
}
