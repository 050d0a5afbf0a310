package botframework

import (
	"encoding/json"
	"html"
)

// Entity types Herald reads.
const (
	EntityMention    = "mention"
	EntityClientInfo = "clientInfo"
)

// Entity is one member of Activity.Entities. It keeps the whole JSON object
// it was decoded from, so unknown entity types and members survive a round
// trip; Mention and ClientInfo read the two types Herald uses.
type Entity struct {
	Type string
	raw  json.RawMessage
}

// UnmarshalJSON keeps the raw object and reads its type.
func (e *Entity) UnmarshalJSON(data []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	e.Type = head.Type
	e.raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON writes the object the entity was decoded or built from.
func (e Entity) MarshalJSON() ([]byte, error) {
	if len(e.raw) == 0 {
		return json.Marshal(struct {
			Type string `json:"type"`
		}{e.Type})
	}
	return e.raw, nil
}

// Raw returns the entity's JSON object.
func (e Entity) Raw() json.RawMessage {
	b, _ := e.MarshalJSON()
	return b
}

// NewEntity builds an entity from any value that marshals to a JSON object
// with a "type" member.
func NewEntity(v any) (Entity, error) {
	b, err := marshal(v)
	if err != nil {
		return Entity{}, err
	}
	var e Entity
	if err := e.UnmarshalJSON(b); err != nil {
		return Entity{}, err
	}
	return e, nil
}

// Mention is a "mention" entity: Text ("<at>Name</at>") must also appear in
// the activity's text or Teams ignores the mention.
type Mention struct {
	Type      string         `json:"type"`
	Mentioned ChannelAccount `json:"mentioned"`
	Text      string         `json:"text"`
}

// Mention returns the entity as a mention, if it is one.
func (e Entity) Mention() (Mention, bool) {
	if e.Type != EntityMention || len(e.raw) == 0 {
		return Mention{}, false
	}
	var m Mention
	if err := json.Unmarshal(e.raw, &m); err != nil || m.Mentioned.ID == "" {
		return Mention{}, false
	}
	return m, true
}

// ClientInfo is the entity the Teams client adds to user activities.
type ClientInfo struct {
	Type     string `json:"type"`
	Locale   string `json:"locale,omitempty"`
	Country  string `json:"country,omitempty"`
	Platform string `json:"platform,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// ClientInfo returns the entity as clientInfo, if it is one.
func (e Entity) ClientInfo() (ClientInfo, bool) {
	if e.Type != EntityClientInfo || len(e.raw) == 0 {
		return ClientInfo{}, false
	}
	var ci ClientInfo
	if err := json.Unmarshal(e.raw, &ci); err != nil {
		return ClientInfo{}, false
	}
	return ci, true
}

// NewMention builds a mention of account. It returns the entity and the text
// to put in the activity's text: "<at>Name</at>", with the name escaped.
func NewMention(account ChannelAccount) (Entity, string) {
	text := "<at>" + html.EscapeString(account.Name) + "</at>"
	e, _ := NewEntity(Mention{
		Type:      EntityMention,
		Mentioned: ChannelAccount{ID: account.ID, Name: account.Name},
		Text:      text,
	})
	return e, text
}
