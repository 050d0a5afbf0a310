package emulator

import (
	"strings"
	"testing"
)

func TestReadInvokeAnswer(t *testing.T) {
	t.Parallel()
	const card = `{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Acknowledged"}]}`
	const js = "application/json; charset=utf-8"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		outcome     string
		problem     string // part of the problem, for OutcomeInvalid
	}{
		{"card", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + card + `}`, OutcomeCard, ""},
		{"message", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":"Thanks"}`, OutcomeMessage, ""},
		{"error in a 200", 200, js, `{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"UnknownVerb","message":"no"}}`, OutcomeError, ""},
		{"SDK refusal", 400, js, `{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"Missing action property"}}`, OutcomeError, ""},
		{"login request", 200, js, `{"statusCode":401,"type":"application/vnd.microsoft.activity.loginRequest","value":{}}`, OutcomeOther, ""},
		{"empty 200", 200, "", ``, OutcomeInvalid, "no body"},
		{"empty object", 200, js, `{}`, OutcomeInvalid, "lacks statusCode or type"},
		{"not JSON", 200, js, `ok`, OutcomeInvalid, "not a JSON object"},
		{"array", 200, js, `[]`, OutcomeInvalid, "not a JSON object"},
		{"text content type", 200, "text/plain", `{"statusCode":200}`, OutcomeInvalid, "Content-Type"},
		{"card with statusCode 400", 200, js, `{"statusCode":400,"type":"application/vnd.microsoft.card.adaptive","value":` + card + `}`, OutcomeInvalid, "HTTP 200"},
		{"card in a 400", 400, js, `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":` + card + `}`, OutcomeInvalid, "HTTP 200"},
		{"card that is not a card", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":{"type":"HeroCard"}}`, OutcomeInvalid, "Adaptive Card"},
		{"card without version", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":{"type":"AdaptiveCard"}}`, OutcomeInvalid, "version"},
		{"message not a string", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":{}}`, OutcomeInvalid, "string"},
		{"error with statusCode 200", 200, js, `{"statusCode":200,"type":"application/vnd.microsoft.error","value":{"code":"X","message":"y"}}`, OutcomeInvalid, "400 or more"},
		{"error without code", 200, js, `{"statusCode":500,"type":"application/vnd.microsoft.error","value":"boom"}`, OutcomeInvalid, "code"},
		{"unknown type", 200, js, `{"statusCode":200,"type":"application/json","value":{}}`, OutcomeInvalid, "not one Teams knows"},
		{"Herald's API error", 401, js, `{"error":{"code":"unauthorized","message":"bad token"}}`, OutcomeInvalid, "lacks statusCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var res ExecuteResult
			readInvokeAnswer(botAnswer{status: tt.status, contentType: tt.contentType, body: []byte(tt.body)}, &res)
			if res.Outcome != tt.outcome || !strings.Contains(res.Problem, tt.problem) || (tt.problem == "") != (res.Problem == "") {
				t.Fatalf("outcome %q, problem %q; want %q with a problem about %q", res.Outcome, res.Problem, tt.outcome, tt.problem)
			}
			switch res.Outcome {
			case OutcomeCard:
				if string(res.Card) != card {
					t.Errorf("card %s", res.Card)
				}
			case OutcomeMessage:
				if res.Text != "Thanks" {
					t.Errorf("text %q", res.Text)
				}
			case OutcomeError:
				if res.Error == nil || res.Error.Code == "" {
					t.Errorf("error %+v", res.Error)
				}
			}
		})
	}
}

func FuzzReadInvokeAnswer(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":{"type":"AdaptiveCard","version":"1.5"}}`))
	f.Add(400, "application/json", []byte(`{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"m"}}`))
	f.Add(200, "application/json", []byte(` null `))
	f.Add(200, "", []byte{})
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		var res ExecuteResult
		readInvokeAnswer(botAnswer{status: status, contentType: contentType, body: body}, &res)
		switch res.Outcome {
		case OutcomeInvalid:
			if res.Problem == "" {
				t.Fatal("invalid without a problem")
			}
		case OutcomeCard:
			if len(res.Card) == 0 || status != 200 {
				t.Fatalf("card outcome %+v for status %d", res, status)
			}
		case OutcomeMessage, OutcomeError, OutcomeOther:
		default:
			t.Fatalf("outcome %q", res.Outcome)
		}
	})
}
