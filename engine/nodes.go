package engine

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"herald"
)

// Each engine is a node: a process registered in the store under an
// identity of its own (Config.NodeID), renewed by a heartbeat. What a node
// leaves in flight (deliveries sending, River jobs running) is taken up by
// the others only once its registration has ended: it stopped, or its
// heartbeat lapsed (lapseBeats beats missed) and whichever node noticed
// ended it. A node never settles a running node's work, whatever their
// names.

// Heartbeat defaults.
const (
	defaultHeartbeat = 3 * time.Second
	// lapseBeats is how many heartbeats old a registration may grow
	// before the node is taken for dead: three missed, and one of slack.
	lapseBeats = 4
	// stopWrite bounds the write that ends the registration on Stop.
	stopWrite = 10 * time.Second
)

// newNodeID returns name and a random suffix, unique for each process.
func newNodeID(name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return cmp.Or(name, defaultNode) + "-" + hex.EncodeToString(b)
}

// NodeID returns the engine's identity among the processes sharing its
// store (Config.NodeID, or the one New made).
func (e *Engine) NodeID() string { return e.cfg.NodeID }

// lapse is how long one heartbeat keeps the node registered.
func (e *Engine) lapse() time.Duration { return lapseBeats * e.cfg.Heartbeat }

// register registers the node until one lapse from now. It fails with a
// *herald.NodeInUseError while another live process holds the identity
// (or, on SQLite, the store).
func (e *Engine) register(ctx context.Context) (herald.NodeRegisterResult, error) {
	host, _ := os.Hostname()
	now := e.now()
	res, err := e.store.NodeRegister(ctx, herald.NodeRegisterParams{ID: e.cfg.NodeID, Host: host, PID: os.Getpid(),
		Now: now, Expires: now.Add(e.lapse())})
	if err == nil {
		e.registeredAt = now
	}
	return res, err
}

// unregister ends the node's registration: what it left in flight may be
// taken up at once.
func (e *Engine) unregister(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWrite)
	defer cancel()
	err := e.store.NodeStop(ctx, herald.NodeStopParams{ID: e.cfg.NodeID, StartedAt: e.registeredAt, Now: e.now()})
	if err != nil {
		return fmt.Errorf("end node registration: %w", err)
	}
	return nil
}

// heartbeat renews the registration every Config.Heartbeat until the
// engine stops. A node another one took for dead (it could not beat for
// a whole lapse) has had its deliveries in flight settled, and marks
// nothing more (the store refuses) until it registers again, here.
func (e *Engine) heartbeat(ctx context.Context) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.stopped:
			return
		case <-t.C:
		}
		now := e.now()
		err := e.store.NodeBeat(ctx, herald.NodeBeatParams{ID: e.cfg.NodeID, Now: now, Expires: now.Add(e.lapse())})
		if errors.Is(err, herald.ErrNotFound) && !e.isStopping() {
			e.log.Error("this node was taken for dead (its heartbeat lapsed) and its deliveries in flight were settled; registering again",
				"node", e.cfg.NodeID)
			_, err = e.register(ctx)
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("node heartbeat", "node", e.cfg.NodeID, "err", err)
		}
	}
}

// maintain looks, every heartbeat, for nodes whose heartbeat lapsed:
// it ends their registration, settles their deliveries in flight, makes
// their River jobs available again and restarts the work of notifications
// with deliveries pending again.
func (e *Engine) maintain(ctx context.Context) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.stopped:
			return
		case <-t.C:
		}
		res, err := e.store.DeliveryRecover(ctx, herald.DeliveryRecoverParams{Self: e.cfg.NodeID,
			StaleBefore: e.now().Add(-staleSending), Now: e.now()})
		if err != nil {
			e.log.Error("recover deliveries of nodes gone", "err", err)
			continue
		}
		if len(res.Lapsed) > 0 || res.Uncertain+res.Repending > 0 {
			jobs, err := e.releaseOrphans(ctx, false)
			if err != nil {
				e.log.Error("release jobs of nodes gone", "err", err)
			}
			e.log.Warn("took up the work of nodes gone", "lapsed", res.Lapsed, "uncertain", res.Uncertain,
				"repending", res.Repending, "jobs", jobs)
		}
		for _, id := range res.Notifications {
			if err := e.kickSenders(ctx, id, false); err != nil {
				e.log.Error("restart senders", "id", id, "err", err)
			}
		}
	}
}

// releaseOrphans makes the River jobs left running by nodes whose
// registration does not hold (stopped, lapsed, or never made) available
// again; atStart, also those of this node's identity, which an earlier
// process with it left. It returns how many it released.
func (e *Engine) releaseOrphans(ctx context.Context, atStart bool) (int, error) {
	// Jobs first, nodes second: a job's node registered before it ran, so
	// it is in the list read after.
	var jobs []*rivertype.JobRow
	params := river.NewJobListParams().States(rivertype.JobStateRunning).First(1000)
	for {
		res, err := e.river.JobList(ctx, params)
		if err != nil {
			return 0, fmt.Errorf("list running jobs: %w", err)
		}
		jobs = append(jobs, res.Jobs...)
		if len(res.Jobs) < 1000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	nodes, err := e.store.NodeList(ctx)
	if err != nil {
		return 0, err
	}
	now := e.now()
	running := map[string]bool{}
	for _, n := range nodes {
		running[n.ID] = n.Running(now) && !(atStart && n.ID == e.cfg.NodeID)
	}
	var ids []int64
	for _, j := range jobs {
		if n := len(j.AttemptedBy); n > 0 && !running[j.AttemptedBy[n-1]] {
			ids = append(ids, j.ID)
		}
	}
	return len(ids), e.rescueJobs(ctx, ids)
}

// rescueJobs makes running jobs available at once, noting the interruption.
func (e *Engine) rescueJobs(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := time.Now()
	errData, err := json.Marshal(rivertype.AttemptError{At: now, Error: "interrupted: the node stopped while the job ran"})
	if err != nil {
		return err
	}
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Second)}
	for _, id := range ids {
		p.ID = append(p.ID, id)
		p.Error = append(p.Error, errData)
		p.FinalizedAt = append(p.FinalizedAt, nil)
		p.ScheduledAt = append(p.ScheduledAt, now)
		p.State = append(p.State, string(rivertype.JobStateAvailable))
	}
	if _, err := e.river.Driver().GetExecutor().JobRescueMany(ctx, p); err != nil {
		return fmt.Errorf("release running jobs: %w", err)
	}
	return nil
}
