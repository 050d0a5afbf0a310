package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"herald/botauth"
	"herald/botframework"
)

// requestError is a refusal of an inbound request, rendered as
// {"error":{"code","message","field"}}.
type requestError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *requestError) Error() string { return e.code + ": " + e.message }

// errorBody is the JSON error shape of every Herald HTTP endpoint.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, e *requestError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{Code: e.code, Message: e.message, Field: e.field}})
}

// ServeHTTP is the messaging endpoint (POST /api/messages). In order: it
// refuses other methods (405) and requests without a bearer token (401),
// reads at most MaxBodyBytes (413 above), decodes the activity (400 if
// malformed), verifies the token against it (401, or 503 when the signing
// keys cannot be fetched), and only then records the activity in the
// directory, queues background work and runs handlers. A refused request
// changes nothing.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body, err := b.serve(r)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			b.log.Error("activity failed", "err", err)
			re = &requestError{status: http.StatusInternalServerError, code: "internal", message: "the activity could not be processed"}
		} else if re.status >= 500 {
			b.log.Warn("activity refused", "status", re.status, "code", re.code, "err", err)
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
		return 0, nil, &requestError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "use POST"}
	}
	auth := r.Header.Get("Authorization")
	if strings.TrimSpace(auth) == "" {
		return 0, nil, &requestError{status: http.StatusUnauthorized, code: "unauthorized", message: "missing bearer token", field: "Authorization"}
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
		return 0, nil, &requestError{status: http.StatusBadRequest, code: "unreadable_body", message: "the request body could not be read"}
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
		return 0, nil, &requestError{status: http.StatusServiceUnavailable, code: "keys_unavailable",
			message: "the token signing keys could not be fetched; try again later"}
	case botauth.IsTokenError(err):
		return 0, nil, &requestError{status: http.StatusUnauthorized, code: "unauthorized", message: clipMessage(err.Error()), field: "Authorization"}
	default:
		return 0, nil, err
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
	return &requestError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
		message: "the request body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}
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
		return nil, &requestError{status: http.StatusBadRequest, code: "malformed_activity", message: clipMessage(err.Error()), field: field}
	}
	if act.Conversation == nil || act.Conversation.ID == "" {
		return nil, &requestError{status: http.StatusBadRequest, code: "malformed_activity", message: "conversation.id is required", field: "conversation.id"}
	}
	if act.ServiceURL == "" {
		return nil, &requestError{status: http.StatusBadRequest, code: "malformed_activity", message: "serviceUrl is required", field: "serviceUrl"}
	}
	return act, nil
}

// maxMessageBytes bounds the error text quoted in a refusal's message or
// kept with a task to retry.
const maxMessageBytes = 200

// clipMessage is s clipped to maxMessageBytes (botframework.Clip).
func clipMessage(s string) string { return botframework.Clip(s, maxMessageBytes) }
