package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"herald"

	"herald/botframework"
)

// Defaults of the follow-up settings of Config.
const (
	// DefaultFollowUpTimeout bounds one attempt of a follow-up function.
	DefaultFollowUpTimeout = time.Hour
	// MaxFollowUpArgs bounds the encoded arguments of a follow-up.
	MaxFollowUpArgs = 64 << 10
)

// Kinds of follow-up jobs: the computation, then the sending of its
// answer (a job of its own, so a failed send is retried without computing
// again).
const (
	taskFollowUp     = "followup"
	taskFollowUpSend = "followup.send"
)

// FollowUpFunc computes the answer of a follow-up registered with
// Bot.HandleLater. It may take long: ctx ends when the job runner stops, when
// FollowUpTimeout has passed, or when another process took the follow-up
// over. The activity it returns is posted into the conversation the
// question came from, as a reply to the question (in a channel, in the
// question's thread); nil posts nothing. An error is retried with backoff
// up to TaskAttempts attempts; on the last one FollowUp.Final is set, so
// the function can return a message saying it failed instead.
//
// A follow-up runs at least once. If the process dies while the function
// runs, the function runs again after a restart (at once when the same
// node restarts, after FollowUpTimeout on another node), so it should be
// safe to repeat. The answer, once computed, is
// saved before it is sent: a failed or interrupted send is retried
// without computing again. Only a crash between Teams accepting the
// answer and the follow-up being recorded as done (a few milliseconds)
// posts the answer twice.
type FollowUpFunc func(ctx context.Context, f *FollowUp) (*botframework.Activity, error)

// FollowUp is a deferred answer being computed.
type FollowUp struct {
	// Name is the name the function was registered under.
	Name string
	// Args are the arguments given to Turn.Later, as JSON.
	Args json.RawMessage
	// From is who asked.
	From botframework.ChannelAccount
	// Conversation is where the question was asked and the answer goes.
	Conversation botframework.ConversationAccount
	// ReplyToID is the id of the message being answered.
	ReplyToID string
	// AskedAt is when Turn.Later recorded the follow-up.
	AskedAt time.Time
	// Attempt counts the attempts so far, this one included.
	Attempt int
	// Final is set on the last attempt.
	Final bool
}

// Decode unmarshals the follow-up's arguments into v.
func (f *FollowUp) Decode(v any) error {
	if err := json.Unmarshal(f.Args, v); err != nil {
		return fmt.Errorf("decode follow-up %s args: %w", f.Name, err)
	}
	return nil
}

// followUpTask is the payload of a follow-up task: the conversation
// reference, the arguments and, once computed, the answer.
type followUpTask struct {
	Name         string                           `json:"name"`
	Args         json.RawMessage                  `json:"args,omitempty"`
	From         botframework.ChannelAccount      `json:"from"`
	Bot          botframework.ChannelAccount      `json:"bot"`
	Conversation botframework.ConversationAccount `json:"conversation"`
	ServiceURL   string                           `json:"serviceUrl"`
	ReplyToID    string                           `json:"replyToId,omitempty"`
	AskedAt      time.Time                        `json:"askedAt"`
	Answer       *botframework.Activity           `json:"answer,omitempty"`
}

// HandleLater registers fn as the follow-up called name, for Turn.Later.
// Register every follow-up before the bot serves or starts: a follow-up
// recorded by an earlier process runs only if its name is registered. It
// panics on an empty name, a nil fn or a name registered twice.
func (b *Bot) HandleLater(name string, fn FollowUpFunc) {
	switch {
	case name == "" || len(name) > 200:
		panic("herald: HandleLater: the name must have 1 to 200 bytes")
	case fn == nil:
		panic("herald: HandleLater: nil function for " + name)
	case b.later[name] != nil:
		panic("herald: HandleLater: " + name + " registered twice")
	}
	b.later[name] = fn
}

