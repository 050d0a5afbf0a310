package botframework

import "encoding/json"

// Attachment content types of the cards Teams renders.
const (
	ContentTypeAdaptiveCard  = "application/vnd.microsoft.card.adaptive"
	ContentTypeHeroCard      = "application/vnd.microsoft.card.hero"
	ContentTypeThumbnail     = "application/vnd.microsoft.card.thumbnail"
	ContentTypeSigninCard    = "application/vnd.microsoft.card.signin"
	ContentTypeOAuthCard     = "application/vnd.microsoft.card.oauth"
	ContentTypeReceiptCard   = "application/vnd.microsoft.card.receipt"
	ContentTypeAnimationCard = "application/vnd.microsoft.card.animation"
	ContentTypeAudioCard     = "application/vnd.microsoft.card.audio"
	ContentTypeVideoCard     = "application/vnd.microsoft.card.video"
	ContentTypeO365Connector = "application/vnd.microsoft.teams.card.o365connector"
	ContentTypeHTML          = "text/html"
)

// Attachment is a file or card attached to an activity. Content is kept as
// raw JSON so card members survive untouched.
type Attachment struct {
	ContentType  string          `json:"contentType"`
	ContentURL   string          `json:"contentUrl,omitempty"`
	Content      json.RawMessage `json:"content,omitempty"`
	Name         string          `json:"name,omitempty"`
	ThumbnailURL string          `json:"thumbnailUrl,omitempty"`
}

// HeroCard is a card with a title, text, an image and buttons.
type HeroCard struct {
	Title    string       `json:"title,omitempty"`
	Subtitle string       `json:"subtitle,omitempty"`
	Text     string       `json:"text,omitempty"`
	Images   []CardImage  `json:"images,omitempty"`
	Buttons  []CardAction `json:"buttons,omitempty"`
	Tap      *CardAction  `json:"tap,omitempty"`
}

// CardImage is an image on a card.
type CardImage struct {
	URL string `json:"url"`
	Alt string `json:"alt,omitempty"`
}

// Card action types.
const (
	ActionOpenURL     = "openUrl"
	ActionIMBack      = "imBack"
	ActionMessageBack = "messageBack"
	ActionPostBack    = "postBack"
)

// CardAction is a button or tap action.
type CardAction struct {
	Type        string          `json:"type"`
	Title       string          `json:"title,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	Text        string          `json:"text,omitempty"`
	DisplayText string          `json:"displayText,omitempty"`
	Image       string          `json:"image,omitempty"`
}

// Attachment returns the hero card as an attachment.
func (h HeroCard) Attachment() Attachment {
	b, _ := marshal(h)
	return Attachment{ContentType: ContentTypeHeroCard, Content: b}
}

// AdaptiveCardAttachment wraps an Adaptive Card's JSON as an attachment.
func AdaptiveCardAttachment(card json.RawMessage) Attachment {
	return Attachment{ContentType: ContentTypeAdaptiveCard, Content: card}
}

// HeroCard decodes the attachment's content as a hero card.
func (a Attachment) HeroCard() (HeroCard, bool) {
	if a.ContentType != ContentTypeHeroCard {
		return HeroCard{}, false
	}
	var h HeroCard
	if err := json.Unmarshal(a.Content, &h); err != nil {
		return HeroCard{}, false
	}
	return h, true
}

// StringValue returns a JSON string as a raw value, for CardAction.Value.
func StringValue(s string) json.RawMessage {
	b, _ := marshal(s)
	return b
}
