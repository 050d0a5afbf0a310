package botframework

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTrip decodes an activity and encodes it again.
func roundTrip(t *testing.T, in string) (*Activity, []byte) {
	t.Helper()
	a, err := DecodeActivity([]byte(in))
	if err != nil {
		t.Fatalf("DecodeActivity: %v", err)
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return a, out
}

func TestUnknownMembersSurvive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"channelData members", `{"type":"message","channelData":{
			"tenant":{"id":"t1"},"eventType":"teamMemberAdded",
			"futureFlag":true,"meetingDetails":{"organizer":{"id":"29:o"},"n":[1,2.50,{"deep":null}]},
			"legacyString":"x<y>&z"}}`},
		{"channelData with only unknown members", `{"type":"message","channelData":{"a":1,"b":"two"}}`},
		{"channelData case variant of a known member", `{"type":"message","channelData":{"tenant":{"id":"lower"},"Tenant":{"id":"upper"}}}`},
		{"unknown entity type", `{"type":"message","entities":[
			{"type":"https://schema.org/Message","@context":"https://schema.org","@type":"Message","citation":[{"@type":"Claim","position":1}]},
			{"type":"streaminfo","streamId":"s1","streamSequence":3}]}`},
		{"extra members on known entities", `{"type":"message","entities":[
			{"type":"mention","mentioned":{"id":"28:b","name":"B","role":"bot"},"text":"<at>B</at>","extra":{"k":"v"}},
			{"type":"clientInfo","locale":"fr-FR","timezone":"Europe/Paris","newField":[true]}]}`},
		{"adaptive card content", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
			"content":{"type":"AdaptiveCard","version":"1.5","$schema":"http://adaptivecards.io/schemas/adaptive-card.json",
			"msteams":{"width":"Full","entities":[{"type":"mention","text":"<at>A</at>","mentioned":{"id":"29:a","name":"A"}}]},
			"body":[{"type":"TextBlock","text":"Hi","wrap":true,"x-unknown":{"n":1e3}}],
			"actions":[{"type":"Action.Submit","title":"OK","data":{"verb":"ack","id":42}}]}}]}`},
		{"hero card content with unknown members", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.hero",
			"content":{"title":"T","buttons":[{"type":"openUrl","title":"Go","value":"https://example.com","futureButtonField":1}],"futureCardField":"kept"}}]}`},
		{"value of any shape", `{"type":"invoke","name":"adaptiveCard/action","value":{"action":{"type":"Action.Execute","verb":"v","data":[1,"a",null]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, out := roundTrip(t, tt.in)
			if diff := cmp.Diff(generic(t, []byte(tt.in)), generic(t, out)); diff != "" {
				t.Errorf("round trip lost data (-in +out):\n%s", diff)
			}
			// A second trip gives the same bytes.
			_, out2 := roundTrip(t, string(out))
			if string(out) != string(out2) {
				t.Errorf("encoding is not stable:\n%s\n%s", out, out2)
			}
		})
	}
}

func TestChannelDataCaseVariantKeptApart(t *testing.T) {
	t.Parallel()
	a, _ := roundTrip(t, `{"type":"message","channelData":{"Tenant":{"id":"upper"},"tenant":{"id":"lower"}}}`)
	if a.ChannelData.Tenant == nil || a.ChannelData.Tenant.ID != "lower" {
		t.Errorf("Tenant = %+v, want the exact-case member", a.ChannelData.Tenant)
	}
	if got := string(a.ChannelData.Extra["Tenant"]); got != `{"id":"upper"}` {
		t.Errorf(`Extra["Tenant"] = %s`, got)
	}
}

func TestChannelDataExtraNeverShadowsKnown(t *testing.T) {
	t.Parallel()
	cd := ChannelData{
		Tenant: &TenantInfo{ID: "t"},
		Extra:  map[string]json.RawMessage{"tenant": json.RawMessage(`{"id":"evil"}`), "z": json.RawMessage(`1`), "nil": nil},
	}
	b, err := json.Marshal(cd)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"tenant":{"id":"t"},"nil":null,"z":1}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	b, err = json.Marshal(ChannelData{Extra: map[string]json.RawMessage{"only": json.RawMessage(`"x"`)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"only":"x"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
}

func TestDecodeActivityRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `null`, `[]`, `"message"`, `{}`, `{"type":""}`, `{"type":"message"} x`,
		`{"type":"message","channelData":"str"}`, `{"type":"message","entities":[1]}`, `{"type":"message","timestamp":"yesterday"}`} {
		if a, err := DecodeActivity([]byte(in)); err == nil {
			t.Errorf("DecodeActivity(%q) = %+v, want error", in, a)
		}
	}
}

func TestNewMention(t *testing.T) {
	t.Parallel()
	e, text := NewMention(ChannelAccount{ID: "29:u", Name: "Ana <QA> & Ops", AADObjectID: "dropped"})
	if text != "<at>Ana &lt;QA&gt; &amp; Ops</at>" {
		t.Errorf("text = %q", text)
	}
	m, ok := e.Mention()
	if !ok {
		t.Fatal("not a mention")
	}
	want := Mention{Type: EntityMention, Mentioned: ChannelAccount{ID: "29:u", Name: "Ana <QA> & Ops"}, Text: text}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("mention (-want +got):\n%s", diff)
	}
	a := Activity{Type: TypeMessage, Text: text + " welcome", Entities: []Entity{e}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeActivity(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Mention{want}, back.Mentions()); diff != "" {
		t.Errorf("decoded mentions (-want +got):\n%s", diff)
	}
}

func TestCardAttachments(t *testing.T) {
	t.Parallel()
	h := HeroCard{Title: "Deploy done", Text: "v1.2", Buttons: []CardAction{{Type: ActionOpenURL, Title: "Open", Value: StringValue("https://example.com/d/1")}}}
	att := h.Attachment()
	if att.ContentType != ContentTypeHeroCard {
		t.Errorf("content type = %q", att.ContentType)
	}
	back, ok := att.HeroCard()
	if !ok {
		t.Fatal("HeroCard() = false")
	}
	if diff := cmp.Diff(h, back); diff != "" {
		t.Errorf("hero card (-want +got):\n%s", diff)
	}
	if _, ok := AdaptiveCardAttachment(json.RawMessage(`{"type":"AdaptiveCard"}`)).HeroCard(); ok {
		t.Error("an adaptive card read as a hero card")
	}
}

func TestBatchAlternateSpellings(t *testing.T) {
	t.Parallel()
	var st BatchOperationState
	if err := json.Unmarshal([]byte(`{"state":"Completed","stateMap":{"201":9,"404":1},"totalEntriesCount":10}`), &st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(BatchOperationState{State: BatchCompleted, StatusMap: map[string]int{"201": 9, "404": 1}, TotalEntriesCount: 10}, st); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	var fe BatchFailedEntries
	if err := json.Unmarshal([]byte(`{"continuationToken":"c","failedEntries":[{"id":"29:x","error":"404 not found"}]}`), &fe); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(BatchFailedEntries{ContinuationToken: "c", FailedEntryResponses: []BatchFailedEntry{{ID: "29:x", Error: "404 not found"}}}, fe); diff != "" {
		t.Errorf("failed entries (-want +got):\n%s", diff)
	}
}
