package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"herald"
	"herald/api"
	"herald/botframework"
)

// sendText is POST /v1/send/{target}: the body is the message text
// (Markdown unless X-Format says plain), sent to one target; see
// api.ParseTargets. Options come as headers or query parameters (the
// header wins): X-Title/title, X-Topic/topic, X-Key/key,
// X-Priority/priority, X-Alert/alert, X-Format/format, and the
// Idempotency-Key header.
//
//	curl -H "Authorization: Bearer $KEY" -d "Deploy finished" http://127.0.0.1:3978/v1/send/alice@contoso.com
func (s *Server) sendText(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r, "title", "topic", "key", "priority", "alert", "format"); err != nil {
		return err
	}
	target := r.PathValue("target")
	audience, err := api.ParseTargets(target)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return err
		}
		e := invalidFrom(err)
		e.Field = "target"
		return e
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(string(body))
	if text == "" || !utf8.ValidString(text) {
		return invalid("body", "the body must be the message text, in UTF-8")
	}
	opt := func(header, param string) (string, string) {
		if v := strings.TrimSpace(r.Header.Get(header)); v != "" {
			return v, header
		}
		return strings.TrimSpace(r.URL.Query().Get(param)), param
	}
	title, _ := opt("X-Title", "title")
	topic, _ := opt("X-Topic", "topic")
	key, _ := opt("X-Key", "key")
	req := herald.NotificationRequest{
		IdempotencyKey: strings.TrimSpace(r.Header.Get("Idempotency-Key")),
		Key:            key,
		Title:          title,
		Audience:       audience,
		Topic:          topic,
	}
	prio, field := opt("X-Priority", "priority")
	switch p := herald.Priority(strings.ToLower(prio)); p {
	case herald.PriorityHigh, herald.PriorityNormal:
		req.Priority = p
	case "", "auto":
	default:
		return invalid(field, "%q is not high, normal or auto", prio)
	}
	if v, field := opt("X-Alert", "alert"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return invalid(field, "%q is not true or false", v)
		}
		req.Alert = b
	}
	format, field := opt("X-Format", "format")
	switch format = strings.ToLower(format); format {
	case "", botframework.TextFormatMarkdown:
		format = botframework.TextFormatMarkdown
		if title != "" {
			text = "**" + title + "**\n\n" + text
		}
	case botframework.TextFormatPlain:
		if title != "" {
			text = title + "\n\n" + text
		}
	default:
		return invalid(field, "%q is not markdown or plain", format)
	}
	req.Content = herald.Content{Text: text, TextFormat: format}
	if err := req.Validate(); err != nil {
		return invalidFrom(err)
	}
	return s.send(w, r, req, nil)
}

// parseBool reads the ways people write a flag in a header.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "on", "y":
		return true, true
	case "no", "off", "n":
		return false, true
	}
	b, err := strconv.ParseBool(v)
	return b, err == nil
}
