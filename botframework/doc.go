// Package botframework is the Bot Framework protocol as Microsoft Teams speaks
// it: the wire schema (activities, accounts, conversation references, Teams
// channel data, entities and card attachments) and a Connector REST client
// bound to one serviceUrl.
//
// # Schema
//
// The schema keeps what it does not model: unknown members of channelData,
// entities and card content survive a decode and encode round trip, so a bot
// that forwards or stores an activity loses nothing Teams sent. The JSON
// fixtures in testdata, written from Microsoft's published examples, pin the
// member names.
//
// Universal Actions are modelled too: [ParseAdaptiveCardInvoke] reads the
// value of an adaptiveCard/action invoke as the SDKs check it, and
// [InvokeResponse] is the answer a bot gives in the invoke's HTTP response
// (an updated card, a text, or an error).
//
// # Connector client
//
// A [Connector] holds what all calls share (HTTP client, [TokenSource],
// trusted hosts); [Connector.Client] binds it to the serviceUrl of a
// conversation:
//
//	conn := botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens})
//	id, err := conn.Client(ref.ServiceURL).CreatePersonalConversation(ctx, bot, userID, tenantID)
//
// The bot's token is only ever sent to a trusted host: the Teams service
// hosts of the public and government clouds over https, plus
// [ConnectorOptions.TrustedHosts]. Any other serviceUrl fails with
// [ErrUntrustedServiceURL] before anything is sent, and redirects are never
// followed.
//
// # Errors
//
// A non-2xx answer is an [*APIError]. The client never retries; [Classify]
// maps any error it returns to a [Reason] (throttled, blocked by the user,
// conversation not found, ...), says whether a retry may succeed and carries
// the server's Retry-After hint.
//
// The package imports only the standard library. Package botauth provides
// the client-credentials [TokenSource].
package botframework
