package bot

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"herald/botframework"
	"herald/card"
)

// DefaultWelcomeWindow is how long after a welcome a re-install of the
// same kind does not welcome again.
const DefaultWelcomeWindow = 30 * 24 * time.Hour

// Welcome kinds, as recorded in the store (WelcomeLast, WelcomeMark).
const (
	WelcomePersonal       = "personal"        // subject: user id
	WelcomeTeam           = "team"            // subject: team id
	WelcomeMemberChannel  = "member-channel"  // subject: team id + " " + user id
	WelcomeMemberPersonal = "member-personal" // subject: team or group chat id + " " + user id
	// WelcomeGroupChat is the card posted in a group chat Herald was
	// added to; subject: the chat's conversation id.
	WelcomeGroupChat = "group-chat"
	// WelcomeGroupChatMember is the card posted in a group chat naming
	// the people just added to it; subject: chat id + " " + user id, one
	// per person (one card names everyone added in one event).
	WelcomeGroupChatMember = "group-chat-member"
)

//go:embed templates/*.json
var defaultTemplates embed.FS

// Template file names, in the embedded defaults and in the fs.FS given to
// WelcomeConfig.LoadTemplates.
var templateFiles = map[string]string{
	WelcomePersonal:        "personal.json",
	WelcomeTeam:            "team.json",
	WelcomeMemberChannel:   "member-channel.json",
	WelcomeMemberPersonal:  "member-personal.json",
	WelcomeGroupChat:       "group-chat.json",
	WelcomeGroupChatMember: "group-chat-member.json",
}

// WelcomeConfig configures welcome messages. The zero value sends all six
// welcomes with the built-in templates.
type WelcomeConfig struct {
	// Personal is the card a user gets when they install the bot
	// personally. Nil means the built-in template.
	Personal *WelcomeTemplate
	// Team is the card posted in the channel the bot was added to.
	Team *WelcomeTemplate
	// MemberChannel is the card posted in a team's General channel when
	// someone joins the team.
	MemberChannel *WelcomeTemplate
	// MemberPersonal is the personal message a new team member gets, and
	// a new group chat member whom Herald can reach personally (the
	// template sees GroupChat and ChatName).
	MemberPersonal *WelcomeTemplate
	// GroupChat is the card posted in a group chat Herald was added to.
	GroupChat *WelcomeTemplate
	// GroupChatMember is the card posted in a group chat when people are
	// added to it; UserName mentions each of them.
	GroupChatMember *WelcomeTemplate
	// GuideURL is the link (a new-hire guide) offered to new team members;
	// empty leaves the button out. Must be http(s).
	GuideURL string
	// Command is the command the cards suggest trying. Default "help".
	Command string
	// Window is how long after a welcome a repeated install (an uninstall
	// and re-install, or a duplicate event) stays silent. Default
	// DefaultWelcomeWindow; negative means never welcome the same subject
	// twice.
	Window time.Duration
	// LargeTeam, when positive, skips the team card for teams (and the
	// group chat card for group chats) with more than LargeTeam members
	// (Teams' guidance gives 100 as an example of "large"). Zero always
	// posts it.
	LargeTeam int
	// Disable* turn single welcomes off.
	DisablePersonal, DisableTeam, DisableMemberChannel, DisableMemberPersonal bool
	DisableGroupChat, DisableGroupChatMember                                  bool
}

// LoadTemplates reads personal.json, team.json, member-channel.json,
// member-personal.json, group-chat.json and group-chat-member.json from
// fsys, where present, replacing the corresponding templates.
func (c *WelcomeConfig) LoadTemplates(fsys fs.FS) error {
	for kind, name := range templateFiles {
		data, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("load welcome template: %w", err)
		}
		t, err := ParseWelcomeTemplate(data)
		if err != nil {
			return fmt.Errorf("welcome template %s: %w", name, err)
		}
		switch kind {
		case WelcomePersonal:
			c.Personal = t
		case WelcomeTeam:
			c.Team = t
		case WelcomeMemberChannel:
			c.MemberChannel = t
		case WelcomeMemberPersonal:
			c.MemberPersonal = t
		case WelcomeGroupChat:
			c.GroupChat = t
		case WelcomeGroupChatMember:
			c.GroupChatMember = t
		}
	}
	return nil
}

// welcomeSet is a WelcomeConfig with defaults applied.
type welcomeSet struct {
	cfg       WelcomeConfig
	templates map[string]*WelcomeTemplate
}

