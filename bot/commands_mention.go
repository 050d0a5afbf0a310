package bot

import (
	"strings"

	"herald/botframework"
	"herald/card"
)

// commandText returns the text of a message to parse as a built-in
// command, and whether it is one: in personal chat every message is; in a
// channel or a group chat only a message that @mentions the bot, whose
// mentions of the bot are removed from the text.
func (b *Bot) commandText(a *botframework.Activity, personal bool) (string, bool) {
	if personal {
		return a.Text, true
	}
	text, found := a.Text, false
	for _, m := range a.Mentions() {
		if !b.isBotAccount(a, m.Mentioned.ID) {
			continue
		}
		found = true
		if m.Text != "" {
			text = strings.ReplaceAll(text, m.Text, " ")
		}
	}
	return text, found
}

// isBotAccount reports whether id is the bot's: the activity's recipient
// or the bot's own id.
func (b *Bot) isBotAccount(a *botframework.Activity, id string) bool {
	if id == "" {
		return false
	}
	return id == b.botID || a.Recipient != nil && id == a.Recipient.ID
}

// replyConversation is the conversation an answer to a goes into: in a
// channel, the thread of the message (its conversation id names the
// thread's root; otherwise the message replied to, or the message itself,
// is the root); elsewhere the conversation itself.
func replyConversation(a *botframework.Activity) string {
	id := a.Conversation.ID
	channel := a.Conversation.ConversationType == botframework.ConversationChannel ||
		a.Conversation.ConversationType == "" && a.Team() != nil
	if !channel || strings.Contains(id, ";messageid=") {
		return id
	}
	root := a.ReplyToID
	if root == "" {
		root = a.ID
	}
	if root == "" {
		return id
	}
	return id + ";messageid=" + root
}

// inPersonalChat reports whether the turn is in the personal chat with
// the bot.
func (t *Turn) inPersonalChat() bool {
	return isPersonal(t.Activity, t.Activity.Team())
}

// senderName is the sender's display name, or "" when unknown.
func (t *Turn) senderName() string {
	if t.Activity.From == nil {
		return ""
	}
	return t.Activity.From.Name
}

// shortHelpCard answers a command Herald does not know: a line of the
// commands, and (in personal chat) a button to the full help.
func (b *Bot) shortHelpCard(t *Turn) (*botframework.Activity, error) {
	text := "I understand **help**, **topics**, **stop**, **start**, **stop <topic>** and **start <topic>**."
	m := card.Message{Heading: "Sorry, I didn't get that", Paragraphs: []string{text}}
	if t.inPersonalChat() {
		m.Buttons = []card.Button{{Title: "Help", Command: "help"}}
	} else {
		m.Paragraphs[0] = "@mention me with a command. " + text
	}
	return cardMessage("Sorry, I didn't get that", m)
}

// forSender prefixes text with the sender's name outside personal chat,
// where everyone in the conversation sees the answer.
func forSender(t *Turn, text string) string {
	if name := t.senderName(); name != "" && !t.inPersonalChat() {
		return "For " + name + ": " + text
	}
	return text
}
