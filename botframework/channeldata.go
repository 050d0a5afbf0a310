package botframework

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Teams channelData.eventType values on conversationUpdate, messageUpdate
// and messageDelete activities.
const (
	EventChannelCreated    = "channelCreated"
	EventChannelRenamed    = "channelRenamed"
	EventChannelDeleted    = "channelDeleted"
	EventChannelRestored   = "channelRestored"
	EventTeamRenamed       = "teamRenamed"
	EventTeamDeleted       = "teamDeleted"
	EventTeamHardDeleted   = "teamHardDeleted"
	EventTeamArchived      = "teamArchived"
	EventTeamUnarchived    = "teamUnarchived"
	EventTeamRestored      = "teamRestored"
	EventTeamMemberAdded   = "teamMemberAdded"
	EventTeamMemberRemoved = "teamMemberRemoved"
	EventEditMessage       = "editMessage"
	EventUndeleteMessage   = "undeleteMessage"
	EventSoftDeleteMessage = "softDeleteMessage"
)

// ChannelData is the Teams channelData object. Top-level members it does not
// model are kept in Extra and written back on encode; the modelled nested
// objects (tenant, team, channel, ...) keep only their modelled members.
type ChannelData struct {
	Tenant         *TenantInfo       `json:"tenant,omitempty"`
	Team           *TeamInfo         `json:"team,omitempty"`
	Channel        *ChannelInfo      `json:"channel,omitempty"`
	EventType      string            `json:"eventType,omitempty"`
	Notification   *NotificationInfo `json:"notification,omitempty"`
	Settings       *ChannelSettings  `json:"settings,omitempty"`
	Meeting        *MeetingInfo      `json:"meeting,omitempty"`
	Source         *SourceInfo       `json:"source,omitempty"`
	OnBehalfOf     []json.RawMessage `json:"onBehalfOf,omitempty"`
	TeamsChannelID string            `json:"teamsChannelId,omitempty"`
	TeamsTeamID    string            `json:"teamsTeamId,omitempty"`

	// Extra holds members of channelData that the fields above do not model.
	Extra map[string]json.RawMessage `json:"-"`
}

// TenantInfo is channelData.tenant.
type TenantInfo struct {
	ID string `json:"id"`
}

// TeamInfo is channelData.team. On Teams the team id equals the id of its
// General channel.
type TeamInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	AADGroupID string `json:"aadGroupId,omitempty"`
}

// ChannelInfo is a channel: channelData.channel and the entries of the team
// channel list. Name is empty for General (Teams returns null so clients can
// localize it). Type is standard, shared or private when present.
type ChannelInfo struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// NotificationInfo is channelData.notification. Alert raises an activity-feed
// notification for the recipient.
type NotificationInfo struct {
	Alert               bool   `json:"alert,omitempty"`
	AlertInMeeting      bool   `json:"alertInMeeting,omitempty"`
	ExternalResourceURL string `json:"externalResourceUrl,omitempty"`
}

// ChannelSettings is channelData.settings.
type ChannelSettings struct {
	SelectedChannel *ChannelInfo `json:"selectedChannel,omitempty"`
}

// MeetingInfo is channelData.meeting.
type MeetingInfo struct {
	ID string `json:"id"`
}

// SourceInfo is channelData.source.
type SourceInfo struct {
	Name string `json:"name,omitempty"`
}

type channelDataFields ChannelData

var channelDataKnown = map[string]bool{
	"tenant": true, "team": true, "channel": true, "eventType": true,
	"notification": true, "settings": true, "meeting": true, "source": true,
	"onBehalfOf": true, "teamsChannelId": true, "teamsTeamId": true,
}

// UnmarshalJSON decodes the modelled members and keeps the rest in Extra.
// Member names match exactly: "Tenant" is not "tenant" and lands in Extra,
// so a case variant can neither shadow nor be lost.
func (c *ChannelData) UnmarshalJSON(data []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	if all == nil { // JSON null
		return nil
	}
	known := make(map[string]json.RawMessage, len(all))
	var extra map[string]json.RawMessage
	for k, v := range all {
		if channelDataKnown[k] {
			known[k] = v
			continue
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = v
	}
	b, err := json.Marshal(known)
	if err != nil {
		return err
	}
	var f channelDataFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*c = ChannelData(f)
	c.Extra = extra
	return nil
}

// MarshalJSON encodes the modelled members followed by Extra.
func (c ChannelData) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal(channelDataFields(c))
	if err != nil || len(c.Extra) == 0 {
		return known, err
	}
	return appendMembers(known, c.Extra, channelDataKnown)
}

// appendMembers adds extra members to the JSON object obj, skipping names in
// skip, in sorted order so output is deterministic.
func appendMembers(obj []byte, extra map[string]json.RawMessage, skip map[string]bool) ([]byte, error) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return obj, nil
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.Write(obj[:len(obj)-1]) // drop '}'
	first := len(bytes.TrimSpace(obj)) == 2
	for _, k := range keys {
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(k)
		b.Write(name)
		b.WriteByte(':')
		v := extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
