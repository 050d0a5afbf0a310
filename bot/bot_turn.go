package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"herald"

	"herald/botauth"
	"herald/botframework"
)

// Turn is one inbound activity being handled: the verified activity, who
// signed it, and ways to answer in its conversation.
type Turn struct {
	// Activity is the decoded, verified activity.
	Activity *botframework.Activity
	// Identity is what the verified token said.
	Identity *botauth.Identity

	bot          *Bot
	invokeStatus int
	invokeBody   any
}

// Bot returns the bot handling the turn.
func (t *Turn) Bot() *Bot { return t.bot }

// Send posts activity into the turn's conversation through the Connector
// and returns the new activity's id. It fills in from, conversation and
// (when unset) replyToId.
func (t *Turn) Send(ctx context.Context, activity *botframework.Activity) (string, error) {
	a := *activity
	if a.Type == "" {
		a.Type = botframework.TypeMessage
	}
	if a.From == nil {
		a.From = t.Activity.Recipient
	}
	if a.ReplyToID == "" {
		a.ReplyToID = t.Activity.ID
	}
	a.Conversation = t.Activity.Conversation
	res, err := t.bot.cfg.Connector.Client(t.Activity.ServiceURL).SendToConversation(ctx, t.Activity.Conversation.ID, &a)
	if err != nil {
		return "", fmt.Errorf("send reply: %w", err)
	}
	return res.ID, nil
}

// Update replaces an activity the bot sent earlier in the turn's
// conversation (for example the card a submit came from, whose id is
// Activity.ReplyToID).
func (t *Turn) Update(ctx context.Context, activityID string, activity *botframework.Activity) error {
	a := *activity
	if a.Type == "" {
		a.Type = botframework.TypeMessage
	}
	a.ID = activityID
	a.Conversation = t.Activity.Conversation
	_, err := t.bot.cfg.Connector.Client(t.Activity.ServiceURL).UpdateActivity(ctx, t.Activity.Conversation.ID, activityID, &a)
	if err != nil {
		return fmt.Errorf("update activity: %w", err)
	}
	return nil
}

// User returns the sender as recorded in the directory.
func (t *Turn) User(ctx context.Context) (herald.User, error) {
	if t.Activity.From == nil {
		return herald.User{}, fmt.Errorf("turn user: activity has no sender: %w", herald.ErrNotFound)
	}
	return t.bot.store.UserGet(ctx, t.Activity.From.ID)
}

// DecodeValue unmarshals the activity's value (a card submit's data or an
// invoke's payload) into v.
func (t *Turn) DecodeValue(v any) error {
	if len(t.Activity.Value) == 0 {
		return fmt.Errorf("decode value: activity has no value")
	}
	if err := json.Unmarshal(t.Activity.Value, v); err != nil {
		return fmt.Errorf("decode value: %w", err)
	}
	return nil
}

// SetInvokeResponse sets the HTTP status and JSON body answered to an
// invoke activity. Without it, invokes are answered 200 with an empty
// object, except adaptiveCard/action invokes (Action.Execute), which get
// an UnknownVerb error answer: answer those with
// SetInvokeResponse(http.StatusOK, botframework.InvokeCardResponse(card)).
func (t *Turn) SetInvokeResponse(status int, body any) {
	t.invokeStatus, t.invokeBody = status, body
}

// answerInvoke answers an adaptiveCard/action invoke with r, in an HTTP
// 200 response: Teams reads the outcome, errors too, from r.
func (t *Turn) answerInvoke(r botframework.InvokeResponse) { t.SetInvokeResponse(http.StatusOK, r) }

// invokeAnswered reports whether the invoke's answer was set.
func (t *Turn) invokeAnswered() bool { return t.invokeStatus != 0 || t.invokeBody != nil }

func (t *Turn) invokeResponse() (int, []byte, error) {
	status := t.invokeStatus
	if status == 0 {
		status = http.StatusOK
	}
	body := t.invokeBody
	if body == nil {
		body = struct{}{}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("encode invoke response: %w", err)
	}
	return status, data, nil
}
