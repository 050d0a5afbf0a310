package emulator

import (
	cryptorand "crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// idgen makes ids in the shapes Teams uses. Its source is crypto/rand, or a
// seeded ChaCha8 stream when ids must be stable (the demo seed).
type idgen struct {
	r io.Reader
}

func randomIDs() idgen { return idgen{r: cryptorand.Reader} }

// seededIDs returns a generator whose ids depend only on seed.
func seededIDs(seed string) idgen {
	var s [32]byte
	copy(s[:], seed)
	return idgen{r: rand.NewChaCha8(s)}
}

func (g idgen) bytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(g.r, b); err != nil {
		panic(fmt.Sprintf("emulator: read random bytes: %v", err))
	}
	return b
}

// guid returns a random (version 4) GUID: tenant, Entra object and group ids.
func (g idgen) guid() string {
	b := g.bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

func formatGUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// userID returns a Teams user id: "29:1" and 43 opaque characters.
func (g idgen) userID() string { return "29:1" + b64(g.bytes(32)) }

// personalID returns the id of the personal chat between bot appID and a
// user: "a:1" and 64 characters. Like Teams, it is the same for the same
// pair every time (and in every run, when the user's id is).
func personalID(appID, userID string) string {
	sum := sha512.Sum512([]byte("personal\x00" + appID + "\x00" + userID))
	return "a:1" + b64(sum[:48])
}

// channelID returns a team or channel id: "19:<32 hex>@thread.tacv2".
func (g idgen) channelID() string { return "19:" + hex.EncodeToString(g.bytes(16)) + "@thread.tacv2" }

// groupChatID returns a group chat id: "19:<32 hex>@thread.v2".
func (g idgen) groupChatID() string { return "19:" + hex.EncodeToString(g.bytes(16)) + "@thread.v2" }

// operationID returns a batch operation id.
func (g idgen) operationID() string { return "amer_" + hex.EncodeToString(g.bytes(16)) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// threadID returns the conversation id of the thread whose root message is
// rootID in channel channelID.
func threadID(channelID, rootID string) string { return channelID + messageIDMarker + rootID }

const messageIDMarker = ";messageid="

// activityClock hands out message ids the way Teams does in channels:
// milliseconds since the epoch, strictly increasing. Caller holds e.mu.
type activityClock struct{ last int64 }

func (c *activityClock) next(now time.Time) string {
	ms := now.UnixMilli()
	if ms <= c.last {
		ms = c.last + 1
	}
	c.last = ms
	return strconv.FormatInt(ms, 10)
}

// isGUID reports whether s looks like a GUID (Entra object or tenant id).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
