package botframework

import (
	"encoding/json"
	"time"
)

// Activity types defined by the Bot Framework activity specification.
const (
	TypeMessage               = "message"
	TypeContactRelationUpdate = "contactRelationUpdate"
	TypeConversationUpdate    = "conversationUpdate"
	TypeTyping                = "typing"
	TypeEndOfConversation     = "endOfConversation"
	TypeEvent                 = "event"
	TypeInvoke                = "invoke"
	TypeDeleteUserData        = "deleteUserData"
	TypeMessageUpdate         = "messageUpdate"
	TypeMessageDelete         = "messageDelete"
	TypeInstallationUpdate    = "installationUpdate"
	TypeMessageReaction       = "messageReaction"
	TypeSuggestion            = "suggestion"
	TypeTrace                 = "trace"
	TypeHandoff               = "handoff"
)

// Values of Activity.Action on installationUpdate activities. Teams sends the
// -upgrade forms when an app upgrade adds or removes the bot.
const (
	ActionAdd           = "add"
	ActionRemove        = "remove"
	ActionAddUpgrade    = "add-upgrade"
	ActionRemoveUpgrade = "remove-upgrade"
)

// Text formats for Activity.TextFormat.
const (
	TextFormatPlain    = "plain"
	TextFormatMarkdown = "markdown"
	TextFormatXML      = "xml"
)

// ChannelTeams is the channelId of every activity from Microsoft Teams.
const ChannelTeams = "msteams"

// Activity is one Bot Framework activity, inbound or outbound.
//
// Fields the channel sets (ID, Timestamp, ServiceURL) are ignored by Teams
// on activities a bot sends. Value and the content of attachments are kept as
// raw JSON; ChannelData and Entities keep members they do not model.
type Activity struct {
	Type             string                 `json:"type"`
	ID               string                 `json:"id,omitempty"`
	Timestamp        time.Time              `json:"timestamp,omitzero"`
	LocalTimestamp   time.Time              `json:"localTimestamp,omitzero"`
	LocalTimezone    string                 `json:"localTimezone,omitempty"`
	ServiceURL       string                 `json:"serviceUrl,omitempty"`
	ChannelID        string                 `json:"channelId,omitempty"`
	From             *ChannelAccount        `json:"from,omitempty"`
	Recipient        *ChannelAccount        `json:"recipient,omitempty"`
	Conversation     *ConversationAccount   `json:"conversation,omitempty"`
	MembersAdded     []ChannelAccount       `json:"membersAdded,omitempty"`
	MembersRemoved   []ChannelAccount       `json:"membersRemoved,omitempty"`
	ReactionsAdded   []MessageReaction      `json:"reactionsAdded,omitempty"`
	ReactionsRemoved []MessageReaction      `json:"reactionsRemoved,omitempty"`
	TopicName        string                 `json:"topicName,omitempty"`
	Text             string                 `json:"text,omitempty"`
	TextFormat       string                 `json:"textFormat,omitempty"`
	Speak            string                 `json:"speak,omitempty"`
	InputHint        string                 `json:"inputHint,omitempty"`
	Summary          string                 `json:"summary,omitempty"`
	SuggestedActions *SuggestedActions      `json:"suggestedActions,omitempty"`
	AttachmentLayout string                 `json:"attachmentLayout,omitempty"`
	Attachments      []Attachment           `json:"attachments,omitempty"`
	Entities         []Entity               `json:"entities,omitempty"`
	ChannelData      *ChannelData           `json:"channelData,omitempty"`
	Action           string                 `json:"action,omitempty"`
	ReplyToID        string                 `json:"replyToId,omitempty"`
	Label            string                 `json:"label,omitempty"`
	ValueType        string                 `json:"valueType,omitempty"`
	Value            json.RawMessage        `json:"value,omitempty"`
	Name             string                 `json:"name,omitempty"`
	RelatesTo        *ConversationReference `json:"relatesTo,omitempty"`
	Code             string                 `json:"code,omitempty"`
	Expiration       time.Time              `json:"expiration,omitzero"`
	Importance       string                 `json:"importance,omitempty"`
	DeliveryMode     string                 `json:"deliveryMode,omitempty"`
	Locale           string                 `json:"locale,omitempty"`
	CallerID         string                 `json:"callerId,omitempty"`
}

