// Package botauth handles the two kinds of Bot Framework tokens a Teams bot
// meets: the ones it sends and the ones it receives.
//
// # Outbound: client credentials
//
// [TokenSource] obtains access tokens for the Bot Connector with the OAuth 2.0
// client-credentials grant (app id and secret) from the Microsoft identity
// platform, caches them and refreshes them a configurable time before they
// expire. Multi-tenant bots ask the "botframework.com" tenant, single-tenant
// bots their own tenant; the authority is configurable for sovereign clouds
// and for local emulators. It satisfies botframework.TokenSource.
//
// # Inbound: channel tokens
//
// [Verifier] checks the bearer JWT that the Bot Framework channel service puts
// on every activity it posts to the bot, following the Bot Framework rules:
// keys come from the OpenID metadata document and its JWKS (cached, refreshed
// at least daily and on an unknown key id, rate limited); only RS256 is
// accepted; iss, aud, exp and nbf are checked with a clock skew allowance; the
// serviceurl claim must equal the activity's serviceUrl; and when the signing
// key carries endorsements they must include the activity's channel id.
//
// The serviceurl comparison is exact, as in Microsoft's SDKs: the channel
// writes the same string into the token and the activity, and the serviceUrl
// is where the bot later sends its own token, so even a trailing slash
// difference is refused rather than normalised.
//
// Every refusal wraps one exported sentinel error, so callers can tell the
// reasons apart with errors.Is. A refused token ([IsTokenError]) should be
// answered with 401; [ErrMetadata] means the keys could not be obtained,
// which says nothing about the token and should be answered with 503 so the
// channel retries.
package botauth
