package bot

import (
	"context"
	"regexp"
	"strings"

	"herald"
	"herald/botframework"
	"herald/card"
)

// mentionTag matches "<at>Name</at>", which Teams puts in the text of a
// message that @mentions the bot.
var mentionTag = regexp.MustCompile(`(?is)<at[^>]*>.*?</at>`)

// parseCommand splits a message's text into a lowercase command word and
// its argument, ignoring @mentions and surrounding space.
func parseCommand(text string) (cmd, arg string) {
	text = mentionTag.ReplaceAllString(text, " ")
	text = strings.Join(strings.Fields(text), " ")
	cmd, arg, _ = strings.Cut(text, " ")
	return strings.ToLower(cmd), strings.TrimSpace(arg)
}

// command answers the built-in commands in text (a personal message, or a
// channel or group chat message to the bot without its mention), for the
// sender. It reports false for other text, unless fallback is set, in
// which case anything else gets the short help card.
func (b *Bot) command(ctx context.Context, t *Turn, text string, fallback bool) (bool, error) {
	cmd, arg := parseCommand(text)
	var msg *botframework.Activity
	var err error
	switch {
	case cmd == "help" && arg == "":
		msg, err = b.helpCard(t, "")
	case cmd == "topics" && arg == "":
		msg, err = b.topicsCard(ctx, t, "")
	case cmd == "stop":
		msg, err = b.stop(ctx, t, arg)
	case cmd == "start":
		msg, err = b.start(ctx, t, arg)
	case fallback:
		msg, err = b.shortHelpCard(t)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return true, b.queueReply(ctx, t, msg, "")
}

// queueReply queues msg as the answer to the turn (or, with updateID, as
// the new content of that earlier card).
func (b *Bot) queueReply(ctx context.Context, t *Turn, msg *botframework.Activity, updateID string) error {
	a := t.Activity
	key := a.ID
	if key == "" {
		key = a.Conversation.ID + "@" + b.now().Format("20060102T150405.000000000")
	}
	convID := a.Conversation.ID
	if updateID == "" {
		msg.ReplyToID = a.ID
		convID = replyConversation(a)
	}
	return b.addTask(ctx, taskReply, a.Conversation.ID+" "+key, replyTask{ConversationID: convID,
		ServiceURL: a.ServiceURL, UpdateID: updateID, Activity: msg})
}

// userID is the sender's id, or "" for anything that is not a user.
func (t *Turn) userID() string {
	if t.Activity.From == nil || !herald.IsUserID(t.Activity.From.ID) {
		return ""
	}
	return t.Activity.From.ID
}

// cardMessage renders m as the only attachment of a message activity
// whose summary is the notification preview.
func cardMessage(summary string, m card.Message) (*botframework.Activity, error) {
	att, err := card.RenderMessage(m)
	if err != nil {
		return nil, err
	}
	return &botframework.Activity{Type: botframework.TypeMessage, Summary: summary, Attachments: []botframework.Attachment{att}}, nil
}

func (b *Bot) helpCard(t *Turn, preface string) (*botframework.Activity, error) {
	m := card.Message{
		Preface:    preface,
		Heading:    b.botName(recipientName(t.Activity)) + ": what I can do",
		Paragraphs: []string{"I send you notifications here, in this chat. You decide which topics you get."},
		Facts:      commandFacts,
	}
	if !t.inPersonalChat() {
		// A button's text would reach the bot without an @mention here.
		m.Paragraphs = []string{"I send you notifications in your personal chat with me. @mention me with a command; it applies to you alone."}
		return cardMessage("What I can do", m)
	}
	if len(b.cfg.Topics) > 0 {
		m.Buttons = []card.Button{{Title: "Show topics", Command: "topics"}}
	}
	return cardMessage("What I can do", m)
}

// commandFacts lists the built-in commands for the help card.
var commandFacts = []card.Fact{
	{Title: "help", Value: "show this card"},
	{Title: "topics", Value: "list the topics and turn them on or off"},
	{Title: "stop", Value: "stop every notification that isn't critical"},
	{Title: "stop <topic>", Value: "stop one topic"},
	{Title: "start <topic>", Value: "get a topic again (start alone: everything)"},
}

// topicStates returns, for each configured topic, whether the user gets
// it: an explicit choice wins, then "stop" alone for a default-on topic;
// a default-off topic is off until started.
func (b *Bot) topicStates(ctx context.Context, userID string) (map[string]bool, error) {
	prefs, err := b.store.PreferenceList(ctx, userID)
	if err != nil {
		return nil, err
	}
	explicit := make(map[string]bool)
	all := false
	for _, p := range prefs {
		if p.Topic == herald.TopicAll {
			all = p.OptedOut
			continue
		}
		explicit[strings.ToLower(p.Topic)] = p.OptedOut
	}
	on := make(map[string]bool, len(b.cfg.Topics))
	for _, tp := range b.cfg.Topics {
		out, ok := explicit[strings.ToLower(tp.Name)]
		if !ok {
			out = all || tp.DefaultOff
		}
		on[tp.Name] = tp.Critical || !out
	}
	return on, nil
}

// topicsCard lists the topics, each with its state for the sender and a
// button that flips it; preface, when set, says what just changed. The
// card refreshes for the sender (card.SubmitTopicsCard), so it keeps
// showing their current choices.
func (b *Bot) topicsCard(ctx context.Context, t *Turn, preface string) (*botframework.Activity, error) {
	m := card.Message{Preface: preface, Heading: "Your notification topics"}
	if len(b.cfg.Topics) == 0 {
		m.Paragraphs = []string{"There are no topics to choose from: every notification is sent to everyone concerned."}
		return cardMessage("Your topics", m)
	}
	uid := t.userID()
	on, err := b.topicStates(ctx, uid)
	if err != nil {
		return nil, err
	}
	if uid != "" {
		m.Refresh = &card.Refresh{Submit: card.Submit{Action: card.SubmitTopicsCard}, UserIDs: []string{uid}}
	}
	for _, tp := range b.cfg.Topics {
		g := card.Toggle{Topic: tp.Name, On: on[tp.Name]}
		state := "off"
		switch {
		case tp.Critical:
			state = "always on (critical)"
		case g.On:
			state, g.Button = "on", "Turn off"
		default:
			g.Button = "Turn on"
		}
		g.Text = "**" + tp.Name + "**: " + state
		if tp.Description != "" {
			g.Text += ". " + tp.Description
		}
		m.Toggles = append(m.Toggles, g)
	}
	return cardMessage("Your topics", m)
}

// stop handles "stop" and "stop <topic>".
func (b *Bot) stop(ctx context.Context, t *Turn, arg string) (*botframework.Activity, error) {
	uid := t.userID()
	if arg == "" {
		prefs, err := b.store.PreferenceList(ctx, uid)
		if err != nil {
			return nil, err
		}
		for _, p := range prefs {
			if p.Topic != herald.TopicAll && !p.OptedOut {
				if err := b.store.PreferenceSet(ctx, uid, p.Topic, true); err != nil {
					return nil, err
				}
			}
		}
		if err := b.store.PreferenceSet(ctx, uid, herald.TopicAll, true); err != nil {
			return nil, err
		}
		return confirmCard("Notifications stopped", stopConfirmation(b.criticalTopics())+" Type **start** to get them again.")
	}
	tp, ok := herald.FindTopic(b.cfg.Topics, arg)
	switch {
	case !ok:
		return b.unknownTopic(arg)
	case tp.Critical:
		return confirmCard("Can't stop "+tp.Name, "**"+tp.Name+"** is critical, so it can't be turned off.")
	}
	if err := b.store.PreferenceSet(ctx, uid, tp.Name, true); err != nil {
		return nil, err
	}
	return confirmCard("Stopped "+tp.Name, "You won't get **"+tp.Name+"** notifications any more. Type **start "+tp.Name+"** to get them again.")
}

// start handles "start" and "start <topic>".
func (b *Bot) start(ctx context.Context, t *Turn, arg string) (*botframework.Activity, error) {
	uid := t.userID()
	if arg == "" {
		prefs, err := b.store.PreferenceList(ctx, uid)
		if err != nil {
			return nil, err
		}
		for _, p := range prefs {
			if p.OptedOut {
				if err := b.store.PreferenceSet(ctx, uid, p.Topic, false); err != nil {
					return nil, err
				}
			}
		}
		return confirmCard("Notifications on", "You'll get every topic you didn't have to start again. Type **topics** to choose.")
	}
	tp, ok := herald.FindTopic(b.cfg.Topics, arg)
	if !ok {
		return b.unknownTopic(arg)
	}
	if err := b.store.PreferenceSet(ctx, uid, tp.Name, false); err != nil {
		return nil, err
	}
	return confirmCard("Started "+tp.Name, "You'll get **"+tp.Name+"** notifications again. Type **stop "+tp.Name+"** to stop them.")
}

// stopConfirmation is what "stop" answers, saying exactly what still
// comes through: the critical topics, and notifications an authorised
// sender (an API key allowed to send critical ones) marks critical. The
// README quotes it word for word.
func stopConfirmation(criticalTopics []string) string {
	except := "notifications marked critical by an authorised sender"
	if len(criticalTopics) > 0 {
		except = "the critical topics (" + strings.Join(criticalTopics, ", ") + ") and " + except
	}
	return "Done: you won't get notifications from me any more, except " + except + "."
}

func (b *Bot) criticalTopics() []string {
	var out []string
	for _, tp := range b.cfg.Topics {
		if tp.Critical {
			out = append(out, tp.Name)
		}
	}
	return out
}

func (b *Bot) unknownTopic(name string) (*botframework.Activity, error) {
	names := make([]string, 0, len(b.cfg.Topics))
	for _, tp := range b.cfg.Topics {
		names = append(names, tp.Name)
	}
	text := "I don't know a topic called **" + name + "**."
	if len(names) > 0 {
		text += " The topics are: " + strings.Join(names, ", ") + "."
	}
	return confirmCard("Unknown topic", text)
}

func confirmCard(title, text string) (*botframework.Activity, error) {
	return cardMessage(title, card.Message{Heading: title, Paragraphs: []string{text}})
}
