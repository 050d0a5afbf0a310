package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald"

	"herald/botframework"
)

// A personal install or a personal message tells the bot a user's 29: id
// and Entra object id, never their email or UPN (Teams sends those only in
// rosters and member lookups). So that such a user can be reached by email
// or UPN, the bot fetches the member from the personal chat once, in a
// durable task (taskUserDetails: GET /v3/conversations/{personal
// chat}/members/{29: id}), the first time it records the user without
// those details. People added to a team or a group chat are fetched the
// same way at once, one job per event, from the team or chat they joined
// (queueMemberDetails), rather than at the next roster refresh.

// Spacing of member fetches for users whose details are still missing.
const (
	// detailsQueuedHold is how long after queueing a fetch the bot does
	// not queue one for the same user again: the store refuses a second
	// pending task anyway, the hold saves the write on every message.
	detailsQueuedHold = 10 * time.Minute
	// detailsMissFirst is how long after a fetch ended without details
	// (dropped after a 403 or 404, or after its last attempt) a new
	// message may queue another; each further miss doubles it, up to
	// detailsMissMax.
	detailsMissFirst = time.Hour
	detailsMissMax   = 24 * time.Hour
	// detailsGateSize bounds how many users the gate remembers.
	detailsGateSize = 1 << 16
)

// userDetailsTask is queued when a user reaches the bot personally before
// the directory knows their email or UPN.
type userDetailsTask struct {
	UserID         string `json:"userId,omitempty"`
	ConversationID string `json:"conversationId,omitempty"`
	TenantID       string `json:"tenantId,omitempty"`
	ServiceURL     string `json:"serviceUrl,omitempty"`
	// Users, when set, are the users of one job queued for a batch of
	// personal installs (welcome_batch.go); the fields above are empty.
	Users []userDetailsTask `json:"users,omitempty"`
}

// hasDetails reports whether a user can be found by email or UPN.
func hasDetails(u herald.User) bool { return u.Email != "" || u.UPN != "" }

// queueUserDetails queues the member fetch of a user who wrote to or
// installed the bot personally, unless the directory has their details
// already or a recent fetch of them is pending or came back empty.
func (b *Bot) queueUserDetails(ctx context.Context, a *botframework.Activity, u herald.User, tenantID string) error {
	if hasDetails(u) {
		return nil
	}
	now := b.now()
	if !b.details.allow(u.ID, now) {
		return nil
	}
	err := b.addTask(ctx, taskUserDetails, u.ID, userDetailsTask{UserID: u.ID, ConversationID: a.Conversation.ID,
		TenantID: firstNonEmpty(u.TenantID, tenantID), ServiceURL: a.ServiceURL})
	if err != nil {
		return fmt.Errorf("queue user details: %w", err)
	}
	b.details.queued(u.ID, now)
	return nil
}

// queueMemberDetails queues one member fetch for the people just added to
// a team or group chat (group: its id, where Teams knows them) whose
// details the directory lacks.
func (b *Bot) queueMemberDetails(ctx context.Context, a *botframework.Activity, group, tenantID string, users []herald.User) error {
	now := b.now()
	var fetch []userDetailsTask
	for _, u := range users {
		if hasDetails(u) || u.Uninstalled || !b.details.allow(u.ID, now) {
			continue
		}
		fetch = append(fetch, userDetailsTask{UserID: u.ID, ConversationID: group,
			TenantID: firstNonEmpty(u.TenantID, tenantID), ServiceURL: a.ServiceURL})
	}
	var err error
	switch len(fetch) {
	case 0:
		return nil
	case 1:
		err = b.addTask(ctx, taskUserDetails, fetch[0].UserID, fetch[0])
	default:
		err = b.addTask(ctx, taskUserDetails, "", userDetailsTask{Users: fetch})
	}
	if err != nil {
		return fmt.Errorf("queue member details: %w", err)
	}
	for _, f := range fetch {
		b.details.queued(f.UserID, now)
	}
	return nil
}

// runUserDetails runs a member fetch and remembers a fetch that ends
// without details, so that messages do not queue it again at once.
func (b *Bot) runUserDetails(ctx context.Context, t herald.Job) error {
	var p userDetailsTask
	if err := decodeTask(t, &p); err != nil {
		return err
	}
	users := p.Users
	if len(users) == 0 {
		users = []userDetailsTask{p}
	}
	// Each user on their own: a permanent failure ends that user's fetch;
	// a passing one retries the job, where those fetched already are
	// skipped (their details are in the directory).
	var retry error
	for _, u := range users {
		err := b.userDetails(ctx, u)
		switch {
		case err == nil:
		case permanent(err) || t.Final:
			b.details.missed(u.UserID, b.now())
			if len(users) == 1 {
				return err
			}
		case retry == nil:
			retry = err
		}
	}
	return retry
}

