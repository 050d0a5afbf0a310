package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"herald/botframework"
)

// Directions of a recorded activity.
const (
	// ToBot is an activity Teams posted to the bot (an event or a user's
	// message).
	ToBot = "toBot"
	// FromBot is an activity the bot sent through the Connector.
	FromBot = "fromBot"
	// Silent is a user's message the bot was not sent (in a channel or
	// group chat without an @mention of the bot).
	Silent = "silent"
)

// record is one activity of a conversation, as stored: its JSON as it was
// delivered or accepted, and its later edits.
type record struct {
	id        string
	direction string
	at        time.Time
	body      []byte
	botStatus int
	updatedAt time.Time
	deletedAt time.Time
	history   []revision
	views     map[string][]byte // user id → the card the bot answered their action with (invoke.go)
}

type revision struct {
	at   time.Time
	body []byte
}

// RecordedActivity is one activity of a conversation, in either direction,
// with its edits and deletion.
type RecordedActivity struct {
	// ID is the activity id.
	ID string `json:"id"`
	// ConversationID is the conversation it belongs to.
	ConversationID string `json:"conversationId"`
	// Direction is ToBot, FromBot or Silent.
	Direction string `json:"direction"`
	// Time is when Teams recorded it.
	Time time.Time `json:"time"`
	// Raw is the activity's JSON: as posted to the bot, or as the bot sent
	// it with the fields Teams sets (id, timestamp, from, conversation…).
	// For an updated activity it is the newest version.
	Raw json.RawMessage `json:"activity"`
	// Activity is Raw decoded.
	Activity botframework.Activity `json:"-"`
	// BotStatus is the HTTP status the bot answered (ToBot only; 0 when
	// there is no bot or the post failed).
	BotStatus int `json:"botStatus,omitempty"`
	// UpdatedAt is when the bot last updated the activity.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Deleted reports that the bot deleted the activity, at DeletedAt.
	Deleted   bool      `json:"deleted,omitempty"`
	DeletedAt time.Time `json:"deletedAt,omitzero"` // see Deleted
	// History holds the versions an update replaced, oldest first.
	History []Revision `json:"history,omitempty"`
	// Views are the cards individual users see instead of the message's
	// own, by user id: the card the bot answered their Action.Execute or
	// refresh with (Emulator.Execute). An update of the message clears
	// them.
	Views map[string]json.RawMessage `json:"views,omitempty"`
}

// Revision is an earlier version of an updated activity.
type Revision struct {
	// Time is when this version was recorded.
	Time time.Time `json:"time"`
	// Raw is this version's JSON; Activity is Raw decoded.
	Raw      json.RawMessage       `json:"activity"`
	Activity botframework.Activity `json:"-"` // see Raw
}

func (r *record) export(convID string) RecordedActivity {
	out := RecordedActivity{
		ID: r.id, ConversationID: convID, Direction: r.direction, Time: r.at,
		Raw: append(json.RawMessage(nil), r.body...), BotStatus: r.botStatus,
		UpdatedAt: r.updatedAt, Deleted: !r.deletedAt.IsZero(), DeletedAt: r.deletedAt,
	}
	_ = json.Unmarshal(r.body, &out.Activity)
	for id, v := range r.views {
		if out.Views == nil {
			out.Views = map[string]json.RawMessage{}
		}
		out.Views[id] = append(json.RawMessage(nil), v...)
	}
	for _, h := range r.history {
		rev := Revision{Time: h.at, Raw: append(json.RawMessage(nil), h.body...)}
		_ = json.Unmarshal(h.body, &rev.Activity)
		out.History = append(out.History, rev)
	}
	return out
}

// addRecord appends an activity to c. Caller holds e.mu.
func (w *world) addRecord(c *conversation, r *record) {
	c.records = append(c.records, r)
	switch {
	case c.byID != nil:
		c.byID[r.id] = r
	case len(c.records) >= indexAt:
		c.byID = make(map[string]*record, len(c.records))
		for _, x := range c.records {
			c.byID[x.id] = x
		}
	}
}

// Activities returns every activity of a conversation, oldest first, or nil
// for an unknown conversation. A channel's activities are its root
// messages; a thread ("…;messageid=…") holds its root message and the
// replies.
func (e *Emulator) Activities(conversationID string) []RecordedActivity {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convs[conversationID]
	if c == nil {
		return nil
	}
	out := make([]RecordedActivity, 0, len(c.records))
	for _, r := range c.records {
		out = append(out, r.export(c.id))
	}
	return out
}

// Activity returns one activity of a conversation.
func (e *Emulator) Activity(conversationID, activityID string) (RecordedActivity, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convs[conversationID]
	if c == nil || c.record(activityID) == nil {
		return RecordedActivity{}, false
	}
	return c.record(activityID).export(c.id), true
}

// notifyLocked wakes every waiter. Caller holds e.mu.
func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// notify wakes every waiter.
func (e *Emulator) notify() {
	e.mu.Lock()
	e.notifyLocked()
	e.mu.Unlock()
}

// errClosed is returned by waits on a closed emulator.
var errClosed = errors.New("emulator closed")

// Await blocks until cond reports true or ctx is done. cond runs without
// the emulator's lock (it may call any method) first at once and then after
// every change of state: activities, edits, bot answers, batch progress,
// Connector requests, settings.
func (e *Emulator) Await(ctx context.Context, cond func(*Emulator) bool) error {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond(e) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("await: %w", context.Cause(ctx))
		case <-e.closed:
			return fmt.Errorf("await: %w", errClosed)
		}
	}
}

// AwaitActivities waits until the conversation has at least n activities
// and returns them all.
func (e *Emulator) AwaitActivities(ctx context.Context, conversationID string, n int) ([]RecordedActivity, error) {
	var got []RecordedActivity
	err := e.Await(ctx, func(e *Emulator) bool {
		got = e.Activities(conversationID)
		return len(got) >= n
	})
	if err != nil {
		return got, fmt.Errorf("await %d activities in %s (have %d): %w", n, conversationID, len(got), err)
	}
	return got, nil
}

// AwaitFromBot waits until the conversation has at least n activities the
// bot sent, and returns those.
func (e *Emulator) AwaitFromBot(ctx context.Context, conversationID string, n int) ([]RecordedActivity, error) {
	var got []RecordedActivity
	err := e.Await(ctx, func(e *Emulator) bool {
		got = got[:0]
		for _, a := range e.Activities(conversationID) {
			if a.Direction == FromBot {
				got = append(got, a)
			}
		}
		return len(got) >= n
	})
	if err != nil {
		return got, fmt.Errorf("await %d bot activities in %s (have %d): %w", n, conversationID, len(got), err)
	}
	return got, nil
}
