// Package emulator is a local stand-in for Microsoft Teams, the Bot
// Framework channel and the Entra ID token endpoint, so Herald (or any bot)
// can be tried and tested with no Azure account and no network.
//
// An [Emulator] is an [net/http.Handler] that serves, on one address:
//
//   - the Connector API v3 under the serviceUrl BASE+"/teams/" (create
//     conversation, send, reply, update, delete, members, paged members,
//     team details and channels, batch operations), with Teams' id shapes,
//     bodies, status codes, error codes and rate limits;
//   - a client-credentials token endpoint (/{tenant}/oauth2/v2.0/token) that
//     issues RS256 tokens, MSAL-style OpenID metadata, and the Bot Framework
//     channel metadata and signing keys (/v1/.well-known/openidconfiguration
//     and /v1/.well-known/keys, with endorsements);
//   - Microsoft Graph under BASE+GraphPath ("/graph/v1.0"): users (paged,
//     delta), groups and their transitive members, the organization and its
//     verified domains, the app catalog, app installations for users, group
//     chats and teams (which send the bot the install events), and $batch,
//     with Graph's tokens, permissions, errors and limits (graph.go);
//   - a scenario API under /scenario/ (JSON) that creates tenants, users and
//     teams, installs and uninstalls the bot, sends user messages, presses
//     cards' Action.Execute buttons and sets faults and limits: each event
//     is posted to the bot as a signed activity. A button press (or a
//     card's refresh) is an adaptiveCard/action invoke whose synchronous
//     answer the emulator checks as Teams reads it; a card answer becomes
//     that user's view of the message ([Emulator.Execute]);
//   - a plain web page that shows every conversation the way a person in
//     Teams would see it.
//
// The same operations are Go methods, so tests can drive the emulator
// in-process and wait on conditions ([Emulator.AwaitActivities],
// [Emulator.Await]) instead of sleeping.
//
// The emulator models Microsoft's side independently of Herald: it imports
// only the wire schema (package botframework), never the bot library.
// Users of a tenant created with [Emulator.SeedUsers] are generated lazily
// from their index, so a million of them cost almost no memory.
package emulator
