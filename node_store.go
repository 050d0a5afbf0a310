package herald

import (
	"context"
	"fmt"
	"time"
)

// NodeStore registers the processes (nodes) that run an engine on a store,
// each under an identity of its own that it keeps alive with a heartbeat.
// A registration ends when its node stops, or when another node finds its
// heartbeat lapsed (DeliveryRecover); only then are the node's deliveries
// in flight settled, never while it runs.
type NodeStore interface {
	// NodeRegister registers p.ID as running until p.Expires. It refuses,
	// with a *NodeInUseError, an identity that a running node holds (not
	// stopped, not expired at p.Now), and on a store one process uses at
	// a time (SQLite) any second process. A registration that ended is
	// taken over.
	NodeRegister(ctx context.Context, p NodeRegisterParams) (NodeRegisterResult, error)
	// NodeBeat extends a running registration to p.Expires. It returns
	// ErrNotFound when the registration has ended: the node stopped, or
	// another node found its heartbeat lapsed (and settled its deliveries
	// in flight); the node must register again before marking more.
	NodeBeat(ctx context.Context, p NodeBeatParams) error
	// NodeStop ends a node's registration (its deliveries still in flight
	// may be settled at once) and, on a store one process uses at a time,
	// lets another process register once none of this one's is running.
	// With p.StartedAt set, it ends only the registration made then: a
	// process never ends that of a later one with its identity.
	NodeStop(ctx context.Context, p NodeStopParams) error
	// NodeList lists the registrations, by id: running ones and those that
	// ended in the last days.
	NodeList(ctx context.Context) ([]Node, error)
}

// Node is a registered process.
type Node struct {
	ID   string
	Host string
	PID  int
	// StartedAt is when it registered; BeatAt its last heartbeat; Expires
	// when it is taken for dead without another beat.
	StartedAt, BeatAt, Expires time.Time
	// StoppedAt is when its registration ended (zero while it runs).
	StoppedAt time.Time
}

// Running reports whether the registration holds at now: not ended and not
// expired.
func (n Node) Running(now time.Time) bool { return n.StoppedAt.IsZero() && !n.Expires.Before(now) }

// NodeRegisterParams is the input of NodeRegister.
type NodeRegisterParams struct {
	ID   string
	Host string
	PID  int
	Now  time.Time
	// Expires is when the node is taken for dead unless it beats again.
	Expires time.Time
}

// NodeRegisterResult is the output of NodeRegister.
type NodeRegisterResult struct {
	// Exclusive reports a store this process alone uses (SQLite): every
	// process that registered on it before is gone, so their
	// registrations have ended and what they left in flight can be
	// settled at once.
	Exclusive bool
}

// NodeBeatParams is the input of NodeBeat.
type NodeBeatParams struct {
	ID      string
	Now     time.Time
	Expires time.Time
}

// NodeStopParams is the input of NodeStop.
type NodeStopParams struct {
	ID string
	// StartedAt is the Now of the registration to end; zero ends
	// whichever runs under ID.
	StartedAt time.Time
	Now       time.Time
}

// NodeInUseError refuses a registration: a running process holds the
// identity, or (Store) the store that one process uses at a time. It is an
// ErrConflict for errors.Is.
type NodeInUseError struct {
	// ID is the identity asked for ("" when a process opening a SQLite
	// store is refused before it registers).
	ID string
	// Holder is the running registration in the way; its ID is empty when
	// the store is held by a process that has not registered yet.
	Holder Node
	// Store reports a store one process uses at a time (SQLite), held by
	// another process.
	Store bool
	// Now is when the registration was refused.
	Now time.Time
}

// Error names the identity, its holder and when the holder was last seen.
func (e *NodeInUseError) Error() string {
	who := "another process"
	if e.Holder.ID != "" {
		who = fmt.Sprintf("node %q (pid %d on %s, last heartbeat %s ago)", e.Holder.ID, e.Holder.PID, e.Holder.Host,
			e.Now.Sub(e.Holder.BeatAt).Round(time.Millisecond))
	}
	if e.Store {
		return fmt.Sprintf("the store is in use by %s: a SQLite store serves one process at a time", who)
	}
	return fmt.Sprintf("node %q refused: the identity is in use by %s; two running processes must not share an identity "+
		"(a process that died gives it up once its heartbeat lapses, at %s)", e.ID, who, e.Holder.Expires.Format(time.RFC3339))
}

// Is makes a NodeInUseError an ErrConflict.
func (e *NodeInUseError) Is(target error) bool { return target == ErrConflict }
