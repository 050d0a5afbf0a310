package botframework

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Page sizes Teams accepts for GetPagedMembers: smaller sizes are served
// as MinPageSize, larger as MaxPageSize.
const (
	MinPageSize = 50
	MaxPageSize = 500
)

// GetMember returns one member of a conversation or team (GET
// /v3/conversations/{id}/members/{memberId}). memberID may be a "29:" id,
// a UPN or an Entra object id.
func (cl *Client) GetMember(ctx context.Context, conversationID, memberID string) (*TeamsChannelAccount, error) {
	const op = "get member"
	p, err := segs(op, "conversation id", conversationID, "member id", memberID)
	if err != nil {
		return nil, err
	}
	var out TeamsChannelAccount
	err = cl.call(ctx, request{op: op, method: http.MethodGet,
		path: "/v3/conversations/" + p[0] + "/members/" + p[1]}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPagedMembers returns one page of a conversation's roster (GET
// /v3/conversations/{id}/pagedmembers). For a team's roster pass the team
// id. pageSize 0 (or less) leaves the size to the service; other values are
// clamped to [MinPageSize, MaxPageSize]. The last page has no
// ContinuationToken; pages may rarely repeat a member.
func (cl *Client) GetPagedMembers(ctx context.Context, conversationID string, pageSize int, continuationToken string) (*PagedMembersResult, error) {
	const op = "get paged members"
	p, err := segs(op, "conversation id", conversationID)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(min(max(pageSize, MinPageSize), MaxPageSize)))
	}
	if continuationToken != "" {
		q.Set("continuationToken", continuationToken)
	}
	var out PagedMembersResult
	err = cl.call(ctx, request{op: op, method: http.MethodGet,
		path: "/v3/conversations/" + p[0] + "/pagedmembers", query: q}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTeamDetails returns a team's name and Entra group id (GET
// /v3/teams/{teamId}).
func (cl *Client) GetTeamDetails(ctx context.Context, teamID string) (*TeamDetails, error) {
	const op = "get team details"
	p, err := segs(op, "team id", teamID)
	if err != nil {
		return nil, err
	}
	var out TeamDetails
	if err := cl.call(ctx, request{op: op, method: http.MethodGet, path: "/v3/teams/" + p[0]}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTeamChannels lists a team's channels (GET
// /v3/teams/{teamId}/conversations). General has the team's id and an
// empty name.
func (cl *Client) GetTeamChannels(ctx context.Context, teamID string) ([]ChannelInfo, error) {
	const op = "get team channels"
	p, err := segs(op, "team id", teamID)
	if err != nil {
		return nil, err
	}
	var out ConversationList
	err = cl.call(ctx, request{op: op, method: http.MethodGet, path: "/v3/teams/" + p[0] + "/conversations"}, &out)
	if err != nil {
		return nil, err
	}
	return out.Conversations, nil
}
