package engine

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"herald"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"herald/botframework"
)

// EngineConfig configures an Engine. Every field documents its zero value.
type Config struct {
	// Store holds the directory and the record of notifications and
	// deliveries. Required.
	Store herald.Store
	// Queue is a River driver over the store's database (sqlstore's
	// RiverDriver): River runs the engine's durable jobs. Required.
	Queue riverdriver.Driver[*sql.Tx]
	// Connector sends to Teams. Required.
	Connector *botframework.Connector
	// Bot is the bot's account ("28:<app id>" and its name), used to
	// create conversations. Required (ID).
	Bot botframework.ChannelAccount
	// DefaultServiceURL is used for recipients whose user, team and tenant
	// have no serviceUrl yet. Empty means Teams' public global one.
	DefaultServiceURL string
	// Limits are the rate limits applied before each call. The zero value
	// is Teams' published table.
	Limits Limits
	// Retry bounds retries of transient failures. The zero value retries
	// up to 6 attempts with backoff from 1 s to 1 min.
	Retry RetryPolicy
	// Deadline is how long after its start a notification's deliveries may
	// still be retried, when the request sets none. Zero means 24 hours.
	Deadline time.Duration
	// Concurrency is the most calls to Teams in flight. Zero means 64.
	Concurrency int
	// InFlight is the most deliveries in state sending at any moment:
	// those being called plus those marked to be called next (so marks
	// commit while other calls run). A crash leaves at most this many
	// deliveries uncertain. Zero means four times Concurrency (measured:
	// from twice to four times, deliveries per second grew by a sixth on
	// SQLite and a fifth on PostgreSQL, as more marks and results share
	// each commit); it is at least Concurrency.
	InFlight int
	// NodeID is this process's identity among those sharing the database
	// (also River's client id). Start registers it, with a heartbeat, and
	// fails while another live process holds it (on SQLite, while another
	// process uses the store at all); Stop ends the registration. Empty
	// means NodeName and a random suffix ("web1-8f3a2c1d"), new for each
	// engine: what a process leaves in flight is then taken up once its
	// heartbeat lapses (or at once on SQLite, which one process uses).
	NodeID string
	// NodeName begins a NodeID made by New. Empty means "herald".
	NodeName string
	// Heartbeat is how often the node renews its registration, and looks
	// for nodes whose registration lapsed: one not renewed for four beats
	// is taken for dead, and its deliveries in flight are settled by
	// whichever node notices first. Zero means 3 s (so 12 s to notice).
	Heartbeat time.Duration
	// FetchCooldown is River's fetch cooldown: how soon a queued job can be
	// picked up. Zero means 10 ms.
	FetchCooldown time.Duration
	// BulkWorkers and PriorityWorkers are how many notification-tenant
	// sender jobs run at once in the normal and high priority queues. Zero
	// means 1000 and 100.
	BulkWorkers, PriorityWorkers int
	// Topics are the configured topics: an audience's topic reaches its
	// audience by the topic's default (see herald.SourceTopic). A topic not
	// listed reaches only those who opted in to it.
	Topics []herald.Topic
	// Logger receives the engine's logs. Nil means discard.
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand returns numbers uniform in [0, 1) for backoff jitter. Nil means
	// math/rand/v2.
	Rand func() float64
}

// Engine turns notifications into deliveries and delivers them: durable,
// paced within Teams' limits, retried when that can help, and accounted
// for per recipient. Create it with NewEngine, then Start it.
type Engine struct {
	cfg    Config
	store  herald.Store
	log    *slog.Logger
	now    func() time.Time
	pacer  *pacer
	sched  *scheduler
	batch  *batcher
	river  *river.Client[*sql.Tx]
	rt     runtimes
	tenSvc sync.Map // tenant id → serviceUrl ("" cached too)

	lifeMu sync.Mutex
	state  int // 0 new, 1 started, 2 stopped
	// registeredAt is when the node registered (Start, or the heartbeat
	// registering again): Stop ends that registration only.
	registeredAt time.Time
	runCtx       context.Context
	cancel       context.CancelFunc
	stopped      chan struct{} // closed when Stop begins
	workers      sync.WaitGroup
	wg           sync.WaitGroup

	// slots holds one token per delivery that may be in state sending;
	// ready holds marked items for the workers.
	slots       chan struct{}
	ready       chan *item
	quitWorkers chan struct{}
	feeder      sync.WaitGroup

	finMu    sync.Mutex
	finished chan struct{} // closed and replaced when a notification ends
	expDone  chan struct{} // closed and replaced when an expansion in this process ends

	taskHandler atomic.Pointer[herald.JobHandler] // jobs of other rooms (HandleJobs)

	delivered atomic.Int64 // final results recorded, for the observed rate
	rateMu    sync.Mutex
	rateMark  rateSample
}

