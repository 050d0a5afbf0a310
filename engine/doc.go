// Package engine is Herald's delivery engine: it turns a notification into
// per-recipient deliveries (expansion), schedules them per tenant and per
// conversation within Teams' rate limits (pacer, scheduler), calls the
// Connector (sender), records every outcome in group commits (batcher),
// retries only what is safe to retry, and settles what a crashed process
// left behind (recovery).
//
// River runs the engine's durable jobs; with the store drivers in
// sqlstore, this is the only package of Herald that knows River. The
// records and the Store port it works on are in the root package herald.
package engine
