// Package herald is the kernel of Herald, which lets a Microsoft Teams bot
// reach people first: welcome messages when the bot is installed or someone
// joins, and notifications delivered durably within Teams' rate limits.
//
// This package holds the records (Notification, Delivery, Audience,
// Content, User, Team, Channel, Conversation, ...), the Store port and its
// parameters, identifiers, the sentinel errors and FieldError, the typed
// refusal of one field of a request. It imports only the standard library
// and package botframework. The rooms around it:
//
//	botframework, botauth  the wire protocol and its tokens
//	engine                 the delivery engine (the only user of River)
//	bot                    the bot endpoint: capture, commands, welcomes
//	sqlstore, storetest    the Store on SQLite and PostgreSQL, and its suite
//	server, api            the /v1 HTTP API and its Go client
//	emulator               a local Teams, Bot Framework and Graph
//	cmd/herald             wiring and the command line
package herald