// userDetails fetches the user from their personal chat (else from the
// team or group chat the task names) and records their email, UPN, names
// and Entra ids. A user whose details arrived meanwhile
// (from a team roster) or who removed the app is left alone. A 403 or 404
// ends the task; a 403 saying the user blocked the bot marks them blocked,
// as a failed send does.
func (b *Bot) userDetails(ctx context.Context, p userDetailsTask) error {
	u, err := b.store.UserGet(ctx, p.UserID)
	if errors.Is(err, herald.ErrNotFound) {
		return fmt.Errorf("user details %s: %w: %w", p.UserID, err, errDrop)
	}
	if err != nil {
		return fmt.Errorf("user details: %w", err)
	}
	if hasDetails(u) || u.Uninstalled {
		b.details.forget(u.ID)
		return nil
	}
	convID := firstNonEmpty(u.ConversationID, p.ConversationID)
	svc := firstNonEmpty(u.ServiceURL, p.ServiceURL)
	if tenant := firstNonEmpty(u.TenantID, p.TenantID); svc == "" && tenant != "" {
		if tn, err := b.store.TenantGet(ctx, tenant); err == nil {
			svc = tn.ServiceURL
		}
	}
	if convID == "" || svc == "" {
		return fmt.Errorf("user details %s: no personal chat or serviceUrl known: %w", u.ID, errDrop)
	}
	m, err := b.cfg.Connector.Client(svc).GetMember(ctx, convID, u.ID)
	if err != nil {
		return fmt.Errorf("user details %s: %w", u.ID, recordUserFailure(ctx, b.store, u.ID, err))
	}
	if m.ID != "" && m.ID != u.ID {
		return fmt.Errorf("user details %s: Teams answered member %s: %w", u.ID, m.ID, errDrop)
	}
	got, err := b.store.UserUpsert(ctx, herald.UserUpsertParams{ID: u.ID, TenantID: m.TenantID, AADObjectID: m.EntraID(),
		UPN: m.UserPrincipalName, Email: m.Email, Name: m.Name, GivenName: m.GivenName, Surname: m.Surname})
	if err != nil {
		return fmt.Errorf("user details: %w", err)
	}
	if !hasDetails(got) {
		// Retried with the task's backoff, then dropped (see runUserDetails).
		return fmt.Errorf("user details %s: Teams sent no email or UPN", u.ID)
	}
	b.details.forget(u.ID)
	return nil
}

// detailsGate remembers, per user, when the bot may next queue a member
// fetch: shortly after queueing one, and for a growing while after one came
// back without details. It lives in memory, one per Bot: after a restart,
// or on another node sharing the store, a message may queue one fetch
// early, which the store's pending-task check still deduplicates.
type detailsGate struct {
	mu sync.Mutex
	m  map[string]gateEntry
}

type gateEntry struct {
	until   time.Time
	misses  int
	pending bool // a fetch was queued (not: came back empty)
}

func (g *detailsGate) allow(userID string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.m[userID]
	return !ok || !now.Before(e.until)
}

func (g *detailsGate) queued(userID string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.m[userID]
	e.until, e.pending = now.Add(detailsQueuedHold), true
	g.put(userID, e, now)
}

func (g *detailsGate) missed(userID string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.m[userID]
	e.misses++
	e.until, e.pending = now.Add(missWait(e.misses)), false
	g.put(userID, e, now)
}

// reopen lets a fetch be queued at once again (a new install), unless one
// was just queued.
func (g *detailsGate) reopen(userID string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.m[userID]; ok && !(e.pending && now.Before(e.until)) {
		delete(g.m, userID)
	}
}

func (g *detailsGate) forget(userID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, userID)
}

// put stores e, first making room: entries long expired go, then (when
// every entry is recent) arbitrary ones. Caller holds g.mu.
func (g *detailsGate) put(userID string, e gateEntry, now time.Time) {
	if g.m == nil {
		g.m = map[string]gateEntry{}
	}
	if _, ok := g.m[userID]; !ok && len(g.m) >= detailsGateSize {
		for id, old := range g.m {
			if now.Sub(old.until) > detailsMissMax {
				delete(g.m, id)
			}
		}
		for id := range g.m {
			if len(g.m) < detailsGateSize {
				break
			}
			delete(g.m, id)
		}
	}
	g.m[userID] = e
}

// missWait is the wait after the n-th fetch without details: 1h, 2h, 4h …
// capped at detailsMissMax.
func missWait(n int) time.Duration {
	d := detailsMissFirst
	for i := 1; i < n && d < detailsMissMax; i++ {
		d *= 2
	}
	return min(d, detailsMissMax)
}
