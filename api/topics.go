package api

import (
	"context"
	"net/http"
)

// Topic is a configured notification topic (GET /v1/topics).
type Topic struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Critical topics cannot be turned off.
	Critical bool `json:"critical"`
	// Default is "on" (everyone gets it until they stop it) or "off"
	// (only those who start it get it).
	Default string `json:"default"`
	// Audience is how many reachable users (not blocked, not
	// uninstalled) a notification to the topic would reach now.
	Audience int `json:"audience"`
}

// TopicList is the configured topics, in configuration order.
type TopicList struct {
	Topics []Topic `json:"topics"`
}

// Topics lists the configured topics with their audience sizes (GET
// /v1/topics).
func (cl *Client) Topics(ctx context.Context) (TopicList, error) {
	var l TopicList
	err := cl.doJSON(ctx, call{method: http.MethodGet, path: "/v1/topics"}, &l)
	return l, err
}
