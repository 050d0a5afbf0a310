package api

import (
	"strconv"
	"time"

	"herald"
)

// DeliveryCSVHeader returns the header row of a deliveries CSV export.
func DeliveryCSVHeader() []string {
	return []string{"id", "recipient", "kind", "state", "reason", "error", "userId", "name", "email",
		"tenantId", "teamId", "channelId", "conversationId", "activityId", "attempts", "throttles",
		"createdAt", "updatedAt", "deliveredAt"}
}

// DeliveryCSVRecord returns a delivery's row of a CSV export, in the order
// of DeliveryCSVHeader; times are RFC 3339 in UTC, empty when unset.
func DeliveryCSVRecord(d herald.Delivery) []string {
	return []string{strconv.FormatInt(d.ID, 10), d.Recipient, string(d.Kind), string(d.State),
		string(d.Reason), d.Error, d.UserID, d.Name, d.Email, d.TenantID, d.TeamID, d.ChannelID,
		d.ConversationID, d.ActivityID, strconv.Itoa(d.Attempts), strconv.Itoa(d.Throttles),
		csvTime(d.CreatedAt), csvTime(d.UpdatedAt), csvTime(d.DeliveredAt)}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
