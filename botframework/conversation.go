package botframework

import "encoding/json"

// ConversationParameters is the body of create conversation. For a 1:1 chat
// set Bot, Members (one "29:" id or Entra object id) and TenantID; for a new
// thread in a channel set IsGroup, ChannelData.Channel and Activity.
type ConversationParameters struct {
	IsGroup     bool             `json:"isGroup"`
	Bot         *ChannelAccount  `json:"bot,omitempty"`
	Members     []ChannelAccount `json:"members,omitempty"`
	TopicName   string           `json:"topicName,omitempty"`
	TenantID    string           `json:"tenantId,omitempty"`
	Activity    *Activity        `json:"activity,omitempty"`
	ChannelData *ChannelData     `json:"channelData,omitempty"`
}

// ConversationResourceResponse answers create conversation. ActivityID is set
// when the request carried an activity (a new channel thread).
type ConversationResourceResponse struct {
	ID         string `json:"id"`
	ActivityID string `json:"activityId,omitempty"`
	ServiceURL string `json:"serviceUrl,omitempty"`
}

// ResourceResponse answers send, reply and update.
type ResourceResponse struct {
	ID string `json:"id"`
}

// PagedMembersResult is one page of a roster. The last page has no
// ContinuationToken.
type PagedMembersResult struct {
	ContinuationToken string                `json:"continuationToken,omitempty"`
	Members           []TeamsChannelAccount `json:"members"`
}

// TeamDetails answers get team details.
type TeamDetails struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	AADGroupID   string `json:"aadGroupId,omitempty"`
	ChannelCount int    `json:"channelCount,omitempty"`
	MemberCount  int    `json:"memberCount,omitempty"`
	Type         string `json:"type,omitempty"`
}

// ConversationList answers get team channels.
type ConversationList struct {
	Conversations []ChannelInfo `json:"conversations"`
}

// BatchMember is one target of a batch operation: a user ("29:" id or Entra
// object id) or a channel id.
type BatchMember struct {
	ID string `json:"id"`
}

// BatchUsersRequest sends one activity to a list of users.
type BatchUsersRequest struct {
	Activity *Activity     `json:"activity"`
	Members  []BatchMember `json:"members"`
	TenantID string        `json:"tenantId"`
}

// BatchTenantRequest sends one activity to every user of a tenant.
type BatchTenantRequest struct {
	Activity *Activity `json:"activity"`
	TenantID string    `json:"tenantId"`
}

// BatchTeamRequest sends one activity to every member of a team.
type BatchTeamRequest struct {
	Activity *Activity `json:"activity"`
	TenantID string    `json:"tenantId"`
	TeamID   string    `json:"teamId"`
}

// BatchChannelsRequest posts one activity into a list of channels.
type BatchChannelsRequest struct {
	Activity *Activity     `json:"activity"`
	TenantID string        `json:"tenantId"`
	Members  []BatchMember `json:"members"`
}

// BatchOperationResponse answers the batch send calls.
type BatchOperationResponse struct {
	OperationID string `json:"operationId"`
}

// Batch operation states.
const (
	BatchProvisioning = "Provisioning"
	BatchOngoing      = "Ongoing"
	BatchCompleted    = "Completed"
	BatchFailed       = "Failed"
)

// BatchOperationState is the state of a batch operation. StatusMap counts
// entries by HTTP status ("201" is success).
type BatchOperationState struct {
	State             string         `json:"state"`
	StatusMap         map[string]int `json:"statusMap,omitempty"`
	RetryAfter        string         `json:"retryAfter,omitempty"`
	TotalEntriesCount int            `json:"totalEntriesCount"`
}

// UnmarshalJSON also accepts "stateMap", the spelling botbuilder-js writes.
func (s *BatchOperationState) UnmarshalJSON(data []byte) error {
	type plain BatchOperationState
	var v struct {
		plain
		StateMap map[string]int `json:"stateMap"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = BatchOperationState(v.plain)
	if s.StatusMap == nil {
		s.StatusMap = v.StateMap
	}
	return nil
}

// BatchFailedEntry is one entry a batch operation could not deliver.
type BatchFailedEntry struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// BatchFailedEntries is one page of a batch operation's failed entries.
type BatchFailedEntries struct {
	ContinuationToken    string             `json:"continuationToken,omitempty"`
	FailedEntryResponses []BatchFailedEntry `json:"failedEntryResponses"`
}

// UnmarshalJSON also accepts "failedEntries", the member name the .NET SDK
// reads.
func (f *BatchFailedEntries) UnmarshalJSON(data []byte) error {
	type plain BatchFailedEntries
	var v struct {
		plain
		FailedEntries []BatchFailedEntry `json:"failedEntries"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*f = BatchFailedEntries(v.plain)
	if f.FailedEntryResponses == nil {
		f.FailedEntryResponses = v.FailedEntries
	}
	return nil
}

// ErrorResponse is the error body the Connector returns for 4xx and 5xx.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the inner object of ErrorResponse.
type ErrorBody struct {
	Code           string          `json:"code"`
	Message        string          `json:"message"`
	InnerHTTPError *InnerHTTPError `json:"innerHttpError,omitempty"`
}

// InnerHTTPError carries the status of a dependency's failure.
type InnerHTTPError struct {
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body,omitempty"`
}
