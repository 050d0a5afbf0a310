package server

import (
	"fmt"
	"net/http"

	"herald"
	"herald/api"
)

// listTopics is GET /v1/topics: the configured topics with the number of
// reachable users each would reach now.
func (s *Server) listTopics(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	out := api.TopicList{Topics: make([]api.Topic, 0, len(s.cfg.Topics))}
	for _, tp := range s.cfg.Topics {
		n, err := s.store.TopicAudienceCount(r.Context(), tp.Name, !tp.DefaultOff)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		def := "on"
		if tp.DefaultOff {
			def = "off"
		}
		out.Topics = append(out.Topics, api.Topic{Name: tp.Name, Description: tp.Description, Critical: tp.Critical, Default: def, Audience: n})
	}
	return writeJSON(w, http.StatusOK, out)
}

// checkTopic refuses a notification's topic, or a topic of its audience,
// that is not configured, when topics are configured.
func (s *Server) checkTopic(req herald.NotificationRequest) error {
	if len(s.cfg.Topics) == 0 {
		return nil
	}
	if req.Topic != "" {
		if _, ok := herald.FindTopic(s.cfg.Topics, req.Topic); !ok {
			return invalid("topic", "unknown topic %q; the topics are %s", req.Topic, s.topicNames())
		}
	}
	for i, name := range req.Audience.Topics {
		if _, ok := herald.FindTopic(s.cfg.Topics, name); !ok {
			return invalid(fmt.Sprintf("audience.topics[%d]", i), "unknown topic %q; the topics are %s", name, s.topicNames())
		}
	}
	return nil
}

// topicNames lists the configured topics' names, comma-separated.
func (s *Server) topicNames() string {
	var out string
	for i, tp := range s.cfg.Topics {
		if i > 0 {
			out += ", "
		}
		out += tp.Name
	}
	return out
}
