package server

import (
	"herald"
	"herald/api"
	"herald/card"
)

// Conversions from the library's types to the API's.

func apiNotification(n herald.Notification, warnings []card.Warning) api.Notification {
	return api.Notification{
		Notification: n,
		Progress: api.Progress{
			Total:            n.Counts.Total(),
			Done:             n.Progress.Done,
			RemainingSeconds: n.Progress.Remaining.Seconds(),
			ETA:              n.Progress.ETA,
		},
		Warnings: warnings,
	}
}

func apiUser(u herald.User) api.User {
	return api.User{
		ID: u.ID, TenantID: u.TenantID, AADObjectID: u.AADObjectID, UPN: u.UPN, Email: u.Email,
		Name: u.Name, GivenName: u.GivenName, Surname: u.Surname,
		ConversationID: u.ConversationID, ServiceURL: u.ServiceURL,
		Installed: u.Installed, Blocked: u.Blocked, Uninstalled: u.Uninstalled, Reachable: u.Reachable(),
		Locale: u.Locale, TimeZone: u.TimeZone,
		LastSeen: u.LastSeen, InstalledAt: u.InstalledAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

func apiTeam(t herald.Team) api.Team {
	return api.Team{
		ID: t.ID, TenantID: t.TenantID, AADGroupID: t.AADGroupID, Name: t.Name,
		GeneralChannelID: t.GeneralChannelID, Installed: t.Installed, Archived: t.Archived, Deleted: t.Deleted,
		InstalledAt: t.InstalledAt, RosterAt: t.RosterAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func apiChannel(c herald.Channel) api.Channel {
	return api.Channel{ID: c.ID, TeamID: c.TeamID, Name: c.Name, Type: c.Type, Deleted: c.Deleted}
}

func apiConversation(c herald.Conversation) api.Conversation {
	return api.Conversation{
		ID: c.ID, Type: c.Type, TenantID: c.TenantID, ServiceURL: c.ServiceURL, TeamID: c.TeamID,
		ChannelID: c.ChannelID, UserID: c.UserID, BotID: c.BotID, Name: c.Name, Removed: c.Removed, UpdatedAt: c.UpdatedAt,
	}
}

func apiPreferences(userID string, ps []herald.Preference) api.Preferences {
	out := api.Preferences{UserID: userID, Preferences: make([]api.Preference, len(ps))}
	for i, p := range ps {
		out.Preferences[i] = api.Preference{Topic: p.Topic, OptedOut: p.OptedOut, UpdatedAt: p.UpdatedAt}
	}
	return out
}

// mapSlice converts every element.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
