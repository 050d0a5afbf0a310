package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// scenarioFunc is a scenario API handler: it returns a status and a JSON
// body, or an error rendered as {"error":{"code","message","field"}}.
type scenarioFunc func(r *http.Request) (int, any, error)

func (e *Emulator) scenario(h scenarioFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, err := h(r)
		if err != nil {
			writeScenarioError(w, err)
			return
		}
		writeJSON(w, status, body)
	}
}

func writeScenarioError(w http.ResponseWriter, err error) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field,omitempty"`
		} `json:"error"`
	}
	status := http.StatusInternalServerError
	body.Error.Code, body.Error.Message = "Internal", err.Error()
	var se *ScenarioError
	if errors.As(err, &se) {
		body.Error.Code, body.Error.Message, body.Error.Field = se.Code, se.Message, se.Field
		switch {
		case errors.Is(se, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(se, ErrConflict):
			status = http.StatusConflict
		default:
			status = http.StatusBadRequest
		}
	}
	writeJSON(w, status, body)
}

// decodeBody decodes a scenario request's JSON body into v, refusing
// unknown fields so typos fail loudly. An empty body leaves v as is.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return invalid("body", "read body: %v", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("body", "malformed JSON: %v", err)
	}
	return nil
}

func (e *Emulator) hState(*http.Request) (int, any, error) { return http.StatusOK, e.State(), nil }

func (e *Emulator) hAddTenant(r *http.Request) (int, any, error) {
	var s TenantSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	t, err := e.AddTenant(s)
	return http.StatusCreated, t, err
}

func (e *Emulator) hDisableTenant(r *http.Request) (int, any, error) {
	s := struct {
		Disabled bool `json:"disabled"`
	}{Disabled: true}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	err := e.SetTenantDisabled(r.PathValue("tenantId"), s.Disabled)
	return http.StatusOK, map[string]any{"tenantId": r.PathValue("tenantId"), "disabled": s.Disabled}, err
}

func (e *Emulator) hAddUser(r *http.Request) (int, any, error) {
	var s UserSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	u, err := e.AddUser(s)
	return http.StatusCreated, u, err
}

func (e *Emulator) hBlock(r *http.Request) (int, any, error) {
	s := struct {
		Blocked bool `json:"blocked"`
	}{Blocked: true}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	if err := e.SetBlocked(r.PathValue("userId"), s.Blocked); err != nil {
		return 0, nil, err
	}
	u, err := e.User(r.PathValue("userId"))
	return http.StatusOK, u, err
}

func (e *Emulator) hAddTeam(r *http.Request) (int, any, error) {
	var s TeamSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	t, err := e.AddTeam(s)
	return http.StatusCreated, t, err
}

type nameBody struct {
	Name string `json:"name"`
}

func (e *Emulator) hRenameTeam(r *http.Request) (int, any, error) {
	var s nameBody
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.RenameTeam(r.Context(), r.PathValue("teamId"), s.Name)
	return http.StatusOK, d, err
}

func (e *Emulator) hAddChannel(r *http.Request) (int, any, error) {
	var s nameBody
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	ch, d, err := e.AddChannel(r.Context(), r.PathValue("teamId"), s.Name)
	return http.StatusCreated, map[string]any{"id": ch.ID, "name": ch.Name, "botStatus": d.BotStatus}, err
}

type userBody struct {
	UserID string `json:"userId"`
}

func (e *Emulator) hAddMember(r *http.Request) (int, any, error) {
	var s userBody
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.AddMember(r.Context(), r.PathValue("teamId"), s.UserID)
	return http.StatusOK, d, err
}

func (e *Emulator) hRemoveMember(r *http.Request) (int, any, error) {
	d, err := e.RemoveMember(r.Context(), r.PathValue("teamId"), r.PathValue("userId"))
	return http.StatusOK, d, err
}

func (e *Emulator) hAddGroupChat(r *http.Request) (int, any, error) {
	var s GroupChatSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.AddGroupChat(r.Context(), s)
	return http.StatusCreated, d, err
}

func (e *Emulator) hInstallPersonal(r *http.Request) (int, any, error) {
	var s userBody
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.InstallPersonal(r.Context(), s.UserID)
	return http.StatusOK, d, err
}

func (e *Emulator) hUninstallPersonal(r *http.Request) (int, any, error) {
	var s userBody
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.UninstallPersonal(r.Context(), s.UserID)
	return http.StatusOK, d, err
}

