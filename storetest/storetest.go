// Package storetest is the conformance suite every herald.Store driver
// must pass: call Run from the driver's tests with a function that opens a
// fresh, empty, migrated store.
package storetest

import (
	"testing"

	"herald"
)

// Run runs the whole conformance suite. open must return a fresh, empty
// store for each call; Run's subtests run in parallel, each with its own.
func Run(t *testing.T, open func(t *testing.T) herald.Store) {
	t.Run("directory", func(t *testing.T) {
		t.Parallel()
		RunDirectory(t, open)
	})
	t.Run("delivery", func(t *testing.T) {
		t.Parallel()
		RunDelivery(t, open)
	})
	t.Run("notification", func(t *testing.T) { t.Parallel(); RunNotification(t, open) })
	t.Run("stats", func(t *testing.T) { t.Parallel(); RunStats(t, open) })
	t.Run("heal", func(t *testing.T) { t.Parallel(); RunHeal(t, open) })
	t.Run("health", func(t *testing.T) { t.Parallel(); RunHealth(t, open) })
	t.Run("keys", func(t *testing.T) { t.Parallel(); RunKeys(t, open) })
	t.Run("node", func(t *testing.T) { t.Parallel(); RunNode(t, open) })
}
