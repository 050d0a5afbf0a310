package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"herald"
	"herald/botframework"
	"herald/card"
)

// Herald's own card actions (see package card): opting out of topics and
// back in, the topics card's toggles, and the refreshes of the cards that
// show a person's own choices. The preference changed is always that of
// the person who acted (the activity's from), wherever the card is.
//
// They arrive two ways. An Action.Execute press (or a card's refresh) is an
// adaptiveCard/action invoke, answered in its HTTP response with the card
// that person sees next; only they see it. The Action.Submit fallback is a
// message whose value is the same data; its answer replaces the card in
// place, for everyone in the conversation.

// codeUnknownVerb is the error code of the answer to an Action.Execute
// that neither Herald nor a handler answered.
const codeUnknownVerb = "UnknownVerb"

// ownAction returns Herald's own action in a button's data, and whether it
// is one.
func ownAction(data json.RawMessage) (card.Submit, bool) {
	s, ok := card.ParseSubmit(data)
	switch s.Action {
	case card.SubmitOptOut, card.SubmitOptIn, card.SubmitTopicOn, card.SubmitTopicOff,
		card.SubmitTopicsCard, card.SubmitOptOutCard:
		return s, ok
	}
	return card.Submit{}, false
}

// cardSubmit handles the Action.Submit (fallback) presses of Herald's own
// buttons: it applies the action and queues the update of the card pressed
// (Activity.ReplyToID) with the answer. It reports false for anything else.
func (b *Bot) cardSubmit(ctx context.Context, t *Turn) (bool, error) {
	s, ok := ownAction(t.Activity.Value)
	if !ok {
		return false, nil
	}
	if t.userID() == "" {
		return true, nil
	}
	msg, err := b.actionCard(ctx, t, s, true)
	if err != nil {
		return true, err
	}
	return true, b.queueReply(ctx, t, msg, t.Activity.ReplyToID)
}

// refuseInvoke returns the 400 answer to an adaptiveCard/action invoke
// whose value the Bot Framework SDKs refuse (no value or action: code
// BadRequest; an action other than Action.Execute: NotSupported), or nil
// for any other activity. The endpoint answers it before recording
// anything.
func refuseInvoke(a *botframework.Activity) []byte {
	if a.Type != botframework.TypeInvoke || a.Name != botframework.InvokeAdaptiveCardAction {
		return nil
	}
	_, bad := botframework.ParseAdaptiveCardInvoke(a.Value)
	if bad == nil {
		return nil
	}
	body, _ := json.Marshal(bad)
	return body
}

// cardAction answers an adaptiveCard/action invoke (its value already
// checked by refuseInvoke) in its HTTP response, status 200: Herald's own
// actions with the card the person who acted sees next, anything else by
// the OnCardAction handlers or, when none answers, with an UnknownVerb
// error (statusCode 400). A failure is an error answer of statusCode 500.
func (b *Bot) cardAction(ctx context.Context, t *Turn) error {
	v, bad := botframework.ParseAdaptiveCardInvoke(t.Activity.Value)
	if bad != nil {
		t.SetInvokeResponse(bad.StatusCode, bad)
		return nil
	}
	var err error
	if s, ok := ownAction(v.Action.Data); ok && !b.cfg.DisableCommands {
		err = b.executeOwn(ctx, t, s)
	} else {
		err = runHandlers(ctx, t, b.onCard)
	}
	switch {
	case err != nil:
		b.log.Error("card action failed", "verb", v.Action.Verb, "err", err)
		t.answerInvoke(botframework.InvokeErrorResponse(http.StatusInternalServerError, "InternalError",
			"the action could not be completed; try again later"))
	case !t.invokeAnswered():
		t.answerInvoke(botframework.InvokeErrorResponse(http.StatusBadRequest, codeUnknownVerb,
			clipMessage(fmt.Sprintf("nothing here answers the verb %q", v.Action.Verb))))
	}
	return nil
}

// executeOwn applies one of Herald's actions pressed through Action.Execute
// and answers with the card the person who acted sees next.
func (b *Bot) executeOwn(ctx context.Context, t *Turn, s card.Submit) error {
	if t.userID() == "" {
		t.answerInvoke(botframework.InvokeErrorResponse(http.StatusBadRequest, botframework.InvokeBadRequest,
			"the action has no user (from) to apply it to"))
		return nil
	}
	msg, err := b.actionCard(ctx, t, s, false)
	if err != nil {
		return err
	}
	t.answerInvoke(botframework.InvokeCardResponse(msg.Attachments[0].Content))
	return nil
}

