// Package api is Herald's HTTP API contract: the JSON types that travel
// over /v1 where the library's own types (herald.Audience, herald.Counts,
// herald.Delivery, card.Structured, botframework.HeroCard) do not already
// fit, the error body every 4xx and 5xx answer carries, and [Client], a Go
// client for the API used by the herald command and by programs.
//
// Every request but the health probes and the OpenAPI document needs an
// API key as a bearer token:
//
//	c, err := api.NewClient("http://127.0.0.1:3978", api.ClientOptions{APIKey: key})
//	n, err := c.SendText(ctx, "alice@contoso.com", "Deploy finished", api.TextOptions{Topic: "deploys"})
//
// The server describes the same API as an OpenAPI 3.1 document at
// /v1/openapi.json.
package api