type rateSample struct {
	at time.Time
	n  int64
	ps float64
}

// Queues and defaults.
const (
	queueHigh          = "herald_high"
	queueBulk          = "herald_bulk"
	defaultNode        = "herald"
	defaultDeadline    = 24 * time.Hour
	defaultConcurrency = 64
	senderBudget       = 2 * time.Minute
	staleSending       = 10 * time.Minute
)

// New validates cfg and returns a stopped engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	cfg = cfg.resolved()
	e := &Engine{
		cfg:      cfg,
		store:    cfg.Store,
		log:      cfg.Logger,
		now:      cfg.Now,
		stopped:  make(chan struct{}),
		finished: make(chan struct{}),
		expDone:  make(chan struct{}),
	}
	e.pacer = newPacer(cfg.Limits, cfg.Now)
	e.sched = newScheduler(e.pacer, cfg.Now)
	e.batch = newBatcher(cfg.Store, cfg.NodeID, cfg.Now, cfg.Logger)
	e.batch.marked, e.batch.recorded = e.onMarked, e.onRecorded
	e.slots = make(chan struct{}, cfg.InFlight)
	for range cfg.InFlight {
		e.slots <- struct{}{}
	}
	e.ready = make(chan *item, cfg.InFlight)
	e.quitWorkers = make(chan struct{})
	e.rt.m = map[string]*runtime{}
	rc, err := e.newRiverClient()
	if err != nil {
		return nil, err
	}
	e.river = rc
	return e, nil
}

// validate reports every required field missing and every value out of
// range.
func (cfg Config) validate() error {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("field Store is required"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("field Queue is required"))
	}
	if cfg.Connector == nil {
		errs = append(errs, errors.New("field Connector is required"))
	}
	if cfg.Bot.ID == "" {
		errs = append(errs, errors.New("field Bot.ID is required"))
	}
	if err := cfg.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Concurrency < 0 || cfg.InFlight < 0 || cfg.Deadline < 0 || cfg.BulkWorkers < 0 || cfg.PriorityWorkers < 0 || cfg.Heartbeat < 0 {
		errs = append(errs, errors.New("fields Concurrency, InFlight, Deadline, Heartbeat and worker counts must not be negative"))
	}
	return errors.Join(errs...)
}

// resolved fills in the documented defaults.
func (cfg Config) resolved() Config {
	cfg.DefaultServiceURL = cmp.Or(cfg.DefaultServiceURL, botframework.DefaultServiceURL(botframework.CloudPublic))
	cfg.Deadline = cmp.Or(cfg.Deadline, defaultDeadline)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, defaultConcurrency)
	cfg.InFlight = max(cmp.Or(cfg.InFlight, 4*cfg.Concurrency), cfg.Concurrency)
	if cfg.NodeID == "" {
		cfg.NodeID = newNodeID(cfg.NodeName)
	}
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, defaultHeartbeat)
	cfg.FetchCooldown = cmp.Or(cfg.FetchCooldown, 10*time.Millisecond)
	cfg.BulkWorkers = cmp.Or(cfg.BulkWorkers, 1000)
	cfg.PriorityWorkers = cmp.Or(cfg.PriorityWorkers, 100)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = mrand.Float64
	}
	cfg.Retry = cfg.Retry.resolved()
	return cfg
}

