package botframework

// Roles of a ChannelAccount.
const (
	RoleUser = "user"
	RoleBot  = "bot"
)

// Conversation types Teams sets in ConversationAccount.ConversationType.
const (
	ConversationPersonal  = "personal"
	ConversationGroupChat = "groupChat"
	ConversationChannel   = "channel"
)

// ChannelAccount identifies a user or bot. On Teams, users are "29:…" and
// bots "28:<appId>".
type ChannelAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
	Role        string `json:"role,omitempty"`
}

// BotIDPrefix starts the Teams id of every bot: "28:" and its app id.
const BotIDPrefix = "28:"

// BotID returns the Teams id of the bot registered with appID, as it
// appears in Activity.Recipient of what Teams sends the bot and in
// Activity.From of what the bot sends.
func BotID(appID string) string { return BotIDPrefix + appID }

// ConversationAccount identifies a conversation: a personal chat ("a:…"), a
// group chat ("19:…@thread.v2") or a channel ("19:…@thread.tacv2", or a
// thread within one, "…;messageid=…").
type ConversationAccount struct {
	ID               string `json:"id"`
	Name             string `json:"name,omitempty"`
	AADObjectID      string `json:"aadObjectId,omitempty"`
	Role             string `json:"role,omitempty"`
	IsGroup          bool   `json:"isGroup,omitempty"`
	ConversationType string `json:"conversationType,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
}

// ConversationReference is what a bot keeps to message a conversation later.
// ChannelID and Conversation.ID are required.
type ConversationReference struct {
	ActivityID   string               `json:"activityId,omitempty"`
	User         *ChannelAccount      `json:"user,omitempty"`
	Bot          *ChannelAccount      `json:"bot,omitempty"`
	Conversation *ConversationAccount `json:"conversation,omitempty"`
	ChannelID    string               `json:"channelId"`
	ServiceURL   string               `json:"serviceUrl"`
	Locale       string               `json:"locale,omitempty"`
}

// TeamsChannelAccount is a roster entry. On the wire the roster endpoints
// send the Entra object id as "objectId"; Teams activities use
// "aadObjectId". Both are kept; use EntraID to read whichever is set.
type TeamsChannelAccount struct {
	ID                string `json:"id"`
	Name              string `json:"name,omitempty"`
	AADObjectID       string `json:"aadObjectId,omitempty"`
	ObjectID          string `json:"objectId,omitempty"`
	Email             string `json:"email,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	TenantID          string `json:"tenantId,omitempty"`
	UserRole          string `json:"userRole,omitempty"`
	GivenName         string `json:"givenName,omitempty"`
	Surname           string `json:"surname,omitempty"`
	Role              string `json:"role,omitempty"`
}

// EntraID returns the member's Entra (Azure AD) object id.
func (m TeamsChannelAccount) EntraID() string {
	if m.ObjectID != "" {
		return m.ObjectID
	}
	return m.AADObjectID
}

// Account returns the member as a ChannelAccount.
func (m TeamsChannelAccount) Account() ChannelAccount {
	return ChannelAccount{ID: m.ID, Name: m.Name, AADObjectID: m.EntraID()}
}
