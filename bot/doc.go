// Package bot is Herald's bot endpoint: an http.Handler for /api/messages
// that verifies each inbound activity's token, decodes it, records what it
// says in the directory (capture), and dispatches it to the built-in
// commands and to the program's handlers. It welcomes people when the bot
// is installed (personally, in a team, in a group chat) or they join a
// team or group chat, fetches team and group chat rosters and the details
// of people who join, and runs follow-ups ("finish later") durably.
//
// The bot does not depend on the delivery engine: it sends through a
// Sender, and reaches the engine, when one is wired in, through the small
// Notifier interface defined here.
package bot
