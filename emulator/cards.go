package emulator

import (
	"encoding/json"
	"fmt"
	"strings"

	"herald/botframework"
)

// pageCard is an attachment as the web page draws it.
type pageCard struct {
	Kind        string // hero, adaptive or other
	ContentType string
	Title       string
	Subtitle    string
	Text        string
	Images      []string
	Buttons     []pageButton
	Body        []acNode
}

// pageButton is a card action drawn as a button.
type pageButton struct {
	Title string
	Kind  string // the action type, e.g. Action.OpenUrl, Action.Submit, openUrl
	URL   string // for open-URL actions
}

// acNode is one Adaptive Card element.
type acNode struct {
	Type     string
	Text     string
	Weight   string
	Size     string
	Color    string
	Subtle   bool
	Facts    []acFact
	Items    []acNode // Container and Column items
	Columns  []acNode // ColumnSet columns
	Images   []acNode // ImageSet images
	URL, Alt string
	Actions  []pageButton
}

type acFact struct{ Title, Value string }

// maxCardDepth bounds how deep nested containers are drawn.
const maxCardDepth = 16

// renderCard turns a card attachment into something drawable; other
// attachments (files, the text/html copy of a message) are skipped.
func renderCard(at botframework.Attachment) (pageCard, bool) {
	switch at.ContentType {
	case botframework.ContentTypeHeroCard, botframework.ContentTypeThumbnail:
		var h botframework.HeroCard
		if json.Unmarshal(at.Content, &h) != nil {
			return pageCard{}, false
		}
		c := pageCard{Kind: "hero", ContentType: at.ContentType, Title: h.Title, Subtitle: h.Subtitle, Text: h.Text}
		for _, im := range h.Images {
			c.Images = append(c.Images, im.URL)
		}
		for _, b := range h.Buttons {
			c.Buttons = append(c.Buttons, heroButton(b))
		}
		return c, true
	case botframework.ContentTypeAdaptiveCard:
		var card map[string]any
		if json.Unmarshal(at.Content, &card) != nil {
			return pageCard{Kind: "other", ContentType: at.ContentType, Text: "(malformed Adaptive Card)"}, true
		}
		c := pageCard{Kind: "adaptive", ContentType: at.ContentType}
		c.Body = acElements(card["body"], 0)
		c.Buttons = acActions(card["actions"])
		return c, true
	case "text/html":
		return pageCard{}, false
	}
	if strings.HasPrefix(at.ContentType, "application/vnd.microsoft.card.") || at.ContentURL != "" {
		return pageCard{Kind: "other", ContentType: at.ContentType, Title: at.Name, Text: at.ContentURL}, true
	}
	return pageCard{}, false
}

func heroButton(b botframework.CardAction) pageButton {
	pb := pageButton{Title: b.Title, Kind: b.Type}
	if b.Type == botframework.ActionOpenURL {
		var u string
		_ = json.Unmarshal(b.Value, &u)
		pb.URL = safeURL(u)
	}
	return pb
}

// safeURL keeps http(s) links only.
func safeURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// acElements converts an Adaptive Card element list.
func acElements(v any, depth int) []acNode {
	if depth > maxCardDepth {
		return nil
	}
	var out []acNode
	for _, el := range list(v) {
		out = append(out, acElement(el, depth))
	}
	return out
}

func acElement(el map[string]any, depth int) acNode {
	n := acNode{Type: str(el, "type"), Weight: strings.ToLower(str(el, "weight")),
		Size: strings.ToLower(str(el, "size")), Color: strings.ToLower(str(el, "color")), Subtle: str(el, "isSubtle") == "true"}
	switch n.Type {
	case "TextBlock":
		n.Text = str(el, "text")
	case "RichTextBlock":
		var b strings.Builder
		for _, in := range list(el["inlines"]) {
			b.WriteString(str(in, "text"))
		}
		n.Text = b.String()
	case "FactSet":
		for _, f := range list(el["facts"]) {
			n.Facts = append(n.Facts, acFact{Title: str(f, "title"), Value: str(f, "value")})
		}
	case "ColumnSet":
		for _, col := range list(el["columns"]) {
			n.Columns = append(n.Columns, acNode{Type: "Column", Items: acElements(col["items"], depth+1)})
		}
	case "Container", "Column":
		n.Items = acElements(el["items"], depth+1)
	case "Image":
		n.URL, n.Alt = safeURL(str(el, "url")), str(el, "altText")
	case "ImageSet":
		n.Images = acElements(el["images"], depth+1)
	case "ActionSet":
		n.Actions = acActions(el["actions"])
	default:
		if strings.HasPrefix(n.Type, "Input.") {
			n.Text = strings.TrimSpace(str(el, "label") + " " + str(el, "placeholder"))
			if n.Text == "" {
				n.Text = str(el, "id")
			}
		}
	}
	return n
}

// acActions converts Adaptive Card actions into buttons.
func acActions(v any) []pageButton {
	var out []pageButton
	for _, a := range list(v) {
		b := pageButton{Title: str(a, "title"), Kind: str(a, "type")}
		if b.Kind == "Action.OpenUrl" {
			b.URL = safeURL(str(a, "url"))
		}
		if b.Title == "" {
			b.Title = strings.TrimPrefix(b.Kind, "Action.")
		}
		out = append(out, b)
	}
	return out
}