func (c WelcomeConfig) resolve() (welcomeSet, error) {
	if c.Command == "" {
		c.Command = "help"
	}
	if c.Window == 0 {
		c.Window = DefaultWelcomeWindow
	}
	if c.GuideURL != "" {
		if u, err := url.Parse(c.GuideURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return welcomeSet{}, fmt.Errorf("welcome GuideURL %q is not an http(s) URL", c.GuideURL)
		}
	}
	ws := welcomeSet{cfg: c, templates: map[string]*WelcomeTemplate{
		WelcomePersonal: c.Personal, WelcomeTeam: c.Team,
		WelcomeMemberChannel: c.MemberChannel, WelcomeMemberPersonal: c.MemberPersonal,
		WelcomeGroupChat: c.GroupChat, WelcomeGroupChatMember: c.GroupChatMember,
	}}
	for kind, t := range ws.templates {
		if t != nil {
			continue
		}
		data, err := defaultTemplates.ReadFile("templates/" + templateFiles[kind])
		if err != nil {
			return welcomeSet{}, fmt.Errorf("built-in welcome template: %w", err)
		}
		if ws.templates[kind], err = ParseWelcomeTemplate(data); err != nil {
			return welcomeSet{}, fmt.Errorf("built-in welcome template %s: %w", kind, err)
		}
	}
	return ws, nil
}

// disabled reports whether a welcome kind is turned off.
func (ws welcomeSet) disabled(kind string) bool {
	switch kind {
	case WelcomePersonal:
		return ws.cfg.DisablePersonal
	case WelcomeTeam:
		return ws.cfg.DisableTeam
	case WelcomeMemberChannel:
		return ws.cfg.DisableMemberChannel
	case WelcomeMemberPersonal:
		return ws.cfg.DisableMemberPersonal
	case WelcomeGroupChat:
		return ws.cfg.DisableGroupChat
	case WelcomeGroupChatMember:
		return ws.cfg.DisableGroupChatMember
	}
	return true
}

// recent reports whether a welcome sent at last still silences a new one
// at now.
func (ws welcomeSet) recent(last, now time.Time) bool {
	if last.IsZero() {
		return false
	}
	return ws.cfg.Window < 0 || now.Sub(last) < ws.cfg.Window
}

// WelcomeTemplate is a welcome message: the three parts Teams' guidance
// asks for (why you get it, what the bot offers, what to do next), a title
// and optional buttons. Every text is a text/template over WelcomeData
// ("{{.BotName}}"); Teams renders a subset of Markdown in it. It renders to
// an Adaptive Card 1.5.
//
// The file form is JSON:
//
//	{"title": "...", "why": "...", "offer": "...", "next": "...",
//	 "buttons": [{"title": "Open the guide", "url": "{{.GuideURL}}"},
//	             {"title": "Try help", "command": "help"}]}
//
// A button has either a url (an Action.OpenUrl, left out when the URL
// renders empty) or a command (an Action.Submit that sends the command as
// if typed, for personal chats).
type WelcomeTemplate struct {
	title, why, offer, next *template.Template
	buttons                 []buttonTemplate
}

type buttonTemplate struct {
	title, url, command *template.Template
}

// WelcomeData holds the values a WelcomeTemplate may use.
type WelcomeData struct {
	// BotName is the bot's display name.
	BotName string
	// TeamName is the team's name (team and member welcomes).
	TeamName string
	// ChannelName is the channel the card is posted in (team welcome).
	ChannelName string
	// InstallerName is who added the bot (team and group chat welcomes)
	// or the member (member welcomes), when Teams says.
	InstallerName string
	// UserName is the recipient's (or new member's) display name. In the
	// group chat member card it mentions everyone added ("<at>Ann
	// Lee</at> and <at>Ben Ode</at>").
	UserName string
	// GroupChat is true in the welcomes about a group chat (the group
	// chat cards, and the personal message of a new group chat member).
	GroupChat bool
	// ChatName is the group chat's topic, when it has one.
	ChatName string
	// GuideURL is WelcomeConfig.GuideURL.
	GuideURL string
	// Command is the command to try (WelcomeConfig.Command).
	Command string
}

// welcomeFile is the JSON form of a template.
type welcomeFile struct {
	Title   string `json:"title"`
	Why     string `json:"why"`
	Offer   string `json:"offer"`
	Next    string `json:"next"`
	Buttons []struct {
		Title   string `json:"title"`
		URL     string `json:"url"`
		Command string `json:"command"`
	} `json:"buttons"`
}

// Limits on template files.
const (
	maxTemplateBytes   = 64 << 10
	maxTemplateButtons = 5 // plus none of our own: Teams allows six actions
)

