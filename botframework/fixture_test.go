package botframework

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	fxTenant   = "8d1f3b2a-6c4e-4f7a-9b0d-2e5c7a1f9e34"
	fxBot      = "28:0b7c6e2d-3a41-4f58-8e9a-5d2c1b0a7f63"
	fxTeam     = "19:Kx7pQ2mV9sL4tR8wZ1nB6cY3dF5gH0jA@thread.tacv2"
	fxChannel  = "19:3e9a7c1b5d2f4e6a8c0b1d3f5a7e9c2b@thread.tacv2"
	fxGroup    = "f4c2a9e7-1b3d-4c5e-8f6a-0d2b4c6e8a1f"
	fxEMEA     = "https://smba.trafficmanager.net/emea/"
	fxNewcomer = "29:7Tn2Bq9Xw4Lp1Vz6Ks3Mh8Rd0Fy5Gc-newcomer"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFixture(t *testing.T, name string) *Activity {
	t.Helper()
	a, err := DecodeActivity(readFixture(t, name))
	if err != nil {
		t.Fatalf("DecodeActivity(%s): %v", name, err)
	}
	return a
}

// generic decodes JSON into maps and slices, dropping null members, which
// the schema omits on encode.
func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return dropNulls(v)
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}

// TestFixtureRoundTrip decodes every fixture into its type and encodes it
// again: nothing may be lost or renamed, which pins every JSON member name
// the fixtures use.
func TestFixtureRoundTrip(t *testing.T) {
	t.Parallel()
	newValue := map[string]func() any{
		"conversation_update_bot_added_team.json":    func() any { return new(Activity) },
		"conversation_update_member_added_team.json": func() any { return new(Activity) },
		"conversation_update_personal_install.json":  func() any { return new(Activity) },
		"installation_update_add_team.json":          func() any { return new(Activity) },
		"installation_update_remove_team.json":       func() any { return new(Activity) },
		"message_channel_mention.json":               func() any { return new(Activity) },
		"paged_members.json":                         func() any { return new(PagedMembersResult) },
		"create_conversation_response.json":          func() any { return new(ConversationResourceResponse) },
		"create_channel_thread_response.json":        func() any { return new(ConversationResourceResponse) },
		"team_details.json":                          func() any { return new(TeamDetails) },
		"team_channels.json":                         func() any { return new(ConversationList) },
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(newValue) {
		t.Errorf("testdata has %d fixtures, the test knows %d", len(files), len(newValue))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mk, ok := newValue[name]
			if !ok {
				t.Fatalf("no type for fixture %s", name)
			}
			in := readFixture(t, name)
			v := mk()
			if err := json.Unmarshal(in, v); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(generic(t, in), generic(t, out)); diff != "" {
				t.Errorf("round trip changed the JSON (-fixture +encoded):\n%s", diff)
			}
		})
	}
}

func TestFixtureBotAddedToTeam(t *testing.T) {
	t.Parallel()
	a := decodeFixture(t, "conversation_update_bot_added_team.json")
	if a.Type != TypeConversationUpdate || a.ChannelID != ChannelTeams || a.ServiceURL != fxEMEA {
		t.Errorf("type/channel/serviceUrl = %q %q %q", a.Type, a.ChannelID, a.ServiceURL)
	}
	if !a.BotAdded() || a.BotRemoved() {
		t.Errorf("BotAdded = %v, BotRemoved = %v; want true, false", a.BotAdded(), a.BotRemoved())
	}
	if got := a.EventType(); got != EventTeamMemberAdded {
		t.Errorf("EventType = %q", got)
	}
	if got := a.TenantID(); got != fxTenant {
		t.Errorf("TenantID = %q", got)
	}
	want := &TeamInfo{ID: fxTeam, Name: "Platform Operations", AADGroupID: fxGroup}
	if diff := cmp.Diff(want, a.Team()); diff != "" {
		t.Errorf("Team (-want +got):\n%s", diff)
	}
	cd := a.ChannelData
	if cd.Settings == nil || cd.Settings.SelectedChannel == nil || cd.Settings.SelectedChannel.ID != fxChannel {
		t.Errorf("settings.selectedChannel = %+v", cd.Settings)
	}
	wantConv := &ConversationAccount{ID: fxChannel, Name: "Announcements", IsGroup: true,
		ConversationType: ConversationChannel, TenantID: fxTenant}
	if diff := cmp.Diff(wantConv, a.Conversation); diff != "" {
		t.Errorf("Conversation (-want +got):\n%s", diff)
	}
	if want := time.Date(2025, 3, 4, 9, 12, 45, 317e6, time.UTC); !a.Timestamp.Equal(want) {
		t.Errorf("Timestamp = %v, want %v", a.Timestamp, want)
	}
	if _, off := a.LocalTimestamp.Zone(); off != 3600 {
		t.Errorf("LocalTimestamp offset = %d, want 3600", off)
	}
	ref := a.Reference()
	wantRef := ConversationReference{
		ActivityID:   a.ID,
		User:         &ChannelAccount{ID: "29:1Qh8vT3kLm9pXr2Ws6Yz0Nb4Cd7Fg5Jk-installer", AADObjectID: "5a9e3c71-2b4d-4e6f-8a0c-1d3e5f7a9b2c"},
		Bot:          &ChannelAccount{ID: fxBot, Name: "Herald"},
		Conversation: wantConv,
		ChannelID:    ChannelTeams,
		ServiceURL:   fxEMEA,
	}
	if diff := cmp.Diff(wantRef, ref); diff != "" {
		t.Errorf("Reference (-want +got):\n%s", diff)
	}
}

