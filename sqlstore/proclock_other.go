//go:build !unix

package sqlstore

// lockFile reports that this system has no lock the store uses: a second
// process is then refused only while the first one's heartbeat is fresh.
func lockFile(string) (func() error, error) { return nil, errNoFileLock }
