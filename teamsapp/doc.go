// Package teamsapp builds the Microsoft Teams app package for a Herald
// bot: the zip file an administrator uploads to Teams (or to the
// organisation's app catalog) so people can install the bot. It holds
// manifest.json (app manifest schema 1.17) and the two icons Teams
// requires, drawn here so the package needs no other files.
//
// [Package] validates a [ManifestConfig] against the manifest schema's
// rules (GUIDs, lengths, https URLs, scopes) and fails naming the field at
// fault. Defaults make a package that sideloads as is; the developer URLs
// default to placeholders on www.example.com that must be replaced before
// the app is published to an organisation's catalog.
//
// The manifest carries webApplicationInfo with the bot's Microsoft App ID:
// Microsoft Graph's "Self" installation permissions
// (TeamsAppInstallation.ReadWriteSelfForUser.All and
// ReadWriteSelfForTeam.All), which let Herald install the bot for people
// before it messages them, require it.
package teamsapp
