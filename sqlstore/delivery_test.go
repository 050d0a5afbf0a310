package sqlstore_test

import (
	"testing"

	"herald"
	"herald/storetest"
)

// The delivery part of the conformance suite, run here until storetest.Run
// calls RunDelivery itself.

func TestDeliveryConformanceSQLite(t *testing.T) {
	t.Parallel()
	storetest.RunDelivery(t, func(t *testing.T) herald.Store { return openSQLite(t) })
}

func TestDeliveryConformancePostgres(t *testing.T) {
	t.Parallel()
	storetest.RunDelivery(t, func(t *testing.T) herald.Store { return openPostgres(t) })
}