func (e *Emulator) hInstallTeam(r *http.Request) (int, any, error) {
	var s InstallTeamSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.InstallTeam(r.Context(), s)
	return http.StatusOK, d, err
}

func (e *Emulator) hUninstallTeam(r *http.Request) (int, any, error) {
	var s struct {
		TeamID string `json:"teamId"`
	}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	d, err := e.UninstallTeam(r.Context(), s.TeamID)
	return http.StatusOK, d, err
}

func (e *Emulator) hSendMessage(r *http.Request) (int, any, error) {
	var s MessageSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	res, err := e.SendMessage(r.Context(), s)
	return http.StatusOK, res, err
}

// limitsDoc is the JSON form of Limits: "enabled" instead of Disabled, and
// absent lists mean the defaults.
type limitsDoc struct {
	Enabled   *bool    `json:"enabled,omitempty"`
	TenantRPS int      `json:"tenantRps"`
	Send      []Window `json:"send"`
	Create    []Window `json:"create"`
	Read      []Window `json:"read"`
}

func limitsJSON(l Limits) limitsDoc {
	on := !l.Disabled
	return limitsDoc{Enabled: &on, TenantRPS: l.TenantRPS, Send: l.Send, Create: l.Create, Read: l.Read}
}

func (e *Emulator) hGetLimits(*http.Request) (int, any, error) {
	return http.StatusOK, limitsJSON(e.Limits()), nil
}

// hPutLimits replaces the limits; what the body leaves out gets its default.
func (e *Emulator) hPutLimits(r *http.Request) (int, any, error) {
	var d limitsDoc
	if err := decodeBody(r, &d); err != nil {
		return 0, nil, err
	}
	err := e.SetLimits(Limits{Disabled: d.Enabled != nil && !*d.Enabled, TenantRPS: d.TenantRPS, Send: d.Send, Create: d.Create, Read: d.Read})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, limitsJSON(e.Limits()), nil
}

func (e *Emulator) hGetFaults(*http.Request) (int, any, error) { return http.StatusOK, e.Faults(), nil }

// hPutFaults replaces the faults; what the body leaves out is off.
func (e *Emulator) hPutFaults(r *http.Request) (int, any, error) {
	var f Faults
	if err := decodeBody(r, &f); err != nil {
		return 0, nil, err
	}
	if err := e.SetFaults(f); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, e.Faults(), nil
}

func (e *Emulator) hKeys(*http.Request) (int, any, error) { return http.StatusOK, e.Keys(), nil }

func (e *Emulator) hRotateKeys(r *http.Request) (int, any, error) {
	var s struct {
		RetireOld bool `json:"retireOld"`
		Stage     bool `json:"stage"`
	}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	if s.Stage {
		if s.RetireOld {
			return 0, nil, invalid("stage", "stage and retireOld exclude each other")
		}
		return http.StatusOK, e.StageNextKey(), nil
	}
	return http.StatusOK, e.RotateKeys(s.RetireOld), nil
}

func (e *Emulator) hForge(r *http.Request) (int, any, error) {
	var s ForgeSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	res, err := e.Forge(r.Context(), s)
	return http.StatusOK, res, err
}

func (e *Emulator) hConversations(*http.Request) (int, any, error) {
	return http.StatusOK, e.Conversations(), nil
}

func (e *Emulator) hActivities(r *http.Request) (int, any, error) {
	id := r.PathValue("conversationId")
	if _, ok := e.Conversation(id); !ok {
		return 0, nil, notFound("conversationId", "no conversation %s", id)
	}
	return http.StatusOK, e.Activities(id), nil
}

func (e *Emulator) hBatch(r *http.Request) (int, any, error) {
	st, failed, ok := e.Batch(r.PathValue("operationId"))
	if !ok {
		return 0, nil, notFound("operationId", "no batch operation %s", r.PathValue("operationId"))
	}
	if failed == nil {
		failed = []FailedEntry{}
	}
	return http.StatusOK, map[string]any{"state": st, "failedEntries": failed}, nil
}

func (e *Emulator) hRequests(*http.Request) (int, any, error) {
	return http.StatusOK, e.Requests(), nil
}

func (e *Emulator) hCounters(*http.Request) (int, any, error) {
	return http.StatusOK, e.Counters(), nil
}

func (e *Emulator) hErrors(*http.Request) (int, any, error) {
	out := []string{}
	if err := e.Err(); err != nil {
		out = strings.Split(err.Error(), "\n")
	}
	return http.StatusOK, map[string]any{"errors": out}, nil
}
