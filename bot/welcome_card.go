package bot

import (
	"encoding/json"
	"fmt"

	"herald/botframework"
)

// card builds an Adaptive Card 1.5.
type card struct {
	body    []map[string]any
	actions []map[string]any
}

func (c *card) add(elems ...map[string]any) {
	for _, e := range elems {
		if e != nil {
			c.body = append(c.body, e)
		}
	}
}

func (c *card) action(a map[string]any) { c.actions = append(c.actions, a) }

func (c *card) json() (json.RawMessage, error) {
	m := map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.5",
		"body":    c.body,
	}
	if c.body == nil {
		m["body"] = []any{}
	}
	if len(c.actions) > 0 {
		m["actions"] = c.actions
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode card: %w", err)
	}
	return data, nil
}

func (c *card) attachment() (botframework.Attachment, error) {
	data, err := c.json()
	if err != nil {
		return botframework.Attachment{}, err
	}
	return botframework.AdaptiveCardAttachment(data), nil
}

// activity wraps the card in a message activity with a summary (the
// notification preview).
func (c *card) activity(summary string) (*botframework.Activity, error) {
	att, err := c.attachment()
	if err != nil {
		return nil, err
	}
	return &botframework.Activity{Type: botframework.TypeMessage, Summary: summary, Attachments: []botframework.Attachment{att}}, nil
}

// textBlock is a wrapping TextBlock; empty text yields nil (left out).
func textBlock(text, weight, size string) map[string]any {
	if text == "" {
		return nil
	}
	tb := map[string]any{"type": "TextBlock", "text": text, "wrap": true}
	if weight != "" {
		tb["weight"] = weight
	}
	if size != "" {
		tb["size"] = size
	}
	return tb
}

func openURL(title, link string) map[string]any {
	return map[string]any{"type": "Action.OpenUrl", "title": title, "url": link}
}

// imBack is an Action.Submit that Teams turns into the user typing text.
func imBack(title, text string) map[string]any {
	return map[string]any{"type": "Action.Submit", "title": title,
		"data": map[string]any{"msteams": map[string]any{"type": "imBack", "value": text}}}
}

// submit is an Action.Submit posting data back to the bot.
func submit(title string, data map[string]any) map[string]any {
	return map[string]any{"type": "Action.Submit", "title": title, "data": data}
}