func TestFixtureMemberAddedToTeam(t *testing.T) {
	t.Parallel()
	a := decodeFixture(t, "conversation_update_member_added_team.json")
	if a.BotAdded() {
		t.Error("BotAdded = true for a user joining the team")
	}
	if a.EventType() != EventTeamMemberAdded || a.Team() == nil || a.Team().ID != fxTeam {
		t.Errorf("eventType %q team %+v", a.EventType(), a.Team())
	}
	if a.Conversation.ID != fxTeam {
		t.Errorf("conversation id = %q, want the team id", a.Conversation.ID)
	}
	want := []ChannelAccount{{ID: fxNewcomer, AADObjectID: "c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e7a"}}
	if diff := cmp.Diff(want, a.MembersAdded); diff != "" {
		t.Errorf("MembersAdded (-want +got):\n%s", diff)
	}
	if want := time.Date(2025, 3, 5, 14, 2, 11, 431596300, time.UTC); !a.Timestamp.Equal(want) {
		t.Errorf("Timestamp = %v, want %v (seven fractional digits)", a.Timestamp, want)
	}
}

func TestFixturePersonalInstall(t *testing.T) {
	t.Parallel()
	a := decodeFixture(t, "conversation_update_personal_install.json")
	if !a.BotAdded() {
		t.Error("BotAdded = false")
	}
	if a.Conversation.ConversationType != ConversationPersonal || a.Conversation.IsGroup {
		t.Errorf("conversation = %+v", a.Conversation)
	}
	if a.Team() != nil || a.EventType() != "" {
		t.Errorf("team %+v eventType %q, want none", a.Team(), a.EventType())
	}
	if a.TenantID() != fxTenant || a.ChannelData.Tenant.ID != fxTenant {
		t.Errorf("tenant = %q / %+v", a.TenantID(), a.ChannelData.Tenant)
	}
	if len(a.MembersAdded) != 2 || a.MembersAdded[1].ID != fxNewcomer || a.MembersAdded[1].AADObjectID == "" {
		t.Errorf("MembersAdded = %+v", a.MembersAdded)
	}
}

func TestFixtureInstallationUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file         string
		action       string
		platform     string
		selected     bool
		conversation string
	}{
		{"installation_update_add_team.json", ActionAdd, "Web", true, fxChannel},
		{"installation_update_remove_team.json", ActionRemove, "Mac", false, fxTeam},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			a := decodeFixture(t, tt.file)
			if a.Type != TypeInstallationUpdate || a.Action != tt.action {
				t.Errorf("type %q action %q", a.Type, a.Action)
			}
			if a.Conversation.ID != tt.conversation {
				t.Errorf("conversation id = %q, want %q", a.Conversation.ID, tt.conversation)
			}
			cd := a.ChannelData
			if cd.Source == nil || cd.Source.Name != "message" {
				t.Errorf("source = %+v", cd.Source)
			}
			if got := cd.Settings != nil && cd.Settings.SelectedChannel != nil; got != tt.selected {
				t.Errorf("has selectedChannel = %v", got)
			}
			if a.Team() == nil || a.Team().AADGroupID != fxGroup || a.TenantID() != fxTenant {
				t.Errorf("team %+v tenant %q", a.Team(), a.TenantID())
			}
			ci, ok := a.ClientInfo()
			want := ClientInfo{Type: EntityClientInfo, Locale: "en-GB", Country: "GB", Platform: tt.platform, Timezone: "Europe/London"}
			if !ok {
				t.Fatal("no clientInfo")
			}
			if diff := cmp.Diff(want, ci); diff != "" {
				t.Errorf("ClientInfo (-want +got):\n%s", diff)
			}
			if a.Locale != "en-GB" {
				t.Errorf("locale = %q", a.Locale)
			}
		})
	}
}

