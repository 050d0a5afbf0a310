// Package server is Herald's service as an http.Handler: the JSON API
// under /v1 (notifications, deliveries, the directory and a one-line send
// path for scripts), described by an OpenAPI 3.1 document at
// /v1/openapi.json; the probes /healthz and /readyz; and Prometheus
// metrics at /metrics. It does not include the bot endpoint (bot.Bot),
// which whoever wires the process mounts at /api/messages beside it.
//
// Every /v1 route but the OpenAPI document needs an API key as a bearer
// token: one of Config.APIKeys (full access), or a key of the store
// (herald.KeyStore) that has the route's scope: send for sending,
// cancelling and retrying (its own notifications, within its topics and
// audiences, critical only if granted), read for every listing and
// lookup, admin for preferences and /v1/keys. A missing, unknown or
// revoked key gets 401, a key beyond its grants 403 (code forbidden).
// Each notification records the key that sent it. Every failure answers {"error": {"code", "message",
// "field"}} (package api's Error) with a 4xx or 5xx status; requests are
// validated completely before anything is stored.
package server
