// Package graph is a small typed client for the Microsoft Graph calls Herald
// makes to reach a whole organisation: the directory (users, a users delta,
// the organisation's verified domains, groups and their transitive members),
// the Teams app catalog, and installing Herald's app for a user, into a chat
// or into a team, then finding the installation's chat.
//
// # Why not msgraph-sdk-go
//
// Microsoft's Go SDK is generated from the whole Graph schema. Herald needs
// about a dozen endpoints, and the SDK's generated code would add minutes to
// every build and tens of megabytes to the binary for them. This package
// writes those endpoints by hand, on the standard library (and
// botframework's text clipping), and keeps the wire facts next to the code
// that depends on them.
//
// # Tokens and hosts
//
// A [Client] takes its app-only bearer token from a [TokenSource]: Herald's
// client-credentials source (botauth.TokenSource) configured with the
// tenant of the organisation (not botframework.com), the scope
// [DefaultTokenScope] and, for sovereign clouds or the emulator, another
// authority. The token goes only to the configured base
// URL's host: an @odata.nextLink or @odata.deltaLink pointing anywhere else
// is refused ([ErrUntrustedLink]) and redirects are never followed.
//
// # Paging, delta and batching
//
// Collections are read one page at a time through a [Pager], which follows
// @odata.nextLink verbatim. [Client.UsersDelta] reads the users delta a page
// at a time, so a durable job can store the next link after each page and
// the delta link at the end; an expired or refused delta token is an
// [*Error] matching [ErrResyncRequired]: start again from an empty link.
// [Client.Batch] sends JSON batches of at most 20 requests, splitting larger
// sets without separating requests joined by dependsOn; [Client.BatchRetry]
// sends throttled items again.
//
// # Errors and retries
//
// Every non-2xx answer is an [*Error] carrying the status, Graph's error
// code and message, the request id and Retry-After. [Classify] turns any
// error into a [Kind] (throttled, permission missing, consent missing,
// license missing, blocked by policy, …); [Error.Advice] names the
// application permission to grant when one is missing. The client itself
// never retries: [Retry] repeats a call under a [RetryPolicy], waiting as
// long as Retry-After asks, a bounded number of times, and only for 429,
// 502, 503, 504 and transport failures, never for another 4xx.
package graph
