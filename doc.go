// Package herald lets a Microsoft Teams bot reach people first: it records
// everyone the bot can message (from install events, member changes,
// messages, @mentions and roster fetches), sends the welcome messages Teams'
// guidance asks for, and delivers notifications to users, teams, channels
// or whole tenants durably and within Teams' rate limits.
//
// The wire protocol lives in package botframework, token handling in
// botauth, storage drivers in their own packages, and the local stand-in
// for Teams in emulator. This root package holds the domain and depends on
// none of the drivers.
package herald
