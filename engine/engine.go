package engine

import (
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
	// NodeID names this process among those sharing the database (it is
	// also River's client id): two running processes must not share one,
	// and a restarted process should keep its own so it can settle what it
	// left behind at once. Empty means "herald".
	NodeID string
	// FetchCooldown is River's fetch cooldown: how soon a queued job can be
	// picked up. Zero means 10 ms.
	FetchCooldown time.Duration
	// BulkWorkers and PriorityWorkers are how many notification-tenant
	// sender jobs run at once in the normal and high priority queues. Zero
	// means 1000 and 100.
	BulkWorkers, PriorityWorkers int
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

	lifeMu  sync.Mutex
	state   int // 0 new, 1 started, 2 stopped
	runCtx  context.Context
	cancel  context.CancelFunc
	stopped chan struct{} // closed when Stop begins
	workers sync.WaitGroup
	wg      sync.WaitGroup

	// slots holds one token per delivery that may be in state sending;
	// ready holds marked items for the workers.
	slots       chan struct{}
	ready       chan *item
	quitWorkers chan struct{}
	feeder      sync.WaitGroup

	finMu    sync.Mutex
	finished chan struct{} // closed and replaced when a notification ends

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
	maintenanceEvery   = time.Minute
)

// NewEngine validates cfg and returns a stopped engine.
func New(cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("Queue is required"))
	}
	if cfg.Connector == nil {
		errs = append(errs, errors.New("Connector is required"))
	}
	if cfg.Bot.ID == "" {
		errs = append(errs, errors.New("Bot.ID is required"))
	}
	if err := cfg.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Concurrency < 0 || cfg.InFlight < 0 || cfg.Deadline < 0 || cfg.BulkWorkers < 0 || cfg.PriorityWorkers < 0 {
		errs = append(errs, errors.New("Concurrency, InFlight, Deadline and worker counts must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	if cfg.DefaultServiceURL == "" {
		cfg.DefaultServiceURL = botframework.DefaultServiceURL(botframework.CloudPublic)
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = defaultDeadline
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.InFlight == 0 {
		cfg.InFlight = 4 * cfg.Concurrency
	}
	cfg.InFlight = max(cfg.InFlight, cfg.Concurrency)
	if cfg.NodeID == "" {
		cfg.NodeID = defaultNode
	}
	if cfg.FetchCooldown == 0 {
		cfg.FetchCooldown = 10 * time.Millisecond
	}
	if cfg.BulkWorkers == 0 {
		cfg.BulkWorkers = 1000
	}
	if cfg.PriorityWorkers == 0 {
		cfg.PriorityWorkers = 100
	}
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
	e := &Engine{
		cfg:      cfg,
		store:    cfg.Store,
		log:      cfg.Logger,
		now:      cfg.Now,
		stopped:  make(chan struct{}),
		finished: make(chan struct{}),
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
	e.river = rc
	return e, nil
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

// Start settles what a previous run of this node left behind (deliveries
// left sending become uncertain, or pending again for at-least-once
// notifications; River jobs it left running become available), starts the
// job runner and the senders, and makes sure every unfinished notification
// has its jobs. It returns once work can proceed; the work runs until Stop.
func (e *Engine) Start(ctx context.Context) error {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.state != 0 {
		return fmt.Errorf("start engine: %w", herald.ErrClosed)
	}
	if err := e.recover(ctx); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	e.runCtx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
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

// recover settles what this node's previous process left behind: its
// deliveries left sending, its River jobs left running, and the tasks an
// older Herald kept in a table of its own.
func (e *Engine) recover(ctx context.Context) error {
	res, err := e.store.DeliveryRecover(ctx, herald.DeliveryRecoverParams{
		Node: e.cfg.NodeID, StaleBefore: e.now().Add(-staleSending), Now: e.now()})
	if err != nil {
		return err
	}
	jobs, err := e.releaseOrphans(ctx)
	if err != nil {
		return err
	}
	moved, err := e.moveLegacyTasks(ctx)
	if err != nil {
		return err
	}
	if res.Uncertain+res.Repending+jobs+moved > 0 {
		e.log.Info("recovered from previous run", "uncertain", res.Uncertain, "repending", res.Repending,
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
	err := e.river.Stop(ctx)
	if err != nil {
		err = e.river.StopAndCancel(context.WithoutCancel(ctx))
	}
	done := make(chan struct{})
	go func() { e.wgWorkersAndFlush(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.cancel()
		<-done
	}
	e.cancel()
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

// Send accepts a notification: it is stored, then expanded and delivered
// in the background. With an IdempotencyKey already used, it returns the
// notification created then and starts nothing new.
func (e *Engine) Send(ctx context.Context, req herald.NotificationRequest) (herald.Notification, error) {
	if err := req.Validate(); err != nil {
		return herald.Notification{}, err
	}
	req.Priority = req.ResolvedPriority()
	now := e.now()
	n := herald.Notification{ID: herald.NewID("n", now), Request: req, State: herald.NotificationExpanding, CreatedAt: now, UpdatedAt: now}
	if req.SendAt.After(now) {
		n.State = herald.NotificationScheduled
	}
	// The notification and its expansion job commit together.
	first := n
	n, created, err := e.store.NotificationCreate(ctx, n, func(ctx context.Context, tx *sql.Tx) error {
		args, opts := e.expandInsert(first)
		_, err := e.river.InsertTx(ctx, tx, args, opts)
		return err
	})
	if err != nil {
		return herald.Notification{}, fmt.Errorf("send: %w", err)
	}
	if created {
		e.log.Debug("notification accepted", "id", n.ID, "priority", n.Request.Priority)
	}
	return n, nil
}

// Get returns a notification with its counts and progress.
func (e *Engine) Get(ctx context.Context, id string) (herald.Notification, error) {
	n, err := e.store.NotificationGet(ctx, id)
	if err != nil {
		return herald.Notification{}, fmt.Errorf("get notification: %w", err)
	}
	counts, open, err := e.store.NotificationCounts(ctx, id)
	if err != nil {
		return herald.Notification{}, fmt.Errorf("get notification: %w", err)
	}
	n.Counts = counts
	n.Progress = e.progress(n, open)
	return n, nil
}

// Deliveries lists a notification's deliveries ordered by id.
func (e *Engine) Deliveries(ctx context.Context, id string, f herald.DeliveryFilter, p herald.Page) ([]herald.Delivery, error) {
	for _, s := range f.States {
		if !s.Valid() {
			return nil, fmt.Errorf("%w: unknown delivery state %q", herald.ErrInvalid, s)
		}
	}
	p.Limit = p.Clamped()
	ds, err := e.store.DeliveryList(ctx, herald.DeliveryListParams{NotificationID: id, Filter: f, Page: p})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// Cancel cancels a notification: pending deliveries are cancelled; calls
// in flight finish and are recorded.
func (e *Engine) Cancel(ctx context.Context, id string) (herald.Notification, error) {
	if _, err := e.store.DeliveryCancel(ctx, id, e.now()); err != nil {
		return herald.Notification{}, fmt.Errorf("cancel notification: %w", err)
	}
	e.rt.cancelled(id)
	e.sched.withdrawNotification(id)
	e.signalFinished()
	return e.Get(ctx, id)
}

// Retry resends a notification's failed deliveries (never delivered
// ones), reopening the notification. It returns how many it reopened.
func (e *Engine) Retry(ctx context.Context, id string, opts herald.RetryOptions) (int, error) {
	states := []herald.DeliveryState{herald.DeliveryFailed}
	if opts.Uncertain {
		states = append(states, herald.DeliveryUncertain)
	}
	n, err := e.store.DeliveryRetry(ctx, herald.DeliveryRetryParams{NotificationID: id, States: states, Now: e.now()})
	if err != nil {
		return 0, fmt.Errorf("retry notification: %w", err)
	}
	if n > 0 {
		e.rt.forget(id)
		if err := e.kickSenders(ctx, id, false); err != nil {
			return n, fmt.Errorf("retry notification: %w", err)
		}
	}
	return n, nil
}

// Wait blocks until the notification is completed or cancelled, or ctx
// ends, and returns it (with counts).
func (e *Engine) Wait(ctx context.Context, id string) (herald.Notification, error) {
	for {
		ch := e.finishedCh()
		// The state alone is cheap to read; counts are read once at the
		// end (counting a large notification scans its deliveries).
		n, err := e.store.NotificationGet(ctx, id)
		if err != nil {
			return n, fmt.Errorf("wait for notification: %w", err)
		}
		if n.State.Final() {
			return e.Get(ctx, id)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			got, err := e.Get(context.WithoutCancel(ctx), id)
			if err != nil {
				got = n
			}
			return got, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

func (e *Engine) finishedCh() <-chan struct{} {
	e.finMu.Lock()
	defer e.finMu.Unlock()
	return e.finished
}

func (e *Engine) signalFinished() {
	e.finMu.Lock()
	close(e.finished)
	e.finished = make(chan struct{})
	e.finMu.Unlock()
}

// tryFinish completes the notification if nothing is open.
func (e *Engine) tryFinish(ctx context.Context, id string) {
	ok, err := e.store.NotificationFinish(ctx, id, e.now())
	if err != nil {
		e.log.Error("finish notification", "id", id, "err", err)
		return
	}
	if ok {
		e.log.Info("notification completed", "id", id)
		e.rt.forget(id)
		e.signalFinished()
	}
}

// progress computes Progress from counts and open deliveries per tenant.
func (e *Engine) progress(n herald.Notification, open map[string]int) herald.Progress {
	var p herald.Progress
	total := n.Counts.Total()
	if total > 0 {
		p.Done = float64(total-n.Counts.Open()) / float64(total)
	}
	if n.State.Final() {
		p.Done = 1
		p.ETA = n.CompletedAt
		if p.ETA.IsZero() {
			p.ETA = n.UpdatedAt
		}
		return p
	}
	if !n.Expanded {
		return p
	}
	var worst time.Duration
	for tenant, k := range open {
		r := e.pacer.rate(tenant)
		if r <= 0 {
			r = e.observedRate()
		}
		if r <= 0 {
			return p
		}
		worst = max(worst, time.Duration(float64(k)/r*float64(time.Second)))
	}
	p.Remaining = worst
	p.ETA = e.now().Add(worst)
	return p
}

// observedRate is the engine's recent rate of recorded results per second.
func (e *Engine) observedRate() float64 {
	e.rateMu.Lock()
	defer e.rateMu.Unlock()
	now, n := e.now(), e.delivered.Load()
	if d := now.Sub(e.rateMark.at); d >= time.Second {
		if !e.rateMark.at.IsZero() {
			e.rateMark.ps = float64(n-e.rateMark.n) / d.Seconds()
		}
		e.rateMark.at, e.rateMark.n = now, n
	}
	return e.rateMark.ps
}

// maintain periodically settles deliveries left sending by processes that
// died (other nodes sharing a PostgreSQL database) and restarts their work.
func (e *Engine) maintain(ctx context.Context) {
	t := time.NewTicker(maintenanceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.stopped:
			return
		case <-t.C:
		}
		res, err := e.store.DeliveryRecover(ctx, herald.DeliveryRecoverParams{StaleBefore: e.now().Add(-staleSending), Now: e.now()})
		if err != nil {
			e.log.Error("recover stale deliveries", "err", err)
			continue
		}
		for _, id := range res.Notifications {
			if err := e.kickSenders(ctx, id, false); err != nil {
				e.log.Error("restart senders", "id", id, "err", err)
			}
		}
	}
}
