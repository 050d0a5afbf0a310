// Package server is Herald's service as an http.Handler: the JSON API
// under /v1 (notifications, deliveries, the directory and a one-line send
// path for scripts), described by an OpenAPI 3.1 document at
// /v1/openapi.json; the probes /healthz and /readyz; and Prometheus
// metrics at /metrics. It does not include the bot endpoint (bot.Bot),
// which whoever wires the process mounts at /api/messages beside it.
//
// Every /v1 route but the OpenAPI document needs one of Config.APIKeys as
// a bearer token. Every failure answers {"error": {"code", "message",
// "field"}} (package api's Error) with a 4xx or 5xx status; requests are
// validated completely before anything is stored.
package server
