package bot

import (
	"sync"
	"time"
)

// Teams sends two or more activities for one event (a personal install
// comes as an installationUpdate and a conversationUpdate), each naming the
// same tenant and conversation. recentWrites remembers the directory writes
// this process made lately, so that an identical one within recentWindow
// is skipped, and the personal welcomes it stored, so that the second
// activity of an install does not look them up again. It only ever skips
// what the store already holds: a write is remembered after it succeeded.
type recentWrites struct {
	mu sync.Mutex
	m  map[string]time.Time
}

const (
	// recentWindow is how long an identical directory write is skipped
	// (the tenant's last-seen time is that coarse).
	recentWindow = time.Minute
	// recentSize bounds what is remembered; when full, everything is
	// forgotten (the next writes are merely not skipped).
	recentSize = 1 << 16
)

// fresh reports whether key was written within recentWindow before now.
func (r *recentWrites) fresh(key string, now time.Time) bool {
	at, ok := r.at(key)
	return ok && !now.Before(at) && now.Sub(at) < recentWindow
}

// at returns when key was remembered.
func (r *recentWrites) at(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.m[key]
	return at, ok
}

// wrote remembers key as written at now.
func (r *recentWrites) wrote(key string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) >= recentSize {
		r.m = make(map[string]time.Time)
	}
	r.m[key] = now
}
