// Package botframework is the Bot Framework protocol as Microsoft Teams speaks
// it: the wire schema (activities, accounts, conversation references, Teams
// channel data, entities and card attachments) and a Connector REST client
// bound to one serviceUrl.
//
// The schema keeps what it does not model: unknown members of channelData,
// entities and card content survive a decode and encode round trip, so a bot
// that forwards or stores an activity loses nothing Teams sent.
//
// The package imports only the standard library. Tokens reach the client
// through the one-method [TokenSource] interface; package botauth provides
// the client-credentials implementation.
package botframework
