package emulator

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"herald/botframework"
)

//go:embed templates/*.html templates/style.css
var webFiles embed.FS

// webTemplates are the parsed pages.
type webTemplates struct {
	index, conversation *template.Template
}

func parseTemplates() *webTemplates {
	funcs := template.FuncMap{
		"convURL": func(id string) string { return "/conversations/" + url.PathEscape(id) },
		"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
		// Adaptive Card texts: TextBlocks and facts take Markdown, TextBlocks
		// and rich text runs the DATE() and TIME() functions.
		"textBlock": func(s string) template.HTML { return markdownHTML(cardDates(s), false) },
		"richText":  cardDates,
		"fact":      func(s string) template.HTML { return markdownHTML(s, false) },
	}
	parse := func(page string) *template.Template {
		return template.Must(template.New(page).Funcs(funcs).ParseFS(webFiles, "templates/layout.html", "templates/"+page))
	}
	return &webTemplates{index: parse("index.html"), conversation: parse("conversation.html")}
}

// usersShown bounds the users listed on the index page.
const usersShown = 200

type indexPage struct {
	Title         string
	BaseURL       string
	ServiceURL    string
	AppID         string
	State         State
	Users         []User
	Counters      Counters
	Conversations []ConversationInfo
}

func (e *Emulator) pageIndex(w http.ResponseWriter, _ *http.Request) {
	st := e.State()
	p := indexPage{Title: "Teams emulator", BaseURL: e.BaseURL(), ServiceURL: e.ServiceURL(), AppID: e.cfg.AppID,
		State: st, Users: st.Users[:min(len(st.Users), usersShown)], Counters: e.Counters()}
	for _, c := range st.Conversations {
		if c.ActivityCount > 0 || c.Type != kindChannel || c.RootID != "" {
			p.Conversations = append(p.Conversations, c)
		}
	}
	e.render(w, e.web.index, p)
}

type conversationPage struct {
	Title    string
	Info     ConversationInfo
	Messages []*pageMessage
}

func (e *Emulator) pageConversation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("conversationId")
	info, ok := e.Conversation(id)
	if !ok {
		http.Error(w, "no conversation "+id, http.StatusNotFound)
		return
	}
	p := conversationPage{Title: info.Title, Info: info}
	for _, a := range e.Activities(id) {
		m := e.pageMessage(a)
		if info.Type == kindChannel && info.RootID == "" {
			for _, reply := range e.Activities(threadID(id, a.ID)) {
				if reply.ID != a.ID {
					m.Replies = append(m.Replies, e.pageMessage(reply))
				}
			}
		}
		p.Messages = append(p.Messages, m)
	}
	e.render(w, e.web.conversation, p)
}

func (e *Emulator) pageStyle(w http.ResponseWriter, _ *http.Request) {
	b, _ := webFiles.ReadFile("templates/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

func (e *Emulator) render(w http.ResponseWriter, t *template.Template, data any) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		e.fail(err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(b.String()))
}

// pageMessage is one activity as a person in Teams sees it.
type pageMessage struct {
	ID        string
	Direction string
	Author    string
	Time      time.Time
	Event     string // a system line for events; empty for messages
	Text      messageText
	Cards     []pageCard
	Value     string // a card submit's payload, pretty-printed
	Edited    bool
	Deleted   bool
	History   []messageText
	BotStatus int
	Replies   []*pageMessage
	Views     []pageView   // cards individual users see instead (invoke answers)
	Execute   *pageExecute // a form to press the card's Action.Execute buttons
}

// pageView is the card one user sees in place of a message's card.
type pageView struct {
	Who  string
	Card pageCard
}

// messageText is a message's text rendered for the page: escaped plain
// text with its mentions, or formatted Markdown (textFormat "markdown").
type messageText struct {
	HTML     template.HTML
	Markdown bool
}

// renderText renders a message text of the given textFormat.
func renderText(text, format string) messageText {
	if text == "" {
		return messageText{}
	}
	if format == botframework.TextFormatMarkdown {
		return messageText{HTML: markdownHTML(text, true), Markdown: true}
	}
	return messageText{HTML: plainHTML(text)}
}

// textPart is a run of text; Mention marks an @mention.
type textPart struct {
	Text    string
	Mention bool
}

func (e *Emulator) pageMessage(a RecordedActivity) *pageMessage {
	act := a.Activity
	m := &pageMessage{ID: a.ID, Direction: a.Direction, Time: a.Time, Edited: len(a.History) > 0,
		Deleted: a.Deleted, BotStatus: a.BotStatus}
	if act.From != nil {
		m.Author = act.From.Name
		if m.Author == "" {
			m.Author = act.From.ID
		}
	}
	if act.Type != botframework.TypeMessage {
		m.Event = e.describeEvent(&act)
		return m
	}
	m.Text = renderText(act.Text, act.TextFormat)
	for _, at := range act.Attachments {
		if c, ok := renderCard(at); ok {
			m.Cards = append(m.Cards, c)
		}
	}
	if len(act.Value) > 0 {
		var v any
		if json.Unmarshal(act.Value, &v) == nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			m.Value = string(b)
		}
	}
	for _, h := range a.History {
		m.History = append(m.History, renderText(h.Activity.Text, h.Activity.TextFormat))
	}
	m.Views, m.Execute = e.pageViews(a.Views), e.executeForm(a)
	return m
}

// splitMentions splits text at <at>…</at> mentions.
func splitMentions(text string) []textPart {
	var parts []textPart
	for {
		i := strings.Index(text, "<at>")
		j := strings.Index(text, "</at>")
		if i < 0 || j < i {
			break
		}
		if i > 0 {
			parts = append(parts, textPart{Text: text[:i]})
		}
		parts = append(parts, textPart{Text: "@" + htmlUnescape(text[i+4:j]), Mention: true})
		text = text[j+5:]
	}
	if text != "" {
		parts = append(parts, textPart{Text: text})
	}
	return parts
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(s)
}

// describeEvent writes the system line Teams shows (or would) for an event.
func (e *Emulator) describeEvent(a *botframework.Activity) string {
	who := "Someone"
	if a.From != nil && a.From.Name != "" {
		who = a.From.Name
	}
	names := func(list []botframework.ChannelAccount) string {
		var out []string
		for _, m := range list {
			switch {
			case m.ID == e.BotID():
				out = append(out, e.cfg.BotName+" (bot)")
			case m.Name != "":
				out = append(out, m.Name)
			default:
				if u, err := e.User(m.ID); err == nil {
					out = append(out, u.Name)
				} else {
					out = append(out, m.ID)
				}
			}
		}
		return strings.Join(out, ", ")
	}
	switch {
	case a.Type == botframework.TypeInstallationUpdate && strings.HasPrefix(a.Action, "add"):
		return who + " installed " + e.cfg.BotName
	case a.Type == botframework.TypeInstallationUpdate:
		return who + " removed " + e.cfg.BotName
	case len(a.MembersAdded) > 0:
		return names(a.MembersAdded) + " joined"
	case len(a.MembersRemoved) > 0:
		return names(a.MembersRemoved) + " left"
	case a.EventType() == botframework.EventTeamRenamed && a.Team() != nil:
		return who + " renamed the team to " + a.Team().Name
	case a.Type == botframework.TypeInvoke:
		return invokeLine(who, a)
	case a.EventType() == botframework.EventChannelCreated && a.ChannelData.Channel != nil:
		return who + " created the channel " + a.ChannelData.Channel.Name
	}
	return a.Type + " " + a.EventType()
}
