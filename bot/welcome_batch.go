package bot

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald"
)

// Personal welcomes through the delivery engine are stored in batches: an
// install's request waits until its welcome is stored (so Teams' 200 means
// the welcome will go out), and installs that arrive while a batch is
// being stored share the next one, as a group commit. A batch is one
// notification per bot name, whose card names each recipient through the
// engine's per-recipient variables; it is stored in one transaction with
// its expansion job and the welcome records, so each person is welcomed
// once even across processes.

// welcomeNameVar is the per-recipient placeholder of the person's name.
const welcomeNameVar = "heraldWelcomeName"

// maxWelcomeBatch bounds the people of one batch.
const maxWelcomeBatch = 1000

// welcomeLinger is how long a batch waits for more welcomes before it is
// stored: a burst of installs then shares a few notifications and jobs
// instead of one each (measured: without it, batches held two installs).
const welcomeLinger = 5 * time.Millisecond

// welcomeQueue holds the personal welcomes waiting for a batch.
type welcomeQueue struct {
	mu      sync.Mutex
	pending []*welcomeReq
	storing bool // a goroutine is storing batches
}

type welcomeReq struct {
	p    personalWelcomeTask
	done chan error
}

// add queues p and returns once the batch holding it is stored. The first
// caller to find no batch being stored stores its own batch and, if more
// arrived meanwhile, leaves a goroutine storing them.
func (q *welcomeQueue) add(ctx context.Context, b *Bot, n Notifier, p personalWelcomeTask) error {
	if at, ok := b.recent.at(welcomedKey(p.UserID)); ok && b.welcome.recent(at, b.now()) {
		return nil // stored just now (Teams' second activity of the install)
	}
	r := &welcomeReq{p: p, done: make(chan error, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	lead := !q.storing
	q.storing = true
	q.mu.Unlock()
	if lead {
		q.storeNext(context.WithoutCancel(ctx), b, n)
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.storing = false
		} else {
			go q.storeAll(context.WithoutCancel(ctx), b, n)
		}
		q.mu.Unlock()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storeAll stores batches until none is waiting.
func (q *welcomeQueue) storeAll(ctx context.Context, b *Bot, n Notifier) {
	for {
		q.storeNext(ctx, b, n)
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.storing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// storeNext stores the waiting welcomes (up to maxWelcomeBatch), after
// lingering for more, and tells each request the outcome.
func (q *welcomeQueue) storeNext(ctx context.Context, b *Bot, n Notifier) {
	linger := time.NewTimer(welcomeLinger)
	select {
	case <-linger.C:
	case <-ctx.Done():
		linger.Stop()
	}
	q.mu.Lock()
	k := min(len(q.pending), maxWelcomeBatch)
	batch := q.pending[:k:k]
	q.pending = q.pending[k:]
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := b.storeWelcomes(ctx, n, batch)
	if errors.Is(err, herald.ErrConflict) {
		err = b.storeWelcomes(ctx, n, batch) // someone welcomed one of them meanwhile: decide again
	}
	for _, r := range batch {
		r.done <- err
	}
}

// storeWelcomes stores one batch: for each bot name, one notification to
// the people still to be welcomed; and one job fetching the email and UPN
// of those whose details the directory lacks (Teams leaves them out of
// personal installs), in the same transaction as the first notification.
func (b *Bot) storeWelcomes(ctx context.Context, n Notifier, batch []*welcomeReq) error {
	groups, details, err := b.welcomeGroups(ctx, batch)
	if err != nil {
		return err
	}
	var fetch *userDetailsTask
	if len(details) > 0 {
		fetch = &userDetailsTask{Users: details}
	}
	for _, g := range groups {
		if err := b.storeWelcomeGroup(ctx, n, g, fetch); err != nil {
			return err
		}
		fetch = nil
	}
	if fetch != nil {
		if err := b.addTask(ctx, taskUserDetails, "", fetch); err != nil {
			return err
		}
	}
	now := b.now()
	for _, d := range details {
		b.details.queued(d.UserID, now)
	}
	return nil
}

// welcomeGroup is the people of a batch welcomed by one card.
type welcomeGroup struct {
	botName string
	named   bool // the card names each person (else: nobody has a name)
	users   []herald.User
	marks   []herald.WelcomeMark
}

// welcomeGroups picks the people of batch to welcome (installed,
// reachable, not welcomed within the window; each once) and groups them
// by card; it also returns the member fetches the batch calls for.
func (b *Bot) welcomeGroups(ctx context.Context, batch []*welcomeReq) ([]*welcomeGroup, []userDetailsTask, error) {
	seen := map[string]bool{}
	type card struct {
		botName string
		named   bool
	}
	byCard := map[card]*welcomeGroup{}
	var out []*welcomeGroup
	var details []userDetailsTask
	now := b.now()
	for _, r := range batch {
		if seen[r.p.UserID] {
			continue
		}
		seen[r.p.UserID] = true
		if at, ok := b.recent.at(welcomedKey(r.p.UserID)); ok && b.welcome.recent(at, now) {
			continue // this process welcomed them just now (Teams' second activity of the install)
		}
		u, err := b.store.UserGet(ctx, r.p.UserID)
		if err != nil {
			return nil, nil, err
		}
		if !hasDetails(u) && !u.Uninstalled && b.details.allow(u.ID, now) {
			details = append(details, userDetailsTask{UserID: u.ID, ConversationID: r.p.ConversationID,
				TenantID: cmp.Or(u.TenantID, r.p.TenantID), ServiceURL: r.p.ServiceURL})
		}
		if !u.Installed || !u.Reachable() || b.welcome.disabled(WelcomePersonal) {
			continue
		}
		last, err := b.store.WelcomeLast(ctx, WelcomePersonal, u.ID)
		if err != nil {
			return nil, nil, err
		}
		if b.welcome.recent(last, now) {
			continue
		}
		name := b.botName(r.p.BotName)
		key := card{name, u.Name != ""}
		g := byCard[key]
		if g == nil {
			g = &welcomeGroup{botName: key.botName, named: key.named}
			byCard[key] = g
			out = append(out, g)
		}
		g.users = append(g.users, u)
		g.marks = append(g.marks, herald.WelcomeMark{Subject: u.ID, Last: last})
	}
	return out, details, nil
}

// storeWelcomeGroup stores one group's notification, with the welcome
// records and fetch (when not nil) in the same transaction.
func (b *Bot) storeWelcomeGroup(ctx context.Context, n Notifier, g *welcomeGroup, fetch *userDetailsTask) error {
	d := WelcomeData{BotName: g.botName}
	if g.named {
		d.UserName = "{{" + welcomeNameVar + "}}"
	}
	msg, err := b.render(WelcomePersonal, d)
	if err != nil {
		return err
	}
	req := request(msg, SendOptions{})
	ids := make([]string, len(g.users))
	vars := make(map[string]map[string]string, len(g.users))
	for i, u := range g.users {
		ids[i] = u.ID
		vars[u.ID] = map[string]string{welcomeNameVar: u.Name}
	}
	req.Audience = herald.Audience{Users: ids}
	req.RecipientVariables = vars
	now := b.now()
	_, err = n.SendWith(ctx, req, func(ctx context.Context, tx *sql.Tx) error {
		if err := b.store.WelcomeMarkTx(ctx, tx, WelcomePersonal, g.marks, now); err != nil {
			return err
		}
		if fetch == nil {
			return nil
		}
		args, err := json.Marshal(fetch)
		if err != nil {
			return err
		}
		_, err = b.cfg.Jobs.EnqueueTx(ctx, tx, herald.Job{Kind: taskUserDetails, Args: args, MaxAttempts: b.cfg.TaskAttempts})
		return err
	})
	if err != nil {
		return fmt.Errorf("store %d personal welcomes: %w", len(ids), err)
	}
	for _, id := range ids {
		b.recent.wrote(welcomedKey(id), now)
	}
	return nil
}

// welcomedKey is the recentWrites key of a personal welcome to userID.
func welcomedKey(userID string) string { return "welcomed\x00" + userID }