// newRiverClient returns the River client that runs the engine's jobs and
// those of other rooms (HandleJobs), on the store's database.
func (e *Engine) newRiverClient() (*river.Client[*sql.Tx], error) {
	cfg := e.cfg
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &expandWorker{e: e}); err != nil {
		return nil, fmt.Errorf("add expand worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &sendWorker{e: e}); err != nil {
		return nil, fmt.Errorf("add send worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &taskWorker{e: e}); err != nil {
		return nil, fmt.Errorf("add task worker: %w", err)
	}
	rc, err := river.NewClient(cfg.Queue, &river.Config{
		ID:                   cfg.NodeID,
		Logger:               cfg.Logger.With("component", "river"),
		FetchCooldown:        cfg.FetchCooldown,
		FetchPollInterval:    max(cfg.FetchCooldown, 50*time.Millisecond),
		JobTimeout:           -1,
		RescueStuckJobsAfter: 3 * senderBudget,
		RetryPolicy:          jobRetryPolicy{policy: cfg.Retry, rand: cfg.Rand},
		Queues: map[string]river.QueueConfig{
			queueHigh: {MaxWorkers: cfg.PriorityWorkers},
			queueBulk: {MaxWorkers: cfg.BulkWorkers},
		},
		Workers: workers,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return rc, nil
}

// jobRetryPolicy spaces the retries of every job River runs (an engine
// job after a database hiccup, a bot job after a failed call) with the
// engine's one backoff policy, the one deliveries retry with.
type jobRetryPolicy struct {
	policy RetryPolicy
	rand   func() float64
}

// NextRetry implements river.ClientRetryPolicy.
func (p jobRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.policy.Backoff(max(job.Attempt, 1), p.rand()))
}

// Start registers the node (refused, with a *herald.NodeInUseError, while
// another live process holds its identity, or on SQLite the store),
// settles what nodes gone left behind (deliveries left sending become
// uncertain, or pending again for at-least-once notifications; River jobs
// they left running become available), starts the job runner and the
// senders, and makes sure every unfinished notification has its jobs. It
// returns once work can proceed; the work runs until Stop.
func (e *Engine) Start(ctx context.Context) (err error) {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.state != 0 {
		return fmt.Errorf("start engine: %w", herald.ErrClosed)
	}
	reg, err := e.register(ctx)
	if err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	e.runCtx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.heartbeat(e.runCtx) }()
	defer func() {
		if err != nil {
			e.cancel()
			e.wg.Wait()
			err = errors.Join(err, e.unregister(ctx))
		}
	}()
	if err := e.recover(ctx, reg.Exclusive); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.batch.run(e.runCtx) }()
	for i := 0; i < e.cfg.Concurrency; i++ {
		e.workers.Add(1)
		go func() { defer e.workers.Done(); e.worker(e.runCtx) }()
	}
	e.feeder.Add(1)
	go func() { defer e.feeder.Done(); e.feed(e.runCtx) }()
	if err := e.river.Start(e.runCtx); err != nil {
		e.wgWorkersAndFlush()
		return fmt.Errorf("start job runner: %w", err)
	}
	e.state = 1
	if err := e.ensureJobs(ctx); err != nil {
		e.log.Error("ensure jobs after start", "err", err)
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.maintain(e.runCtx) }()
	return nil
}

// recover settles what nodes gone (and an earlier process with this
// node's identity) left behind: deliveries left sending, River jobs left
// running, and the tasks an older Herald kept in a table of its own. On a
// store this process alone uses (exclusive), every delivery in flight was
// left by a process gone.
func (e *Engine) recover(ctx context.Context, exclusive bool) error {
	stale := e.now().Add(-staleSending)
	if exclusive {
		stale = e.now()
	}
	res, err := e.store.DeliveryRecover(ctx, herald.DeliveryRecoverParams{Node: e.cfg.NodeID, StaleBefore: stale, Now: e.now()})
	if err != nil {
		return err
	}
	jobs, err := e.releaseOrphans(ctx, true)
	if err != nil {
		return err
	}
	moved, err := e.moveLegacyTasks(ctx)
	if err != nil {
		return err
	}
	if res.Uncertain+res.Repending+jobs+moved > 0 {
		e.log.Info("took up the work of nodes gone", "lapsed", res.Lapsed, "uncertain", res.Uncertain, "repending", res.Repending,
			"jobs", jobs, "legacy_tasks", moved)
	}
	return nil
}

// Stop stops the engine gracefully: senders stop taking new deliveries,
// calls in flight finish and are recorded, and River stops. If ctx ends
// first, calls in flight are cancelled (their deliveries become uncertain
// unless at-least-once). Stop is idempotent.
func (e *Engine) Stop(ctx context.Context) error {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.state != 1 {
		e.state = 2
		return nil
	}
	e.state = 2
	close(e.stopped)
	// Out of time: calls in flight end, and results the store has not
	// taken by then stay unwritten (their deliveries are settled as
	// uncertain on the next start), so a store refusing writes cannot hold
	// the stop.
	outOfTime := context.AfterFunc(ctx, func() { e.batch.abandon(); e.cancel() })
	defer outOfTime()
	err := e.river.Stop(ctx)
	if err != nil {
		err = e.river.StopAndCancel(context.WithoutCancel(ctx))
	}
	e.wgWorkersAndFlush()
	e.cancel()
	err = errors.Join(err, e.unregister(ctx))
	if err != nil {
		return fmt.Errorf("stop engine: %w", err)
	}
	return nil
}

// wgWorkersAndFlush stops the pipeline in order: no new items, workers
// finish what was marked, the batcher writes everything, then the rest.
func (e *Engine) wgWorkersAndFlush() {
	e.sched.close()
	e.feeder.Wait()
	close(e.quitWorkers)
	e.workers.Wait()
	e.batch.stop()
	e.cancel()
	e.wg.Wait()
}

func (e *Engine) isStopping() bool {
	select {
	case <-e.stopped:
		return true
	default:
		return false
	}
}