// actionCard applies s for the person who acted and returns the card
// they see next. shared marks a card the whole conversation sees (the
// Submit fallback updates it in place), which then names that person.
func (b *Bot) actionCard(ctx context.Context, t *Turn, s card.Submit, shared bool) (*botframework.Activity, error) {
	topics := b.knownTopics(s.Topics)
	switch s.Action {
	case card.SubmitTopicsCard:
		return b.topicsCard(ctx, t, "")
	case card.SubmitTopicOn, card.SubmitTopicOff:
		off := s.Action == card.SubmitTopicOff
		done, err := b.setTopics(ctx, t.userID(), topics, off)
		if err != nil {
			return nil, fmt.Errorf("topic toggle: %w", err)
		}
		return b.topicsCard(ctx, t, changeLine(done, off, "Nothing changed")+".")
	}
	if len(topics) == 0 {
		text := "No topic was selected. Type **topics** to try again."
		if len(s.Topics) > 0 {
			text = "I don't know the topic " + strings.Join(s.Topics, ", ") + " any more. Type **topics** to see them."
		}
		return confirmCard("Nothing changed", forShared(t, shared, text))
	}
	heading := ""
	if s.Action != card.SubmitOptOutCard {
		off := s.Action == card.SubmitOptOut
		done, err := b.setTopics(ctx, t.userID(), topics, off)
		if err != nil {
			return nil, fmt.Errorf("opt out: %w", err)
		}
		heading = changeLine(done, off, "Nothing changed")
	}
	return b.optOutCard(ctx, t, topics, heading, shared)
}

// knownTopics returns the configured topics among names, once each.
func (b *Bot) knownTopics(names []string) []herald.Topic {
	var out []herald.Topic
	seen := map[string]bool{}
	for _, name := range names {
		tp, ok := herald.FindTopic(b.cfg.Topics, name)
		if ok && !seen[tp.Name] {
			seen[tp.Name] = true
			out = append(out, tp)
		}
	}
	return out
}

// setTopics turns the topics that are not critical off (or on) for uid and
// returns their names, sorted.
func (b *Bot) setTopics(ctx context.Context, uid string, topics []herald.Topic, off bool) ([]string, error) {
	var done []string
	for _, tp := range topics {
		if tp.Critical {
			continue
		}
		if err := b.store.PreferenceSet(ctx, uid, tp.Name, off); err != nil {
			return nil, err
		}
		done = append(done, tp.Name)
	}
	sort.Strings(done)
	return done, nil
}

// changeLine says which topics were turned off (or on), or none.
func changeLine(done []string, off bool, none string) string {
	switch {
	case len(done) == 0:
		return none
	case off:
		return "Turned off: " + strings.Join(done, ", ")
	}
	return "Turned on: " + strings.Join(done, ", ")
}

// forShared is forSender's text on a card the conversation shares.
func forShared(t *Turn, shared bool, text string) string {
	if shared {
		return forSender(t, text)
	}
	return text
}

// optOutCard shows the person who acted their state of topics (the card
// answering an opt-out from a notification, or Herald's own buttons on
// it): heading says what changed ("" for a refresh), then each topic's
// state and a button that turns the ones off back on, or the ones on off.
// It refreshes for that person (card.SubmitOptOutCard), so it keeps
// showing their current state.
func (b *Bot) optOutCard(ctx context.Context, t *Turn, topics []herald.Topic, heading string, shared bool) (*botframework.Activity, error) {
	uid := t.userID()
	on, err := b.topicStates(ctx, uid)
	if err != nil {
		return nil, err
	}
	var names, onNames, offNames []string
	m := card.Message{Heading: heading}
	for _, tp := range topics {
		names = append(names, tp.Name)
		state := "off"
		switch {
		case tp.Critical:
			state = "always on (critical)"
		case on[tp.Name]:
			state, onNames = "on", append(onNames, tp.Name)
		default:
			offNames = append(offNames, tp.Name)
		}
		m.Facts = append(m.Facts, card.Fact{Title: tp.Name, Value: state})
	}
	if m.Heading == "" {
		m.Heading = "Your notifications: " + strings.Join(names, ", ")
	}
	text := "You get these notifications."
	if len(offNames) > 0 {
		text = "You won't get " + strings.Join(offNames, ", ") + " notifications any more."
	}
	m.Paragraphs = []string{forShared(t, shared, text+" This is your own choice; it changes nothing for anyone else.")}
	if len(offNames) > 0 {
		m.Buttons = append(m.Buttons, card.Button{Title: "Turn " + strings.Join(offNames, ", ") + " back on",
			Submit: &card.Submit{Action: card.SubmitOptIn, Topics: offNames}})
	}
	if len(onNames) > 0 {
		m.Buttons = append(m.Buttons, card.Button{Title: "Turn " + strings.Join(onNames, ", ") + " off",
			Submit: &card.Submit{Action: card.SubmitOptOut, Topics: onNames}})
	}
	if uid != "" {
		m.Refresh = &card.Refresh{Submit: card.Submit{Action: card.SubmitOptOutCard, Topics: names}, UserIDs: []string{uid}}
	}
	return cardMessage(m.Heading, m)
}
