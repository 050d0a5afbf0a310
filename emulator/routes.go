package emulator

import "net/http"

// routes is the emulator's one route table.
func (e *Emulator) routes() *http.ServeMux {
	m := http.NewServeMux()

	// Identity: Entra token endpoint and metadata, Bot Framework channel keys.
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.handleToken)
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.handleEntraMetadata)
	m.HandleFunc("GET /{tenant}/discovery/v2.0/keys", e.handleKeys)
	m.HandleFunc("GET /v1/.well-known/openidconfiguration", e.handleChannelMetadata)
	m.HandleFunc("GET /v1/.well-known/keys", e.handleKeys)

	// Connector API v3 under the serviceUrl.
	const v3 = "/teams/v3"
	const conv = v3 + "/conversations/{conversationId}"
	m.Handle("POST "+v3+"/conversations", e.connector("create", e.createConversation))
	m.Handle("POST "+conv+"/activities", e.connector("send", e.sendToConversation))
	m.Handle("POST "+conv+"/activities/{activityId}", e.connector("reply", e.replyToActivity))
	m.Handle("PUT "+conv+"/activities/{activityId}", e.connector("update", e.updateActivity))
	m.Handle("DELETE "+conv+"/activities/{activityId}", e.connector("delete", e.deleteActivity))
	m.Handle("GET "+conv+"/activities/{activityId}/members", e.connector("activitymembers", e.getMembers))
	m.Handle("GET "+conv+"/members", e.connector("members", e.getMembers))
	m.Handle("GET "+conv+"/members/{memberId}", e.connector("member", e.getMember))
	m.Handle("GET "+conv+"/pagedmembers", e.connector("pagedmembers", e.getPagedMembers))
	m.Handle("GET "+v3+"/teams/{teamId}", e.connector("team", e.getTeam))
	m.Handle("GET "+v3+"/teams/{teamId}/conversations", e.connector("channels", e.getChannels))
	for _, target := range []string{"users", "tenant", "team", "channels"} {
		h := e.connector("batch", e.batchSend(target))
		m.Handle("POST "+v3+"/batch/conversation/"+target, h)
		m.Handle("POST "+v3+"/batch/conversation/"+target+"/{$}", h)
	}
	m.Handle("GET "+v3+"/batch/conversation/{operationId}", e.connector("batchstate", e.batchState))
	m.Handle("GET "+v3+"/batch/conversation/failedentries/{operationId}", e.connector("failedentries", e.batchFailed))
	m.Handle("DELETE "+v3+"/batch/conversation/{operationId}", e.connector("batchcancel", e.batchCancel))

	// Scenario API.
	const sc = "/scenario"
	m.HandleFunc("GET "+sc+"/state", e.scenario(e.hState))
	m.HandleFunc("POST "+sc+"/tenants", e.scenario(e.hAddTenant))
	m.HandleFunc("POST "+sc+"/tenants/{tenantId}/disable", e.scenario(e.hDisableTenant))
	m.HandleFunc("POST "+sc+"/users", e.scenario(e.hAddUser))
	m.HandleFunc("POST "+sc+"/users/{userId}/block", e.scenario(e.hBlock))
	m.HandleFunc("POST "+sc+"/teams", e.scenario(e.hAddTeam))
	m.HandleFunc("PATCH "+sc+"/teams/{teamId}", e.scenario(e.hRenameTeam))
	m.HandleFunc("POST "+sc+"/teams/{teamId}/channels", e.scenario(e.hAddChannel))
	m.HandleFunc("POST "+sc+"/teams/{teamId}/members", e.scenario(e.hAddMember))
	m.HandleFunc("DELETE "+sc+"/teams/{teamId}/members/{userId}", e.scenario(e.hRemoveMember))
	m.HandleFunc("POST "+sc+"/groupchats", e.scenario(e.hAddGroupChat))
	m.HandleFunc("PATCH "+sc+"/groupchats/{chatId}", e.scenario(e.hRenameGroupChat))
	m.HandleFunc("POST "+sc+"/groupchats/{chatId}/members", e.scenario(e.hAddGroupChatMembers))
	m.HandleFunc("DELETE "+sc+"/groupchats/{chatId}/members/{userId}", e.scenario(e.hRemoveGroupChatMember))
	m.HandleFunc("POST "+sc+"/install/personal", e.scenario(e.hInstallPersonal))
	m.HandleFunc("POST "+sc+"/install/team", e.scenario(e.hInstallTeam))
	m.HandleFunc("POST "+sc+"/uninstall/personal", e.scenario(e.hUninstallPersonal))
	m.HandleFunc("POST "+sc+"/uninstall/team", e.scenario(e.hUninstallTeam))
	m.HandleFunc("POST "+sc+"/install/groupchat", e.scenario(e.hInstallGroupChat))
	m.HandleFunc("POST "+sc+"/uninstall/groupchat", e.scenario(e.hUninstallGroupChat))
	m.HandleFunc("POST "+sc+"/messages", e.scenario(e.hSendMessage))
	m.HandleFunc("POST "+sc+"/execute", e.scenario(e.hExecute))
	m.HandleFunc("GET "+sc+"/limits", e.scenario(e.hGetLimits))
	m.HandleFunc("PUT "+sc+"/limits", e.scenario(e.hPutLimits))
	m.HandleFunc("GET "+sc+"/faults", e.scenario(e.hGetFaults))
	m.HandleFunc("PUT "+sc+"/faults", e.scenario(e.hPutFaults))
	m.HandleFunc("GET "+sc+"/keys", e.scenario(e.hKeys))
	m.HandleFunc("POST "+sc+"/keys/rotate", e.scenario(e.hRotateKeys))
	m.HandleFunc("POST "+sc+"/forge", e.scenario(e.hForge))
	m.HandleFunc("GET "+sc+"/conversations", e.scenario(e.hConversations))
	m.HandleFunc("GET "+sc+"/conversations/{conversationId}/activities", e.scenario(e.hActivities))
	m.HandleFunc("GET "+sc+"/batches/{operationId}", e.scenario(e.hBatch))
	m.HandleFunc("GET "+sc+"/requests", e.scenario(e.hRequests))
	m.HandleFunc("GET "+sc+"/counters", e.scenario(e.hCounters))
	m.HandleFunc("GET "+sc+"/errors", e.scenario(e.hErrors))
	e.addGraphRoutes(m, sc) // and Microsoft Graph under GraphPath

	// Web page.
	m.HandleFunc("GET /{$}", e.pageIndex)
	m.HandleFunc("GET /conversations/{conversationId}", e.pageConversation)
	m.HandleFunc("POST /conversations/{conversationId}/execute", e.pageExecuteAction)
	m.HandleFunc("GET /style.css", e.pageStyle)
	return m
}