func TestFixtureChannelMention(t *testing.T) {
	t.Parallel()
	a := decodeFixture(t, "message_channel_mention.json")
	want := []Mention{{Type: EntityMention, Mentioned: ChannelAccount{ID: fxBot, Name: "Herald"}, Text: "<at>Herald</at>"}}
	if diff := cmp.Diff(want, a.Mentions()); diff != "" {
		t.Errorf("Mentions (-want +got):\n%s", diff)
	}
	if a.Text != "<at>Herald</at> subscribe me to deploy alerts\n" {
		t.Errorf("text = %q", a.Text)
	}
	ci, ok := a.ClientInfo()
	if !ok || ci.Timezone != "Europe/Berlin" || ci.Locale != "de-DE" {
		t.Errorf("clientInfo = %+v, %v", ci, ok)
	}
	if a.LocalTimezone != "Europe/Berlin" {
		t.Errorf("localTimezone = %q", a.LocalTimezone)
	}
	cd := a.ChannelData
	if cd.TeamsChannelID != fxChannel || cd.TeamsTeamID != fxTeam || cd.Channel.ID != fxChannel || a.Team().ID != fxTeam {
		t.Errorf("channelData = %+v", cd)
	}
	if len(a.Attachments) != 1 || a.Attachments[0].ContentType != ContentTypeHTML {
		t.Fatalf("attachments = %+v", a.Attachments)
	}
	var html string
	if err := json.Unmarshal(a.Attachments[0].Content, &html); err != nil {
		t.Fatal(err)
	}
	if want := `itemtype="http://schema.skype.com/Mention"`; !strings.Contains(html, want) {
		t.Errorf("html attachment %q lacks %s", html, want)
	}
}

func TestFixturePagedMembers(t *testing.T) {
	t.Parallel()
	var page PagedMembersResult
	if err := json.Unmarshal(readFixture(t, "paged_members.json"), &page); err != nil {
		t.Fatal(err)
	}
	if page.ContinuationToken == "" || len(page.Members) != 3 {
		t.Fatalf("page = %+v", page)
	}
	m := page.Members[1]
	want := TeamsChannelAccount{
		ID: fxNewcomer, Name: "Tomasz Wójcik", ObjectID: "c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e7a",
		GivenName: "Tomasz", Surname: "Wójcik", Email: "tomasz.wojcik@example.com",
		UserPrincipalName: "twojcik@example.com", TenantID: fxTenant, UserRole: "user",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("member (-want +got):\n%s", diff)
	}
	if m.EntraID() != "c2e4a6b8-0d1f-4a3c-9e5b-7d9f1b3d5e7a" {
		t.Errorf("EntraID = %q", m.EntraID())
	}
	if got := m.Account(); got.AADObjectID != m.ObjectID || got.ID != m.ID {
		t.Errorf("Account = %+v", got)
	}
	guest := page.Members[2]
	if guest.UserRole != "anonymous" || guest.EntraID() != "" {
		t.Errorf("guest = %+v", guest)
	}
}

func TestFixtureResponses(t *testing.T) {
	t.Parallel()
	var created ConversationResourceResponse
	if err := json.Unmarshal(readFixture(t, "create_conversation_response.json"), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "a:1Rz8KqP3wX7mN2vB5cY9tL4hJ6gF0dS-personal" || created.ActivityID != "" {
		t.Errorf("create conversation = %+v", created)
	}
	var details TeamDetails
	if err := json.Unmarshal(readFixture(t, "team_details.json"), &details); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(TeamDetails{ID: fxTeam, Name: "Platform Operations", AADGroupID: fxGroup}, details); diff != "" {
		t.Errorf("team details (-want +got):\n%s", diff)
	}
	var list ConversationList
	if err := json.Unmarshal(readFixture(t, "team_channels.json"), &list); err != nil {
		t.Fatal(err)
	}
	want := []ChannelInfo{{ID: fxTeam}, {ID: fxChannel, Name: "Announcements"}}
	if diff := cmp.Diff(want, list.Conversations); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
}
