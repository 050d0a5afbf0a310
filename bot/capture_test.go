package bot_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald"
)

// teamUpdate is a conversationUpdate about team 19:team.
func teamUpdate(eventType string, channel map[string]any, extra map[string]any) map[string]any {
	cd := map[string]any{"eventType": eventType, "tenant": map[string]any{"id": "tenant-1"},
		"team": map[string]any{"id": "19:team", "name": "Research", "aadGroupId": "group-1"}}
	if channel != nil {
		cd["channel"] = channel
	}
	a := map[string]any{"type": "conversationUpdate", "channelData": cd,
		"conversation": map[string]any{"id": "19:team", "conversationType": "channel", "isGroup": true, "tenantId": "tenant-1"}}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func TestCaptureTeamEvents(t *testing.T) {
	t.Parallel()
	lb := newLocalBot(t)
	ctx := context.Background()
	send := func(a map[string]any) {
		t.Helper()
		resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil), activityJSON(t, a)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	team := func() herald.Team {
		t.Helper()
		tm, err := lb.store.TeamGet(ctx, "19:team")
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	channel := func(id string) herald.Channel {
		t.Helper()
		c, err := lb.store.ChannelFind(ctx, "19:team", id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	send(teamUpdate("teamMemberAdded", nil, map[string]any{"membersAdded": []any{map[string]any{"id": "28:" + testAppID}}}))
	if tm := team(); !tm.Installed || tm.Name != "Research" || tm.AADGroupID != "group-1" || tm.ServiceURL != testServiceURL {
		t.Fatalf("bot added: %+v", tm)
	}
	send(teamUpdate("teamArchived", nil, nil))
	if !team().Archived {
		t.Fatal("teamArchived not recorded")
	}
	send(teamUpdate("teamUnarchived", nil, nil))
	if team().Archived {
		t.Fatal("teamUnarchived not recorded")
	}
	send(teamUpdate("teamRenamed", nil, map[string]any{"channelData": map[string]any{"eventType": "teamRenamed",
		"team": map[string]any{"id": "19:team", "name": "Research & Development"}, "tenant": map[string]any{"id": "tenant-1"}}}))
	if tm := team(); tm.Name != "Research & Development" || tm.AADGroupID != "group-1" {
		t.Fatalf("teamRenamed: %+v", tm)
	}
	send(teamUpdate("teamDeleted", nil, nil))
	if !team().Deleted {
		t.Fatal("teamDeleted not recorded")
	}
	send(teamUpdate("teamRestored", nil, nil))
	if team().Deleted {
		t.Fatal("teamRestored not recorded")
	}
	send(teamUpdate("channelCreated", map[string]any{"id": "19:chan", "name": "Papers"}, nil))
	if c := channel("19:chan"); c.Name != "Papers" || c.Deleted {
		t.Fatalf("channelCreated: %+v", c)
	}
	send(teamUpdate("channelRenamed", map[string]any{"id": "19:chan", "name": "Preprints"}, nil))
	if c := channel("preprints"); c.ID != "19:chan" {
		t.Fatalf("channelRenamed: %+v", c)
	}
	send(teamUpdate("channelDeleted", map[string]any{"id": "19:chan", "name": "Preprints"}, nil))
	if !channel("19:chan").Deleted {
		t.Fatal("channelDeleted not recorded")
	}
	send(teamUpdate("channelRestored", map[string]any{"id": "19:chan", "name": "Preprints"}, nil))
	if channel("19:chan").Deleted {
		t.Fatal("channelRestored not recorded")
	}
	send(teamUpdate("teamMemberAdded", nil, map[string]any{"membersAdded": []any{map[string]any{"id": "29:new", "aadObjectId": "aad-new"}}}))
	if us, _ := lb.store.UserList(ctx, herald.UserListParams{TeamID: "19:team"}); len(us) != 1 || us[0].AADObjectID != "aad-new" {
		t.Fatalf("member added: %+v", us)
	}
	send(teamUpdate("teamMemberRemoved", nil, map[string]any{"membersRemoved": []any{map[string]any{"id": "29:new"}}}))
	if us, _ := lb.store.UserList(ctx, herald.UserListParams{TeamID: "19:team"}); len(us) != 0 {
		t.Fatalf("member removed: %+v", us)
	}
	send(teamUpdate("teamMemberRemoved", nil, map[string]any{"membersRemoved": []any{map[string]any{"id": "28:" + testAppID}}}))
	if team().Installed {
		t.Fatal("bot removal not recorded")
	}
	// A verified activity from another region moves the serviceUrl.
	moved := "https://smba.trafficmanager.net/emea/"
	a := teamUpdate("teamRenamed", nil, map[string]any{"serviceUrl": moved})
	resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, moved, nil), activityJSON(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tm := team(); tm.ServiceURL != moved {
		t.Fatalf("serviceUrl not refreshed: %q", tm.ServiceURL)
	}
	if tn, _ := lb.store.TenantGet(ctx, "tenant-1"); tn.ServiceURL != moved {
		t.Fatalf("tenant serviceUrl not refreshed: %q", tn.ServiceURL)
	}
	if c, _ := lb.store.ConversationGet(ctx, "19:team"); c.ServiceURL != moved || c.TeamID != "19:team" {
		t.Fatalf("conversation reference not refreshed: %+v", c)
	}
}

func TestCaptureUpgradeDoesNotWelcome(t *testing.T) {
	t.Parallel()
	lb := newLocalBot(t)
	ctx := context.Background()
	// The first event also queues the fetch of the user's email and UPN,
	// which Teams does not send in install events; claimed tasks stay
	// pending (hidden by the lease), so the second event adds no fetch.
	for _, tc := range []struct {
		action string
		want   map[string]int
	}{
		{"add-upgrade", map[string]int{"user.details": 1}},
		{"add", map[string]int{"welcome.personal": 1}},
	} {
		action := tc.action
		resp, err := http.DefaultClient.Do(mustRequest(t, lb.srv.URL, lb.keys.token(t, testServiceURL, nil),
			activityJSON(t, map[string]any{"type": "installationUpdate", "action": action})))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := map[string]int{}
		for _, task := range lb.jobs.take() {
			got[task.Kind]++
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Fatalf("%s queued tasks (-want +got):\n%s", action, diff)
		}
		if u, _ := lb.store.UserGet(ctx, "29:h"); !u.Installed || u.ConversationID != "a:h" {
			t.Fatalf("%s: user %+v", action, u)
		}
	}
}