// ParseWelcomeTemplate parses the JSON form of a template, checking that
// why, offer and next are present and that every placeholder names a
// WelcomeData field.
func ParseWelcomeTemplate(data []byte) (*WelcomeTemplate, error) {
	if len(data) > maxTemplateBytes {
		return nil, fmt.Errorf("parse welcome template: larger than %d bytes", maxTemplateBytes)
	}
	var f welcomeFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse welcome template: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse welcome template: trailing data after the JSON object")
	}
	for name, v := range map[string]string{"why": f.Why, "offer": f.Offer, "next": f.Next} {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("parse welcome template: %q is required", name)
		}
	}
	if len(f.Buttons) > maxTemplateButtons {
		return nil, fmt.Errorf("parse welcome template: at most %d buttons", maxTemplateButtons)
	}
	t := &WelcomeTemplate{}
	var err error
	parse := func(field, text string) *template.Template {
		if err != nil {
			return nil
		}
		var tt *template.Template
		tt, err = template.New(field).Option("missingkey=error").Parse(text)
		if err == nil {
			err = checkNodes(tt)
		}
		if err != nil {
			err = fmt.Errorf("parse welcome template %s: %w", field, err)
		}
		return tt
	}
	t.title, t.why, t.offer, t.next = parse("title", f.Title), parse("why", f.Why), parse("offer", f.Offer), parse("next", f.Next)
	for i, bt := range f.Buttons {
		if strings.TrimSpace(bt.Title) == "" || (bt.URL == "") == (bt.Command == "") {
			return nil, fmt.Errorf("parse welcome template: button %d needs a title and either a url or a command", i)
		}
		t.buttons = append(t.buttons, buttonTemplate{
			title:   parse(fmt.Sprintf("buttons[%d].title", i), bt.Title),
			url:     parse(fmt.Sprintf("buttons[%d].url", i), bt.URL),
			command: parse(fmt.Sprintf("buttons[%d].command", i), bt.Command),
		})
	}
	if err != nil {
		return nil, err
	}
	// Render with sample values, for a team and for a group chat, so
	// unknown placeholders fail now, not when the first person joins.
	team := WelcomeData{BotName: "Bot", TeamName: "Team", ChannelName: "General", InstallerName: "Ann",
		UserName: "Bo", GuideURL: "https://example.com/guide", Command: "help"}
	chat := WelcomeData{BotName: "Bot", ChatName: "Launch", GroupChat: true, InstallerName: "Ann",
		UserName: "Bo", GuideURL: "https://example.com/guide", Command: "help"}
	for _, sample := range []WelcomeData{team, chat} {
		if _, err := t.Render(sample); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkNodes refuses template features a welcome does not need and that
// could loop or recurse without bound: range, template, block and define.
func checkNodes(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New("define and block are not allowed")
	}
	var walk func(n parse.Node) error
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.IfNode:
			if err := walk(n.List); err != nil {
				return err
			}
			return walk(n.ElseList)
		case *parse.WithNode:
			if err := walk(n.List); err != nil {
				return err
			}
			return walk(n.ElseList)
		case *parse.RangeNode, *parse.TemplateNode, *parse.BreakNode, *parse.ContinueNode:
			return fmt.Errorf("%s is not allowed", n)
		}
		return nil
	}
	if t.Tree == nil {
		return nil
	}
	return walk(t.Tree.Root)
}

// Render renders the template into an Adaptive Card attachment.
func (t *WelcomeTemplate) Render(d WelcomeData) (botframework.Attachment, error) {
	var err error
	exec := func(tt *template.Template) string {
		if err != nil || tt == nil {
			return ""
		}
		var buf bytes.Buffer
		if e := tt.Execute(&buf, d); e != nil {
			err = fmt.Errorf("render welcome %s: %w", tt.Name(), e)
		}
		return strings.TrimSpace(buf.String())
	}
	m := card.Message{Heading: exec(t.title), Paragraphs: []string{exec(t.why), exec(t.offer), exec(t.next)}}
	for _, bt := range t.buttons {
		title, link, cmd := exec(bt.title), exec(bt.url), exec(bt.command)
		switch {
		case link != "":
			if u, e := url.Parse(link); e != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				continue
			}
			m.Buttons = append(m.Buttons, card.Button{Title: title, URL: link})
		case cmd != "":
			m.Buttons = append(m.Buttons, card.Button{Title: title, Command: cmd})
		}
	}
	if err != nil {
		return botframework.Attachment{}, err
	}
	return card.RenderMessage(m)
}
