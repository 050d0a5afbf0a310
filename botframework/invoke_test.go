package botframework_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"herald/botframework"
)

func TestParseAdaptiveCardInvoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		code  string // the error answer's code; "" for a valid value
		verb  string
	}{
		{"button", `{"action":{"type":"Action.Execute","id":"ack","verb":"acknowledge","data":{"campaignId":"c1"}},"trigger":"manual"}`, "", "acknowledge"},
		{"refresh", `{"action":{"type":"Action.Execute","verb":"refresh"},"trigger":"automatic"}`, "", "refresh"},
		{"no value", ``, botframework.InvokeBadRequest, ""},
		{"null value", `null`, botframework.InvokeBadRequest, ""},
		{"value not an object", `[1]`, botframework.InvokeBadRequest, ""},
		{"string value", `"x"`, botframework.InvokeBadRequest, ""},
		{"no action", `{"trigger":"manual"}`, botframework.InvokeBadRequest, ""},
		{"null action", `{"action":null}`, botframework.InvokeBadRequest, ""},
		{"action not an object", `{"action":"go"}`, botframework.InvokeBadRequest, ""},
		{"submit action", `{"action":{"type":"Action.Submit","data":{}}}`, botframework.InvokeNotSupported, ""},
		{"action without type", `{"action":{"verb":"x"}}`, botframework.InvokeNotSupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, bad := botframework.ParseAdaptiveCardInvoke(json.RawMessage(tt.value))
			if tt.code == "" {
				if bad != nil || v.Action == nil || v.Action.Verb != tt.verb {
					t.Fatalf("got %+v, %+v; want the verb %q", v, bad, tt.verb)
				}
				return
			}
			if bad == nil {
				t.Fatalf("accepted %s", tt.value)
			}
			var e botframework.InvokeError
			if bad.StatusCode != http.StatusBadRequest || bad.Type != botframework.ContentTypeError ||
				json.Unmarshal(bad.Value, &e) != nil || e.Code != tt.code || e.Message == "" {
				t.Fatalf("answer %+v (%s), want a 400 %s error", bad, bad.Value, tt.code)
			}
		})
	}
}

func TestInvokeResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    botframework.InvokeResponse
		want string
	}{
		{"card", botframework.InvokeCardResponse(json.RawMessage(`{"type":"AdaptiveCard","version":"1.5"}`)),
			`{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":{"type":"AdaptiveCard","version":"1.5"}}`},
		{"error", botframework.InvokeErrorResponse(http.StatusBadRequest, botframework.InvokeBadRequest, "Missing action property"),
			`{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"Missing action property"}}`},
	} {
		got, err := json.Marshal(tc.r)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

func FuzzParseAdaptiveCardInvoke(f *testing.F) {
	for _, seed := range []string{`{"action":{"type":"Action.Execute","verb":"x","data":{}}}`, `{"action":null}`, `null`, ``, `[]`, `{"action":{"type":7}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, bad := botframework.ParseAdaptiveCardInvoke(raw)
		switch {
		case bad == nil && (v.Action == nil || v.Action.Type != botframework.ActionExecute):
			t.Fatalf("accepted %q without an Action.Execute", raw)
		case bad != nil && (bad.StatusCode != http.StatusBadRequest || bad.Type != botframework.ContentTypeError):
			t.Fatalf("bad answer %+v for %q", bad, raw)
		}
	})
}
