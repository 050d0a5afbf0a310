package emulator

import (
	"context"
	"encoding/json"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"herald/botframework"
)

// MessageSpec is a message a user sends.
type MessageSpec struct {
	// From is the sender, by 29: id, Entra object id, UPN or email.
	From string `json:"from"`
	// ConversationID is where the message goes: a channel (a new post), a
	// thread ("…;messageid=…", a reply), a group chat, or empty for the
	// sender's personal chat with the bot. Writing in the personal chat
	// installs the bot for the sender first if needed, as Teams does.
	ConversationID string `json:"conversationId,omitempty"`
	// Text is the message text.
	Text string `json:"text,omitempty"`
	// Mentions are users (any key) or "bot" to @mention; each gets a
	// mention entity, and "<at>Name</at>" is put in the text unless it is
	// there. In channels and group chats the bot only gets messages that
	// mention it (or carry a Value).
	Mentions []string `json:"mentions,omitempty"`
	// Value is a card submit's payload: the message carries it as value.
	Value json.RawMessage `json:"value,omitempty"`
	// ReplyToID is the activity replied to (for example the card
	// submitted).
	ReplyToID string `json:"replyToId,omitempty"`
}

// MessageResult reports a sent message.
type MessageResult struct {
	// ActivityID is the message's id.
	ActivityID string `json:"activityId"`
	// ConversationID is the conversation as the bot sees it (for a new
	// channel post, the thread "…;messageid=<ActivityID>").
	ConversationID string `json:"conversationId"`
	// Delivered reports whether the bot was sent the message.
	Delivered bool `json:"delivered"`
	// BotStatus lists the bot's statuses for every activity posted
	// (install events first, if the message installed the bot).
	BotStatus []int `json:"botStatus"`
}

// SendMessage sends a user's message and posts it to the bot.
func (e *Emulator) SendMessage(ctx context.Context, s MessageSpec) (MessageResult, error) {
	e.mu.Lock()
	acts, res, err := e.messageLocked(s)
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return MessageResult{}, err
	}
	res.BotStatus = e.deliver(ctx, acts)
	return res, nil
}

func (e *Emulator) messageLocked(s MessageSpec) ([]inbound, MessageResult, error) {
	u, err := e.userFor("from", s.From)
	if err != nil {
		return nil, MessageResult{}, err
	}
	if strings.TrimSpace(s.Text) == "" && len(s.Value) == 0 {
		return nil, MessageResult{}, invalid("text", "a message needs text or a value")
	}
	u = e.keep(u)
	var acts []inbound
	conv := e.convs[s.ConversationID]
	switch {
	case s.ConversationID == "":
		if u.blocked {
			return nil, MessageResult{}, invalid("from", "user %s blocked the bot", s.From)
		}
		conv = e.personalConv(u)
		if !u.installed || u.removed {
			u.installed, u.removed = true, false
			acts = e.personalInstall(u, conv, botframework.ActionAdd)
		}
	case conv == nil:
		return nil, MessageResult{}, notFound("conversationId", "no conversation %s", s.ConversationID)
	case !e.isMember(conv, u):
		return nil, MessageResult{}, invalid("from", "user %s is not in conversation %s", s.From, conv.id)
	}
	a, err := e.userMessage(u, conv, s)
	if err != nil {
		return nil, MessageResult{}, err
	}
	in := inbound{conv: conv, act: a, root: conv.kind == kindChannel && conv.rootID == ""}
	in.silent = conv.kind != kindPersonal && !(e.botInConversation(conv) && (mentionsBot(s.Mentions, e.BotID()) || len(s.Value) > 0))
	if conv.kind == kindPersonal && !e.reachable(u) {
		in.silent = true
	}
	acts = append(acts, in)
	return acts, MessageResult{ActivityID: a.ID, ConversationID: a.Conversation.ID, Delivered: !in.silent}, nil
}

func mentionsBot(mentions []string, botID string) bool {
	return slices.ContainsFunc(mentions, func(m string) bool { return m == "bot" || m == botID })
}

// botInConversation reports whether the bot is in a channel's team or a
// group chat. Caller holds e.mu.
func (e *Emulator) botInConversation(conv *conversation) bool {
	switch conv.kind {
	case kindGroupChat:
		return conv.botInstalled
	case kindChannel:
		t := e.teams[conv.teamID]
		return t != nil && t.installed
	}
	return true
}

// userMessage builds the message activity u sends to conv. Caller holds
// e.mu.
func (e *Emulator) userMessage(u *user, conv *conversation, s MessageSpec) (*botframework.Activity, error) {
	now := e.now()
	from := u.account()
	ca := e.conversationAccount(conv)
	a := &botframework.Activity{
		Type: botframework.TypeMessage, ID: e.clock.next(now), From: &from, Conversation: &ca,
		TextFormat: botframework.TextFormatPlain, Locale: u.locale, LocalTimezone: u.timezone,
		LocalTimestamp: localTime(now, u.timezone), Entities: []botframework.Entity{clientInfo(u)},
		Value: s.Value, ReplyToID: s.ReplyToID, ChannelData: tenantData(u.tenantID),
	}
	if conv.kind == kindChannel && conv.rootID == "" {
		ca.ID = threadID(conv.id, a.ID)
	}
	if conv.kind == kindChannel {
		t := e.teams[conv.teamID]
		a.ChannelData.Team = &botframework.TeamInfo{ID: t.id}
		a.ChannelData.Channel = &botframework.ChannelInfo{ID: conv.channelID}
		a.ChannelData.TeamsTeamID, a.ChannelData.TeamsChannelID = t.id, conv.channelID
	}
	text := s.Text
	for _, key := range s.Mentions {
		acc := *e.botAccount()
		if key != "bot" && key != e.BotID() {
			m, err := e.userFor("mentions", key)
			if err != nil {
				return nil, err
			}
			acc = m.account()
		}
		ent, at := botframework.NewMention(acc)
		a.Entities = append(a.Entities, ent)
		if !strings.Contains(text, at) {
			text = at + " " + text
		}
	}
	a.Text = strings.TrimSpace(text)
	if len(s.Mentions) > 0 && conv.kind != kindPersonal {
		a.Attachments = []botframework.Attachment{mentionHTML(a.Text)}
	}
	return a, nil
}

// mentionHTML is the text/html attachment Teams adds to channel messages
// with mentions: each <at>Name</at> becomes a Mention span.
func mentionHTML(text string) botframework.Attachment {
	var b strings.Builder
	b.WriteString("<div><div>")
	n := 0
	for {
		i := strings.Index(text, "<at>")
		j := strings.Index(text, "</at>")
		if i < 0 || j < i {
			b.WriteString(html.EscapeString(text))
			break
		}
		b.WriteString(html.EscapeString(text[:i]))
		b.WriteString(`<span itemtype="http://schema.skype.com/Mention" itemscope="" itemid="`)
		b.WriteString(strconv.Itoa(n))
		b.WriteString(`">`)
		b.WriteString(text[i+4 : j])
		b.WriteString("</span>")
		text = text[j+5:]
		n++
	}
	b.WriteString("</div></div>")
	content, _ := json.Marshal(b.String())
	return botframework.Attachment{ContentType: "text/html", Content: content}
}

// localTime returns now in the IANA zone tz, or in UTC if tz is unknown.
func localTime(now time.Time, tz string) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return now.UTC()
	}
	return now.In(loc)
}
