package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"herald"

	"herald/botauth"
	"herald/botframework"
)

// Defaults of Config.
const (
	// ChannelTeams is Microsoft Teams' channelId.
	ChannelTeams = "msteams"
	// DefaultMaxBodyBytes caps an inbound activity's body.
	DefaultMaxBodyBytes = 256 << 10
	// DefaultRosterRefresh is how often each team's roster is fetched again.
	DefaultRosterRefresh = 24 * time.Hour
	// DefaultTaskAttempts is how many times a failing job is tried.
	DefaultTaskAttempts = 8
)

// ActivityVerifier checks the bearer token of an inbound activity request.
// *botauth.Verifier implements it; its errors are classified with
// botauth.IsTokenError (401) and botauth.ErrMetadata (503).
type ActivityVerifier interface {
	Verify(ctx context.Context, authorization string, activity *botframework.Activity) (*botauth.Identity, error)
}

// BotConfig configures a Bot. Zero values select the documented defaults.
type Config struct {
	// AppID is the bot's Microsoft app id. Required.
	AppID string
	// BotName is the bot's display name in welcome cards. Default: the
	// name Teams gives the bot in activities, else "This bot".
	BotName string
	// Verifier checks inbound tokens. Required.
	Verifier ActivityVerifier
	// Connector calls the Bot Framework Connector (rosters, channels, card
	// updates and, unless Sender is set, sends). Required.
	Connector *botframework.Connector
	// Store is the directory. Required.
	Store herald.DirectoryStore
	// Jobs stores the bot's background work durably (roster fetches,
	// member welcomes, command replies, follow-ups) for a job runner that
	// runs it through RunJob. Required: *engine.Engine is one (register
	// the bot with its HandleJobs).
	Jobs herald.JobQueue
	// Sender sends welcomes, command replies and follow-up answers.
	// Default: directly through Connector (see NewConnectorSender);
	// NewEngineSender sends welcomes through the delivery engine.
	Sender Sender
	// Logger receives one line per refused request and per failed task.
	// Default: discard.
	Logger *slog.Logger
	// Welcome configures welcome messages.
	Welcome WelcomeConfig
	// Topics are the notification topics people can stop and start.
	Topics []herald.Topic
	// DisableCommands turns off the built-in personal-chat commands (help,
	// stop, start, topics); messages then go only to OnMessage handlers.
	DisableCommands bool
	// Channels are the Bot Framework channels whose activities the bot
	// accepts (their channelId); others get 403 before anything is
	// recorded, so a signed Web Chat activity cannot speak for a Teams
	// user. Default DefaultChannels.
	Channels []string
	// MaxBodyBytes caps an inbound request body; larger bodies get 413.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RosterRefresh is how often each installed team's roster is fetched
	// again to keep memberships true. Default DefaultRosterRefresh;
	// negative disables the refresh.
	RosterRefresh time.Duration
	// RosterPageSize is the page size of roster fetches. Default
	// botframework.MaxPageSize.
	RosterPageSize int
	// TaskAttempts is how many times a failing job (or follow-up) is
	// tried before it is dropped. Default DefaultTaskAttempts.
	TaskAttempts int
	// FollowUpTimeout bounds one attempt of a follow-up function. Default
	// DefaultFollowUpTimeout.
	FollowUpTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Handler handles one turn: an inbound activity, already verified and
// recorded in the directory.
type Handler func(ctx context.Context, t *Turn) error

// Bot is the bot's messaging endpoint (an http.Handler for
// /api/messages) and its background work: it verifies, decodes and records
// every activity, answers Teams at once, and then fetches rosters (and the
// email and UPN of people who reach it personally, which Teams leaves out
// of personal activities) and sends welcomes from durable jobs (see
// Config.Jobs and RunJob). Register handlers before serving.
type Bot struct {
	cfg       Config
	store     herald.DirectoryStore
	sender    Sender
	log       *slog.Logger
	now       func() time.Time
	welcome   welcomeSet
	botID     string
	onMessage []Handler
	onCard    []Handler
	onEvent   []Handler
	later     map[string]FollowUpFunc
	details   detailsGate  // when member fetches may be queued again
	welcomes  welcomeQueue // personal welcomes waiting to be stored (welcome_batch.go)
	notifier  Notifier     // the engine behind an engine Sender: welcomes are stored in batches
	recent    recentWrites // directory writes and welcomes made lately (recent.go)

	lifeMu  sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
}

// NewBot validates cfg and returns a Bot.
func New(cfg Config) (*Bot, error) {
	switch {
	case cfg.AppID == "":
		return nil, errors.New("bot config: AppID is required")
	case cfg.Verifier == nil:
		return nil, errors.New("bot config: Verifier is required")
	case cfg.Connector == nil:
		return nil, errors.New("bot config: Connector is required")
	case cfg.Store == nil:
		return nil, errors.New("bot config: Store is required")
	case cfg.Jobs == nil:
		return nil, errors.New("bot config: Jobs is required")
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("bot config: MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = DefaultChannels()
	}
	if cfg.RosterRefresh == 0 {
		cfg.RosterRefresh = DefaultRosterRefresh
	}
	if cfg.RosterPageSize <= 0 {
		cfg.RosterPageSize = botframework.MaxPageSize
	}
	if cfg.TaskAttempts <= 0 {
		cfg.TaskAttempts = DefaultTaskAttempts
	}
	if cfg.FollowUpTimeout <= 0 {
		cfg.FollowUpTimeout = DefaultFollowUpTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for i, t := range cfg.Topics {
		if t.Name == "" || t.Name == herald.TopicAll {
			return nil, fmt.Errorf("bot config: Topics[%d] has no usable name", i)
		}
	}
	ws, err := cfg.Welcome.resolve()
	if err != nil {
		return nil, fmt.Errorf("bot config: %w", err)
	}
	b := &Bot{
		cfg:     cfg,
		store:   cfg.Store,
		sender:  cfg.Sender,
		log:     cfg.Logger,
		now:     cfg.Now,
		welcome: ws,
		botID:   botframework.BotID(cfg.AppID),
		later:   map[string]FollowUpFunc{},
	}
	if b.sender == nil {
		b.sender = NewConnectorSender(cfg.Connector, cfg.Store, botframework.ChannelAccount{ID: b.botID, Name: cfg.BotName})
	}
	if s, ok := b.sender.(*engineSender); ok {
		b.notifier = s.eng
	}
	return b, nil
}

// OnMessage registers a handler for message activities that are not
// built-in commands (or all messages when DisableCommands is set).
// Handlers run in registration order until one returns an error.
func (b *Bot) OnMessage(h Handler) { b.onMessage = append(b.onMessage, h) }

// OnCardAction registers a handler for card actions that Herald does not
// own: messages carrying a value (Action.Submit), adaptiveCard/action
// invokes (Action.Execute; answer them with Turn.SetInvokeResponse, or
// they get an UnknownVerb error answer), and other invoke activities.
func (b *Bot) OnCardAction(h Handler) { b.onCard = append(b.onCard, h) }

// OnEvent registers a handler for event activities.
func (b *Bot) OnEvent(h Handler) { b.onEvent = append(b.onEvent, h) }

// Start starts the roster refresh: it queues a roster fetch for each
// installed team whose roster is due, now and then, until Stop or ctx
// ends. The bot's jobs themselves run in the job runner (see Jobs and
// RunJob).
func (b *Bot) Start(ctx context.Context) error {
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	if b.cancel != nil {
		return errors.New("start bot: already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	b.stopped = make(chan struct{})
	go func() {
		defer close(b.stopped)
		b.rosterLoop(ctx)
	}()
	return nil
}

// Stop stops the roster refresh and waits for it, or for ctx.
func (b *Bot) Stop(ctx context.Context) error {
	b.lifeMu.Lock()
	cancel, stopped := b.cancel, b.stopped
	b.cancel = nil
	b.lifeMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop bot: %w", ctx.Err())
	}
}

// DefaultChannels are the channels a Bot accepts by default: Teams only.
func DefaultChannels() []string { return []string{ChannelTeams} }
