package main

import (
	"strings"

	"herald"
)

// parseTopics reads "name[:description[:flags]]" entries separated by
// commas; flags are "critical", "off" (default-off: only those who start
// it get it) and "on" (the default), joined by "+".
func parseTopics(s string) ([]herald.Topic, error) {
	var out []herald.Topic
	seen := map[string]bool{}
	for _, entry := range splitComma(s) {
		parts := strings.SplitN(entry, ":", 3)
		t := herald.Topic{Name: strings.TrimSpace(parts[0])}
		if len(parts) > 1 {
			t.Description = strings.TrimSpace(parts[1])
		}
		if len(parts) > 2 {
			if err := topicFlags(&t, entry, parts[2]); err != nil {
				return nil, err
			}
		}
		switch {
		case t.Name == "" || t.Name == herald.TopicAll || strings.ContainsAny(t.Name, " \t"):
			return nil, configError{"topics", entry, "a topic needs a name without spaces"}
		case seen[strings.ToLower(t.Name)]:
			return nil, configError{"topics", entry, "named twice"}
		}
		seen[strings.ToLower(t.Name)] = true
		out = append(out, t)
	}
	return out, nil
}

// topicFlags applies the "+"-joined flags of a topic entry.
func topicFlags(t *herald.Topic, entry, flags string) error {
	for flag := range strings.SplitSeq(flags, "+") {
		switch strings.ToLower(strings.TrimSpace(flag)) {
		case "critical":
			t.Critical = true
		case "off":
			t.DefaultOff = true
		case "on":
			t.DefaultOff = false
		default:
			return configError{"topics", entry, `the third part, when given, is "critical", "on" or "off" (default-off), joined by "+"`}
		}
	}
	return nil
}