// Later lets a handler acknowledge now and answer later: it durably
// records the follow-up registered as name, with args (encoded as JSON; a
// json.RawMessage is kept as is) and the turn's conversation, and returns.
// The handler then replies at once ("Working on it…"); the job runner
// (see Config.Jobs) runs the follow-up and posts its answer into
// the same conversation, surviving restarts of the process (see
// FollowUpFunc). A redelivered activity does not record a second
// follow-up while the first is pending.
func (t *Turn) Later(ctx context.Context, name string, args any) error {
	b, a := t.bot, t.Activity
	if b.later[name] == nil {
		return fmt.Errorf("later %q: no follow-up registered under that name", name)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("later %q: encode args: %w", name, err)
	}
	if len(raw) > MaxFollowUpArgs {
		return fmt.Errorf("later %q: args have %d bytes, more than %d", name, len(raw), MaxFollowUpArgs)
	}
	now := b.now()
	p := followUpTask{Name: name, Args: raw, Conversation: *a.Conversation, ServiceURL: a.ServiceURL,
		ReplyToID: a.ID, AskedAt: now, Bot: botframework.ChannelAccount{ID: b.botID, Name: b.cfg.BotName}}
	if p.Conversation.TenantID == "" {
		p.Conversation.TenantID = a.TenantID()
	}
	if a.From != nil {
		p.From = *a.From
	}
	if a.Recipient != nil && a.Recipient.ID != "" {
		p.Bot = *a.Recipient
	}
	id := a.ID
	if id == "" {
		id = herald.NewID("f", now)
	}
	job := herald.Job{Kind: taskFollowUp, Key: a.Conversation.ID + " " + id + " " + name, Timeout: b.cfg.FollowUpTimeout + time.Minute}
	if err := b.addJob(ctx, job, p); err != nil {
		return fmt.Errorf("later %q: %w", name, err)
	}
	return nil
}

// followUp runs one follow-up: it computes the answer and queues its
// sending as a job of its own, so a failed send is retried without
// computing again.
func (b *Bot) followUp(ctx context.Context, t herald.Job) error {
	var p followUpTask
	if err := decodeTask(t, &p); err != nil {
		return err
	}
	if p.Answer == nil {
		fn := b.later[p.Name]
		if fn == nil {
			return fmt.Errorf("no follow-up registered as %q: %w", p.Name, errDrop)
		}
		act, err := b.callFollowUp(ctx, fn, t, p)
		if err != nil || act == nil {
			return err
		}
		p.Answer = act
	}
	return b.addJob(ctx, herald.Job{Kind: taskFollowUpSend, Key: t.Key}, p)
}

// followUpSend posts a computed answer.
func (b *Bot) followUpSend(ctx context.Context, t herald.Job) error {
	var p followUpTask
	if err := decodeTask(t, &p); err != nil {
		return err
	}
	if p.Answer == nil {
		return fmt.Errorf("follow-up %s: no answer to send: %w", p.Name, errDrop)
	}
	return b.sendFollowUp(ctx, t, p)
}

// callFollowUp calls fn, bounded by FollowUpTimeout, turning a panic into
// an error.
func (b *Bot) callFollowUp(ctx context.Context, fn FollowUpFunc, t herald.Job, p followUpTask) (act *botframework.Activity, err error) {
	fctx, cancel := context.WithTimeout(ctx, b.cfg.FollowUpTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			act, err = nil, fmt.Errorf("follow-up %s panicked: %v", p.Name, r)
		}
	}()
	act, err = fn(fctx, &FollowUp{Name: p.Name, Args: p.Args, From: p.From, Conversation: p.Conversation,
		ReplyToID: p.ReplyToID, AskedAt: p.AskedAt, Attempt: t.Attempt, Final: t.Final})
	if err != nil {
		return nil, fmt.Errorf("follow-up %s: %w", p.Name, err)
	}
	return act, nil
}

// sendFollowUp posts the saved answer into the question's conversation.
func (b *Bot) sendFollowUp(ctx context.Context, t herald.Job, p followUpTask) error {
	a := *p.Answer
	if a.Type == "" {
		a.Type = botframework.TypeMessage
	}
	if a.From == nil {
		a.From = &p.Bot
	}
	if a.ReplyToID == "" {
		a.ReplyToID = p.ReplyToID
	}
	a.Conversation = &p.Conversation
	conv, err := b.store.ConversationGet(ctx, p.Conversation.ID)
	switch {
	case errors.Is(err, herald.ErrNotFound):
		conv = herald.Conversation{ID: p.Conversation.ID, Type: p.Conversation.ConversationType, TenantID: p.Conversation.TenantID}
	case err != nil:
		return fmt.Errorf("send follow-up %s: %w", p.Name, err)
	}
	if conv.ServiceURL == "" {
		conv.ServiceURL = p.ServiceURL
	}
	if _, err := b.sender.SendToConversation(ctx, conv, &a, SendOptions{Key: "herald-followup:" + t.Key}); err != nil {
		return fmt.Errorf("send follow-up %s: %w", p.Name, err)
	}
	return nil
}
