package api

import (
	"strconv"
	"strings"
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
// of DeliveryCSVHeader; times are RFC 3339 in UTC, empty when unset. Text
// that a spreadsheet would run as a formula (a cell starting with =, +,
// -, @, a tab or a carriage return) gets a leading apostrophe.
func DeliveryCSVRecord(d herald.Delivery) []string {
	text := []string{d.Recipient, string(d.Kind), string(d.State), string(d.Reason), d.Error, d.UserID,
		d.Name, d.Email, d.TenantID, d.TeamID, d.ChannelID, d.ConversationID, d.ActivityID}
	for i, v := range text {
		text[i] = csvText(v)
	}
	rec := append([]string{strconv.FormatInt(d.ID, 10)}, text...)
	return append(rec, strconv.Itoa(d.Attempts), strconv.Itoa(d.Throttles),
		csvTime(d.CreatedAt), csvTime(d.UpdatedAt), csvTime(d.DeliveredAt))
}

// csvText defuses a cell a spreadsheet would evaluate as a formula.
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
