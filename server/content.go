package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"herald"
	"herald/api"
	"herald/botframework"
	"herald/card"
)

// parseNotification decodes and fully validates the body of POST
// /v1/notifications, returning the engine's request and the lint warnings
// of a structured notification. idemHeader is the Idempotency-Key header.
// Nothing is stored: every refusal happens here.
func parseNotification(body []byte, idemHeader string) (herald.NotificationRequest, []card.Warning, error) {
	var in api.NotificationRequest
	if err := decodeJSON(body, &in); err != nil {
		return herald.NotificationRequest{}, nil, err
	}
	return toRequest(in, idemHeader)
}

// toRequest converts and validates an API request.
func toRequest(in api.NotificationRequest, idemHeader string) (herald.NotificationRequest, []card.Warning, error) {
	idem := in.IdempotencyKey
	switch idemHeader = strings.TrimSpace(idemHeader); {
	case idem == "":
		idem = idemHeader
	case idemHeader != "" && idemHeader != idem:
		return herald.NotificationRequest{}, nil, invalid("idempotencyKey", "differs from the Idempotency-Key header")
	}
	content, title, warnings, err := toContent(in.Content, in.Topic, in.Critical, in.Strict)
	if err != nil {
		return herald.NotificationRequest{}, nil, err
	}
	if in.Title != "" {
		title = in.Title
	}
	req := herald.NotificationRequest{
		IdempotencyKey:     idem,
		Key:                in.Key,
		Title:              title,
		Audience:           in.Audience,
		Content:            content,
		Topic:              in.Topic,
		Critical:           in.Critical,
		Alert:              in.Alert,
		Priority:           in.Priority,
		SendAt:             in.SendAt,
		AtLeastOnce:        in.AtLeastOnce,
		Variables:          in.Variables,
		RecipientVariables: in.RecipientVariables,
	}
	if err := req.Validate(); err != nil {
		return herald.NotificationRequest{}, nil, invalidFrom(err)
	}
	return req, warnings, nil
}

// toContent converts the API's content to the engine's: text, or one card
// validated (or rendered) here. It also returns a title for lists taken
// from the card.
func toContent(in api.Content, topic string, critical, strict bool) (herald.Content, string, []card.Warning, error) {
	out := herald.Content{Text: in.Text, TextFormat: in.TextFormat, Summary: in.Summary}
	switch in.TextFormat {
	case "", botframework.TextFormatMarkdown, botframework.TextFormatPlain, botframework.TextFormatXML:
	default:
		return out, "", nil, invalid("content.textFormat", "%q is not markdown, plain or xml", in.TextFormat)
	}
	adaptive := len(in.AdaptiveCard) > 0 && string(bytes.TrimSpace(in.AdaptiveCard)) != "null"
	cards := 0
	for _, set := range []bool{in.HeroCard != nil, adaptive, in.Structured != nil} {
		if set {
			cards++
		}
	}
	switch {
	case cards > 1:
		return out, "", nil, invalid("content", "set one of heroCard, adaptiveCard and structured")
	case cards == 1 && in.Text != "":
		return out, "", nil, invalid("content.text", "text cannot accompany a card: Teams shows them as two messages "+
			"and returns the id of one only, so the notification could not be updated later; put the text inside the card")
	case cards == 0 && strings.TrimSpace(in.Text) == "":
		return out, "", nil, invalid("content", "text, heroCard, adaptiveCard or structured is required")
	}
	var title string
	var warnings []card.Warning
	switch {
	case in.HeroCard != nil:
		if err := card.ValidateHeroCard(*in.HeroCard); err != nil {
			return out, "", nil, cardError("content.heroCard", err)
		}
		out.Attachments = []botframework.Attachment{in.HeroCard.Attachment()}
		title = in.HeroCard.Title
	case adaptive:
		if err := card.ValidateAdaptiveCard(in.AdaptiveCard); err != nil {
			return out, "", nil, cardError("content.adaptiveCard", err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, in.AdaptiveCard); err != nil {
			return out, "", nil, invalid("content.adaptiveCard", "is not valid JSON")
		}
		out.Attachments = []botframework.Attachment{botframework.AdaptiveCardAttachment(compact.Bytes())}
	case in.Structured != nil:
		s := *in.Structured
		if strings.TrimSpace(s.Topic) == "" {
			s.Topic = topic
		}
		if critical && s.OptOut == nil {
			no := false
			s.OptOut = &no
		}
		warnings = prefixWarnings(card.Lint(s))
		att, err := card.Render(s, card.RenderOptions{Strict: strict})
		if err != nil {
			return out, "", nil, cardError("content.structured", err)
		}
		out.Attachments = []botframework.Attachment{att}
		title = s.Title
	}
	return out, title, warnings, nil
}

// prefixWarnings makes lint warnings' fields paths of the request.
func prefixWarnings(ws []card.Warning) []card.Warning {
	out := make([]card.Warning, len(ws))
	for i, w := range ws {
		out[i] = card.Warning{Field: joinPath("content.structured", w.Field), Message: w.Message}
	}
	return out
}

// cardError turns the card package's errors into answers whose fields are
// paths of the request.
func cardError(prefix string, err error) error {
	var ve *card.ValidationError
	var le *card.LintError
	switch {
	case errors.As(err, &ve):
		return invalid(joinPath(prefix, ve.Field), "%s", ve.Message)
	case errors.As(err, &le):
		ws := prefixWarnings(le.Warnings)
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeLint, Field: ws[0].Field,
			Message: le.Error() + " (strict)", Warnings: ws}
	}
	return err
}
