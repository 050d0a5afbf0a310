package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// apiError is a Connector error answer in Teams' shape.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

// Error returns the status, code and message.
func (a *apiError) Error() string { return fmt.Sprintf("%d %s: %s", a.status, a.code, a.message) }

// Teams' error answers.
func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "ConversationNotFound", message: "Conversation not found."}
}

func errNotInRoster() *apiError {
	return &apiError{status: http.StatusForbidden, code: "BotNotInConversationRoster", message: "The bot is not part of the conversation roster."}
}

func errBlocked() *apiError {
	return &apiError{status: http.StatusForbidden, code: "ConversationBlockedByUser", message: "User blocked the conversation with the bot."}
}

func errDisabled() *apiError {
	return &apiError{status: http.StatusForbidden, code: "BotDisabledByAdmin", message: "The tenant admin disabled this bot"}
}

func errBadArgument(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadArgument", message: msg}
}

func errTooBig() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "MessageSizeTooBig", message: "Message size too large."}
}

func errActivityNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "ActivityNotFoundInConversation", message: "The activity was not found in the conversation."}
}

func throttled(d time.Duration) *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: "Throttled", message: "Too many requests.", retryAfter: d}
}

// unauthorizedBody is the Connector's 401 answer, which is not an
// ErrorResponse.
const unauthorizedBody = `{"message":"Authorization has been denied for this request."}`

// writeTeamsError writes a as Teams does.
func writeTeamsError(w http.ResponseWriter, a *apiError) {
	if sw, ok := w.(*statusWriter); ok {
		sw.code = a.code
	}
	if a.status == http.StatusUnauthorized {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, unauthorizedBody)
		return
	}
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.retryAfter.Seconds()))))
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = a.code, a.message
	writeJSON(w, a.status, body)
}

// writeBlocked209 writes the 403 body the proactive-messaging docs show for
// a thread blocked from message writes.
func writeBlocked209(w *statusWriter) {
	w.code = "MessageWritesBlocked"
	inner, _ := json.Marshal(map[string]string{"subCode": "MessageWritesBlocked", "details": "Thread is blocked from message writes."})
	writeJSON(w, http.StatusForbidden, map[string]any{"errorCode": 209, "message": string(inner)})
}

// call is one Connector request being served.
type call struct {
	r    *http.Request
	op   string
	conv string // conversation (or team) the request is about, for logs and faults
	body []byte
}

// decode decodes the request's JSON body into v. Malformed JSON is a client
// bug: Err reports it.
func (e *Emulator) decode(c *call, v any) error {
	if err := json.Unmarshal(c.body, v); err != nil {
		e.fail(fmt.Errorf("%s %s: malformed body: %w", c.r.Method, c.r.URL.Path, err))
		return &apiError{status: http.StatusBadRequest, code: "BadSyntax", message: "Malformed request body: " + err.Error()}
	}
	return nil
}

// result is a handler's successful answer: a status and a JSON body (none
// when body is nil).
type result struct {
	status int
	body   any
}

type connectorFunc func(c *call) (result, error)

// maxBody bounds what the Connector reads of a request body.
const maxBody = 8 << 20

// connector wraps a Connector handler: it counts and logs the request,
// checks the bearer token, applies faults, reads the body, and renders the
// handler's result or error.
func (e *Emulator) connector(op string, h connectorFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		c := &call{r: r, op: op, conv: r.PathValue("conversationId")}
		if c.conv == "" {
			c.conv = r.PathValue("teamId")
		}
		e.stats.count(op, "connector")
		defer func() {
			e.stats.answered(RequestRecord{Time: e.now(), Method: r.Method, Path: r.URL.Path, Operation: op,
				ConversationID: c.conv, Status: sw.status, Code: sw.code})
			e.notify()
		}()
		if err := e.verifyConnectorToken(r); err != nil {
			writeTeamsError(sw, &apiError{status: http.StatusUnauthorized, code: "Unauthorized", message: err.Error()})
			return
		}
		fault := e.faults.decide(op, c.conv, e.now())
		if !fault.after && e.answerFault(sw, r, fault) {
			return
		}
		if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete {
			b, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBody))
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				writeTeamsError(sw, errTooBig())
				return
			case err != nil:
				writeTeamsError(sw, errBadArgument("read body: "+err.Error()))
				return
			}
			c.body = b
		}
		res, err := h(c)
		if fault.after && e.answerFault(sw, r, fault) {
			return // processed, and the answer is lost
		}
		if err != nil {
			var a *apiError
			if !errors.As(err, &a) {
				e.fail(fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
				a = &apiError{status: http.StatusInternalServerError, code: "ServiceError", message: err.Error()}
			}
			if a.status == http.StatusForbidden && e.faults.blocked209() &&
				(a.code == "ConversationBlockedByUser" || a.code == "BotNotInConversationRoster") {
				writeBlocked209(sw)
				return
			}
			writeTeamsError(sw, a)
			return
		}
		if res.body == nil {
			sw.WriteHeader(res.status)
			return
		}
		writeJSON(sw, res.status, res.body)
	})
}

// checkSize refuses an activity body larger than Config.MaxMessageBytes.
func (e *Emulator) checkSize(body []byte) error {
	if e.cfg.MaxMessageBytes > 0 && len(body) > e.cfg.MaxMessageBytes {
		return errTooBig()
	}
	return nil
}

// rate applies the rate limits to one request. Refusals are counted and
// returned as 429 Throttled with the time to wait.
func (e *Emulator) rate(class, tenant, conv string) error {
	ref := e.limiter.allow(class, tenant, conv, e.now())
	if ref == nil {
		return nil
	}
	e.stats.throttled(ref.cause, ref.limit)
	return throttled(ref.retryAfter)
}
