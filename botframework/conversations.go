package botframework

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// messageIDMarker separates a channel thread's conversation id from the id
// of its root message: "19:…@thread.tacv2;messageid=1700000000000".
const messageIDMarker = ";messageid="

// CreateConversation creates a conversation (POST /v3/conversations).
// Teams can create only 1:1 chats and channel threads; see
// CreatePersonalConversation and CreateChannelThread.
func (cl *Client) CreateConversation(ctx context.Context, params ConversationParameters) (*ConversationResourceResponse, error) {
	return cl.createConversation(ctx, "create conversation", params)
}

// CreatePersonalConversation creates (or finds) the 1:1 chat between bot and
// the user and returns its id. userID is the user's "29:" id or Entra
// object id; Teams needs the tenant, which is sent both top-level and in
// channelData.tenant.
func (cl *Client) CreatePersonalConversation(ctx context.Context, bot ChannelAccount, userID, tenantID string) (string, error) {
	const op = "create personal conversation"
	switch {
	case userID == "":
		return "", invalid(op, "user id is empty")
	case tenantID == "":
		return "", invalid(op, "tenant id is empty")
	}
	resp, err := cl.createConversation(ctx, op, ConversationParameters{
		IsGroup:     false,
		Bot:         &bot,
		Members:     []ChannelAccount{{ID: userID}},
		TenantID:    tenantID,
		ChannelData: &ChannelData{Tenant: &TenantInfo{ID: tenantID}},
	})
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

// CreateChannelThread posts activity as a new thread in a team's channel
// (the team id as channelID means General). It returns the conversation id
// of the thread and the id of its root message; when the service returns no
// activityId, the id after ";messageid=" in the conversation id is used.
func (cl *Client) CreateChannelThread(ctx context.Context, bot ChannelAccount, teamID, channelID, tenantID string, activity *Activity) (conversationID, activityID string, err error) {
	const op = "create channel thread"
	switch {
	case channelID == "":
		return "", "", invalid(op, "channel id is empty")
	case tenantID == "":
		return "", "", invalid(op, "tenant id is empty")
	case activity == nil:
		return "", "", invalid(op, "activity is nil")
	}
	cd := &ChannelData{
		Channel:        &ChannelInfo{ID: channelID},
		Tenant:         &TenantInfo{ID: tenantID},
		TeamsChannelID: channelID,
		TeamsTeamID:    teamID,
	}
	if teamID != "" {
		cd.Team = &TeamInfo{ID: teamID}
	}
	resp, err := cl.createConversation(ctx, op, ConversationParameters{
		IsGroup:     true,
		Bot:         &bot,
		TenantID:    tenantID,
		Activity:    activity,
		ChannelData: cd,
	})
	if err != nil {
		return "", "", err
	}
	activityID = resp.ActivityID
	if activityID == "" {
		if i := strings.LastIndex(resp.ID, messageIDMarker); i >= 0 {
			activityID = resp.ID[i+len(messageIDMarker):]
		}
	}
	return resp.ID, activityID, nil
}

func (cl *Client) createConversation(ctx context.Context, op string, params ConversationParameters) (*ConversationResourceResponse, error) {
	var out ConversationResourceResponse
	err := cl.call(ctx, request{op: op, method: http.MethodPost, path: "/v3/conversations", body: params}, &out)
	if err != nil {
		return nil, err
	}
	if out.ID == "" {
		return nil, fmt.Errorf("%s: %w", op, &responseError{err: errEmptyResponse})
	}
	return &out, nil
}

// SendToConversation posts activity to the end of a conversation (POST
// /v3/conversations/{id}/activities). The response id is the new message's
// id; it may be empty (Teams returns none when it split the activity).
func (cl *Client) SendToConversation(ctx context.Context, conversationID string, activity *Activity) (*ResourceResponse, error) {
	const op = "send to conversation"
	p, err := segs(op, "conversation id", conversationID)
	if err != nil {
		return nil, err
	}
	if activity == nil {
		return nil, invalid(op, "activity is nil")
	}
	return cl.resource(ctx, request{op: op, method: http.MethodPost,
		path: "/v3/conversations/" + p[0] + "/activities", body: activity})
}

// ReplyToActivity posts activity as a reply to activityID (POST
// /v3/conversations/{id}/activities/{activityId}). When activity has no
// ReplyToID, a copy with ReplyToID = activityID is sent.
func (cl *Client) ReplyToActivity(ctx context.Context, conversationID, activityID string, activity *Activity) (*ResourceResponse, error) {
	const op = "reply to activity"
	p, err := segs(op, "conversation id", conversationID, "activity id", activityID)
	if err != nil {
		return nil, err
	}
	if activity == nil {
		return nil, invalid(op, "activity is nil")
	}
	if activity.ReplyToID == "" {
		cp := *activity
		cp.ReplyToID = activityID
		activity = &cp
	}
	return cl.resource(ctx, request{op: op, method: http.MethodPost,
		path: "/v3/conversations/" + p[0] + "/activities/" + p[1], body: activity})
}

// UpdateActivity replaces a message the bot sent (PUT
// /v3/conversations/{id}/activities/{activityId}).
func (cl *Client) UpdateActivity(ctx context.Context, conversationID, activityID string, activity *Activity) (*ResourceResponse, error) {
	const op = "update activity"
	p, err := segs(op, "conversation id", conversationID, "activity id", activityID)
	if err != nil {
		return nil, err
	}
	if activity == nil {
		return nil, invalid(op, "activity is nil")
	}
	return cl.resource(ctx, request{op: op, method: http.MethodPut,
		path: "/v3/conversations/" + p[0] + "/activities/" + p[1], body: activity})
}

// DeleteActivity deletes a message the bot sent (DELETE
// /v3/conversations/{id}/activities/{activityId}).
func (cl *Client) DeleteActivity(ctx context.Context, conversationID, activityID string) error {
	const op = "delete activity"
	p, err := segs(op, "conversation id", conversationID, "activity id", activityID)
	if err != nil {
		return err
	}
	_, err = cl.do(ctx, request{op: op, method: http.MethodDelete,
		path: "/v3/conversations/" + p[0] + "/activities/" + p[1]})
	return err
}

func (cl *Client) resource(ctx context.Context, req request) (*ResourceResponse, error) {
	var out ResourceResponse
	if err := cl.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