// MessageReaction is one entry of reactionsAdded or reactionsRemoved.
type MessageReaction struct {
	Type string `json:"type"`
}

// SuggestedActions are the quick replies Teams shows under a message in a
// personal chat (imBack only, at most three shown).
type SuggestedActions struct {
	To      []string     `json:"to,omitempty"`
	Actions []CardAction `json:"actions"`
}

// Reference returns the conversation reference a bot stores to continue this
// conversation later: the user is From, the bot is Recipient, and ActivityID
// is this activity's id. Only store it when the activity's token was
// verified, since the serviceUrl in it receives the bot's token.
func (a *Activity) Reference() ConversationReference {
	ref := ConversationReference{
		ActivityID: a.ID,
		ChannelID:  a.ChannelID,
		ServiceURL: a.ServiceURL,
		Locale:     a.Locale,
	}
	if a.From != nil {
		u := *a.From
		ref.User = &u
	}
	if a.Recipient != nil {
		b := *a.Recipient
		ref.Bot = &b
	}
	if a.Conversation != nil {
		c := *a.Conversation
		ref.Conversation = &c
	}
	return ref
}

// TenantID returns the tenant of the activity, from conversation.tenantId or
// else channelData.tenant.id.
func (a *Activity) TenantID() string {
	if a.Conversation != nil && a.Conversation.TenantID != "" {
		return a.Conversation.TenantID
	}
	if a.ChannelData != nil && a.ChannelData.Tenant != nil {
		return a.ChannelData.Tenant.ID
	}
	return ""
}

// BotAdded reports whether the bot itself (the recipient) is among
// MembersAdded: Teams' signal that the bot was installed in the conversation.
func (a *Activity) BotAdded() bool { return a.containsRecipient(a.MembersAdded) }

// BotRemoved reports whether the bot itself is among MembersRemoved.
func (a *Activity) BotRemoved() bool { return a.containsRecipient(a.MembersRemoved) }

func (a *Activity) containsRecipient(list []ChannelAccount) bool {
	if a.Recipient == nil || a.Recipient.ID == "" {
		return false
	}
	for _, m := range list {
		if m.ID == a.Recipient.ID {
			return true
		}
	}
	return false
}

// EventType returns channelData.eventType, or "" when absent.
func (a *Activity) EventType() string {
	if a.ChannelData == nil {
		return ""
	}
	return a.ChannelData.EventType
}

// Team returns channelData.team, or nil outside a team (for example in a
// personal chat).
func (a *Activity) Team() *TeamInfo {
	if a.ChannelData == nil {
		return nil
	}
	return a.ChannelData.Team
}

// Mentions returns the mention entities of the activity.
func (a *Activity) Mentions() []Mention {
	var out []Mention
	for _, e := range a.Entities {
		if m, ok := e.Mention(); ok {
			out = append(out, m)
		}
	}
	return out
}

// ClientInfo returns the clientInfo entity the Teams client adds (locale,
// country, platform, time zone), if present.
func (a *Activity) ClientInfo() (ClientInfo, bool) {
	for _, e := range a.Entities {
		if ci, ok := e.ClientInfo(); ok {
			return ci, true
		}
	}
	return ClientInfo{}, false
}

// DecodeActivity decodes one activity from JSON. It rejects input that is
// not a JSON object or that lacks a type.
func DecodeActivity(data []byte) (*Activity, error) {
	var a Activity
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, &DecodeError{Err: err}
	}
	if a.Type == "" {
		return nil, &DecodeError{Field: "type", Err: errMissing}
	}
	return &a, nil
}
