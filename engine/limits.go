package engine

import (
	"fmt"
	"sort"
	"time"
)

// Window is one sliding window of a rate limit: at most Max calls in any
// Period.
type Window struct {
	Period time.Duration `json:"period"`
	Max    int           `json:"max"`
}

// TeamsConversationWindows is Teams' published per-bot-per-thread limit for
// sends and conversation creations: 7 per 1 s, 8 per 2 s, 60 per 30 s and
// 1800 per 3600 s.
func TeamsConversationWindows() []Window {
	return []Window{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}, {time.Hour, 1800}}
}

// DefaultTenantRPS is Teams' published limit of calls per second per app per
// tenant.
const DefaultTenantRPS = 50

// Limits are the rate limits Herald applies before each call to Teams, so
// that a run against Teams' real limits sees no 429. The zero value is
// Teams' published table.
type Limits struct {
	// TenantRPS is the most calls per second (any sliding second) per
	// tenant. Zero means DefaultTenantRPS; negative means no tenant limit.
	TenantRPS int `json:"tenantRps"`
	// Conversation are the per-conversation windows, counting every call
	// to one conversation (a user's personal chat, or a channel with its
	// threads). Nil means TeamsConversationWindows; an empty non-nil slice
	// means no per-conversation limit.
	Conversation []Window `json:"conversation"`
	// Disabled turns pacing off (for measuring against an unlimited
	// emulator). A 429 still delays the delivery that got it.
	Disabled bool `json:"disabled"`
}

func (l Limits) resolved() Limits {
	if l.TenantRPS == 0 {
		l.TenantRPS = DefaultTenantRPS
	}
	if l.Conversation == nil {
		l.Conversation = TeamsConversationWindows()
	}
	ws := append([]Window(nil), l.Conversation...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Period < ws[j].Period })
	l.Conversation = ws
	return l
}

func (l Limits) validate() error {
	for i, w := range l.Conversation {
		if w.Period <= 0 || w.Max <= 0 {
			return fmt.Errorf("limits.conversation[%d]: period and max must be positive", i)
		}
	}
	return nil
}

// MinDuration is the least time n calls to one key can take under windows,
// measured from the first call to the last: the schedule that sends each
// call as early as the windows allow.
func MinDuration(n int, windows []Window) time.Duration {
	if n <= 1 {
		return 0
	}
	times := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		var t time.Duration
		if i > 0 {
			t = times[i-1]
		}
		for _, w := range windows {
			if w.Max > 0 && len(times) >= w.Max {
				t = max(t, times[len(times)-w.Max]+w.Period)
			}
		}
		times = append(times, t)
	}
	return times[n-1]
}
