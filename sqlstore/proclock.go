package sqlstore

import (
	"errors"
	"strings"
	"sync"
)

// A SQLite store serves one process at a time. The claim is an exclusive
// lock on a file beside the database, <database>.lock, taken when the
// first node registers through a Store and let go when its last one stops
// (or the Store closes). The operating system lets it go when the process
// ends, however it ends (kill -9 too), so a process that finds the file
// unlocked knows every process that used the store before is gone. The
// file itself stays; it holds nothing.

// errLocked means another process holds the lock file.
var errLocked = errors.New("locked by another process")

// errNoFileLock means this system offers no lock the store can use: the
// heartbeats alone guard the store.
var errNoFileLock = errors.New("no file locks on this system")

// processLock is a SQLite Store's claim on its database file.
type processLock struct {
	path string // the lock file; empty for an in-memory database

	mu      sync.Mutex
	release func() error    // nil while not held
	nodes   map[string]bool // running registrations made through this Store
}

// sqliteLockPath is the lock file of a SQLite dsn: the database's path
// with ".lock" added, or "" for an in-memory database.
func sqliteLockPath(dsn string) string {
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == ":memory:" || path == "" {
		return ""
	}
	return path + ".lock"
}

// acquire takes the lock unless this Store holds it already, and reports
// whether this call took it: the processes that used the store before are
// then all gone. It returns errLocked when another process holds it, and
// errNoFileLock where there is no lock to take.
func (l *processLock) acquire() (fresh bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.release != nil {
		return false, nil
	}
	if l.path == "" {
		l.release = func() error { return nil }
		return true, nil
	}
	release, err := lockFile(l.path)
	if err != nil {
		return false, err
	}
	l.release = release
	return true, nil
}

// add records a registration made through this Store.
func (l *processLock) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nodes == nil {
		l.nodes = map[string]bool{}
	}
	l.nodes[id] = true
}

// remove forgets a registration, and lets the lock go once none is left.
func (l *processLock) remove(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.nodes, id)
	if len(l.nodes) > 0 {
		return nil
	}
	return l.dropLocked()
}

// drop lets the lock go (the Store closes).
func (l *processLock) drop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.nodes)
	return l.dropLocked()
}

func (l *processLock) dropLocked() error {
	if l.release == nil {
		return nil
	}
	err := l.release()
	l.release = nil
	return err
}
