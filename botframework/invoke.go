package botframework

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Universal Actions: the adaptiveCard/action invoke Teams sends when
// someone presses an Action.Execute button (or a card asks to refresh),
// and the answer the bot gives in the HTTP response of that invoke.
const (
	// InvokeAdaptiveCardAction is the Name of an Action.Execute invoke.
	InvokeAdaptiveCardAction = "adaptiveCard/action"
	// ActionExecute is the Adaptive Card action type of Universal Actions.
	ActionExecute = "Action.Execute"
	// TriggerManual marks a press of a button; TriggerAutomatic a card's
	// refresh as it is shown.
	TriggerManual    = "manual"
	TriggerAutomatic = "automatic"
)

// Content types of an invoke answer's value besides
// [ContentTypeAdaptiveCard] (an updated card).
const (
	// ContentTypeActivityMessage answers with a short text Teams shows.
	ContentTypeActivityMessage = "application/vnd.microsoft.activity.message"
	// ContentTypeError answers with an [InvokeError].
	ContentTypeError = "application/vnd.microsoft.error"
)

// Error codes of invoke answers that the Bot Framework SDKs use.
const (
	// InvokeBadRequest: the invoke lacks its value or action.
	InvokeBadRequest = "BadRequest"
	// InvokeNotSupported: the action is not an Action.Execute.
	InvokeNotSupported = "NotSupported"
)

// AdaptiveCardInvokeValue is the value of an adaptiveCard/action invoke.
type AdaptiveCardInvokeValue struct {
	// Action is the action pressed (or the card's refresh action).
	Action *AdaptiveCardInvokeAction `json:"action"`
	// Trigger is TriggerManual or TriggerAutomatic.
	Trigger string `json:"trigger,omitempty"`
	// Authentication and State carry single sign-on details, kept raw.
	Authentication json.RawMessage `json:"authentication,omitempty"`
	State          string          `json:"state,omitempty"`
}

// AdaptiveCardInvokeAction is the action of an adaptiveCard/action invoke:
// its type, id, verb, and data with the card's inputs merged in.
type AdaptiveCardInvokeAction struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Verb string          `json:"verb,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// InvokeResponse is the JSON body of the answer to an adaptiveCard/action
// invoke: a card (type [ContentTypeAdaptiveCard]), a text
// ([ContentTypeActivityMessage]) or an error ([ContentTypeError]).
type InvokeResponse struct {
	StatusCode int             `json:"statusCode"`
	Type       string          `json:"type"`
	Value      json.RawMessage `json:"value"`
}

// InvokeError is the value of an error answer.
type InvokeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// InvokeCardResponse answers with card, an Adaptive Card's JSON, which Teams
// shows the person who acted in place of the card they acted on.
func InvokeCardResponse(card json.RawMessage) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusOK, Type: ContentTypeAdaptiveCard, Value: card}
}

// InvokeErrorResponse answers with an error: status is 400 or 500 (the HTTP
// status of the answer too), code a short name such as
// [InvokeBadRequest].
func InvokeErrorResponse(status int, code, message string) InvokeResponse {
	v, _ := json.Marshal(InvokeError{Code: code, Message: message})
	return InvokeResponse{StatusCode: status, Type: ContentTypeError, Value: v}
}

// ParseAdaptiveCardInvoke decodes the value of an adaptiveCard/action
// invoke the way the Bot Framework SDKs check it. A missing or malformed
// value or action is an [InvokeBadRequest] error answer, an action other
// than Action.Execute an [InvokeNotSupported] one; both have status 400.
func ParseAdaptiveCardInvoke(value json.RawMessage) (AdaptiveCardInvokeValue, *InvokeResponse) {
	bad := func(code, format string, args ...any) (AdaptiveCardInvokeValue, *InvokeResponse) {
		r := InvokeErrorResponse(http.StatusBadRequest, code, fmt.Sprintf(format, args...))
		return AdaptiveCardInvokeValue{}, &r
	}
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return bad(InvokeBadRequest, "missing value property")
	}
	var v AdaptiveCardInvokeValue
	if err := json.Unmarshal(trimmed, &v); err != nil || trimmed[0] != '{' {
		return bad(InvokeBadRequest, "value is not an adaptive card invoke value")
	}
	if v.Action == nil {
		return bad(InvokeBadRequest, "missing action property")
	}
	if v.Action.Type != ActionExecute {
		return bad(InvokeNotSupported, "the action type %q is not supported; use %s", Clip(v.Action.Type, 64), ActionExecute)
	}
	return v, nil
}
