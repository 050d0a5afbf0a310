package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"unicode"
)

// SendToUsers sends one activity to each listed user, as a batch operation
// (POST /v3/batch/conversation/users). It returns the operation id.
func (cl *Client) SendToUsers(ctx context.Context, req BatchUsersRequest) (string, error) {
	const op = "send to users"
	if err := checkBatch(op, req.Activity, req.TenantID); err != nil {
		return "", err
	}
	if len(req.Members) == 0 {
		return "", invalid(op, "no members")
	}
	return cl.startBatch(ctx, op, "/v3/batch/conversation/users", req)
}

// SendToTenant sends one activity to every user of a tenant who has the
// app (POST /v3/batch/conversation/tenant).
func (cl *Client) SendToTenant(ctx context.Context, req BatchTenantRequest) (string, error) {
	const op = "send to tenant"
	if err := checkBatch(op, req.Activity, req.TenantID); err != nil {
		return "", err
	}
	return cl.startBatch(ctx, op, "/v3/batch/conversation/tenant", req)
}

// SendToTeam sends one activity to every member of a team, each in their
// 1:1 chat (POST /v3/batch/conversation/team).
func (cl *Client) SendToTeam(ctx context.Context, req BatchTeamRequest) (string, error) {
	const op = "send to team"
	if err := checkBatch(op, req.Activity, req.TenantID); err != nil {
		return "", err
	}
	if req.TeamID == "" {
		return "", invalid(op, "team id is empty")
	}
	return cl.startBatch(ctx, op, "/v3/batch/conversation/team", req)
}

// SendToChannels posts one activity into each listed channel (POST
// /v3/batch/conversation/channels).
func (cl *Client) SendToChannels(ctx context.Context, req BatchChannelsRequest) (string, error) {
	const op = "send to channels"
	if err := checkBatch(op, req.Activity, req.TenantID); err != nil {
		return "", err
	}
	if len(req.Members) == 0 {
		return "", invalid(op, "no channels")
	}
	return cl.startBatch(ctx, op, "/v3/batch/conversation/channels", req)
}

// GetOperationState returns the progress of a batch operation (GET
// /v3/batch/conversation/{operationId}).
func (cl *Client) GetOperationState(ctx context.Context, operationID string) (*BatchOperationState, error) {
	const op = "get operation state"
	p, err := segs(op, "operation id", operationID)
	if err != nil {
		return nil, err
	}
	var out BatchOperationState
	if err := cl.call(ctx, request{op: op, method: http.MethodGet, path: "/v3/batch/conversation/" + p[0]}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetFailedEntries returns one page of the entries a batch operation could
// not deliver (GET /v3/batch/conversation/failedentries/{operationId}).
func (cl *Client) GetFailedEntries(ctx context.Context, operationID, continuationToken string) (*BatchFailedEntries, error) {
	const op = "get failed entries"
	p, err := segs(op, "operation id", operationID)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if continuationToken != "" {
		q.Set("continuationToken", continuationToken)
	}
	var out BatchFailedEntries
	err = cl.call(ctx, request{op: op, method: http.MethodGet,
		path: "/v3/batch/conversation/failedentries/" + p[0], query: q}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelOperation cancels a batch operation (DELETE
// /v3/batch/conversation/{operationId}).
func (cl *Client) CancelOperation(ctx context.Context, operationID string) error {
	const op = "cancel operation"
	p, err := segs(op, "operation id", operationID)
	if err != nil {
		return err
	}
	_, err = cl.do(ctx, request{op: op, method: http.MethodDelete, path: "/v3/batch/conversation/" + p[0]})
	return err
}

func checkBatch(op string, a *Activity, tenantID string) error {
	switch {
	case a == nil:
		return invalid(op, "activity is nil")
	case tenantID == "":
		return invalid(op, "tenant id is empty")
	}
	return nil
}

func (cl *Client) startBatch(ctx context.Context, op, path string, body any) (string, error) {
	resp, err := cl.do(ctx, request{op: op, method: http.MethodPost, path: path, body: body})
	if err != nil {
		return "", err
	}
	id, err := parseOperationID(resp)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, &responseError{err: err})
	}
	return id, nil
}

// maxOperationID bounds an operation id read from a raw-text body.
const maxOperationID = 1024

// parseOperationID reads the body of a batch send. SDKs disagree on its
// shape, so all three are accepted: {"operationId":"…"}, a JSON string, and
// the bare id as text.
func parseOperationID(body []byte) (string, error) {
	b := bytes.TrimSpace(body)
	var id string
	switch {
	case len(b) == 0:
		return "", errEmptyResponse
	case b[0] == '{':
		var v BatchOperationResponse
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		id = v.OperationID
	case b[0] == '"':
		if err := json.Unmarshal(b, &id); err != nil {
			return "", err
		}
	default:
		id = string(b)
		if len(id) > maxOperationID || bytes.ContainsFunc(b, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
		}) {
			return "", fmt.Errorf("operation id is not a single token: %q", Clip(id, 64))
		}
	}
	if id == "" {
		return "", errEmptyResponse
	}
	return id, nil
}
