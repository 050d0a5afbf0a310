package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"herald/api"
	"herald/botauth"
	"herald/botframework"
)

// Error codes of the messaging endpoint's refusals besides the API's
// (api.CodeMethodNotAllowed, api.CodeUnauthorized, api.CodeInternal).
const (
	codeTooLarge          = "body_too_large"
	codeUnreadable        = "unreadable_body"
	codeMalformedActivity = "malformed_activity"
	codeKeysUnavailable   = "keys_unavailable"
	codeChannelRefused    = "channel_not_allowed"
)

// refusal is a refusal of an inbound request, answered with the error body
// of every Herald HTTP endpoint, {"error":{"code","message","field"}}.
func refusal(status int, code, message, field string) *api.Error {
	return &api.Error{Status: status, Code: code, Message: message, Field: field}
}

func writeError(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: e})
}

// ServeHTTP is the messaging endpoint (POST /api/messages). In order: it
// refuses other methods (405) and requests without a bearer token (401),
// reads at most MaxBodyBytes (413 above), decodes the activity (400 if
// malformed), verifies the token against it (401, or 503 when the signing
// keys cannot be fetched), refuses activities from channels not in
// Config.Channels (403) and adaptiveCard/action invokes the Bot Framework
// SDKs refuse (400 with an invoke error body: see refuseInvoke), and only
// then records the activity in the directory,
// queues background work and runs handlers. A refused request changes
// nothing.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body, err := b.serve(r)
	if err != nil {
		var re *api.Error
		if !errors.As(err, &re) {
			b.log.Error("activity failed", "err", err)
			re = refusal(http.StatusInternalServerError, api.CodeInternal, "the activity could not be processed", "")
		} else if re.Status >= 500 {
			b.log.Warn("activity refused", "status", re.Status, "code", re.Code, "err", err)
		}
		writeError(w, re)
		return
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serve handles one request and returns the status and body to answer.
func (b *Bot) serve(r *http.Request) (int, []byte, error) {
	if r.Method != http.MethodPost {
		return 0, nil, refusal(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "use POST", "")
	}
	auth := r.Header.Get("Authorization")
	if strings.TrimSpace(auth) == "" {
		return 0, nil, refusal(http.StatusUnauthorized, api.CodeUnauthorized, "missing bearer token", "Authorization")
	}
	if r.ContentLength > b.cfg.MaxBodyBytes {
		return 0, nil, tooLarge(b.cfg.MaxBodyBytes)
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, b.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return 0, nil, tooLarge(b.cfg.MaxBodyBytes)
		}
		return 0, nil, refusal(http.StatusBadRequest, codeUnreadable, "the request body could not be read", "")
	}
	act, err := DecodeActivity(data)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	id, err := b.cfg.Verifier.Verify(ctx, auth, act)
	switch {
	case err == nil:
	case errors.Is(err, botauth.ErrMetadata):
		return 0, nil, refusal(http.StatusServiceUnavailable, codeKeysUnavailable,
			"the token signing keys could not be fetched; try again later", "")
	case botauth.IsTokenError(err):
		return 0, nil, refusal(http.StatusUnauthorized, api.CodeUnauthorized, clipMessage(err.Error()), "Authorization")
	default:
		return 0, nil, err
	}
	if !slices.Contains(b.cfg.Channels, act.ChannelID) {
		return 0, nil, refusal(http.StatusForbidden, codeChannelRefused,
			clipMessage(fmt.Sprintf("activities from channel %q are not accepted (allowed: %s)", act.ChannelID, strings.Join(b.cfg.Channels, ", "))), "channelId")
	}
	if body := refuseInvoke(act); body != nil {
		return http.StatusBadRequest, body, nil
	}
	// From here on the activity is authentic, and its serviceUrl trusted.
	// Recording uses a context that a client disconnect does not cancel,
	// so a half-recorded activity is not left behind.
	ctx = context.WithoutCancel(ctx)
	turn := &Turn{Activity: act, Identity: id, bot: b}
	if err := b.capture(ctx, turn); err != nil {
		return 0, nil, err
	}
	if err := b.dispatch(ctx, turn); err != nil {
		return 0, nil, err
	}
	if act.Type == botframework.TypeInvoke {
		return turn.invokeResponse()
	}
	return http.StatusOK, nil, nil
}

func tooLarge(limit int64) error {
	return refusal(http.StatusRequestEntityTooLarge, codeTooLarge,
		"the request body exceeds "+strconv.FormatInt(limit, 10)+" bytes", "")
}

// DecodeActivity parses an inbound activity body. Its errors are 400
// refusals naming the offending field where known.
func DecodeActivity(data []byte) (*botframework.Activity, error) {
	act, err := botframework.DecodeActivity(data)
	if err != nil {
		var de *botframework.DecodeError
		field := ""
		if errors.As(err, &de) {
			field = de.Field
		}
		var te *json.UnmarshalTypeError
		if field == "" && errors.As(err, &te) {
			field = te.Field
		}
		return nil, refusal(http.StatusBadRequest, codeMalformedActivity, clipMessage(err.Error()), field)
	}
	if act.Conversation == nil || act.Conversation.ID == "" {
		return nil, refusal(http.StatusBadRequest, codeMalformedActivity, "conversation.id is required", "conversation.id")
	}
	if act.ServiceURL == "" {
		return nil, refusal(http.StatusBadRequest, codeMalformedActivity, "serviceUrl is required", "serviceUrl")
	}
	return act, nil
}

// maxMessageBytes bounds the error text quoted in a refusal's message or
// kept with a task to retry.
const maxMessageBytes = 200

// clipMessage is s clipped to maxMessageBytes (botframework.Clip).
func clipMessage(s string) string { return botframework.Clip(s, maxMessageBytes) }
