package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"herald/emulator"
)

// inProcess serves one request with the emulator's handler.
func inProcess(em *emulator.Emulator, method, target, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if method == "POST" && strings.Contains(target, "/token") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	em.ServeHTTP(w, req)
	return w
}

// fuzzEmulator is an emulator with the demo seed, a personal chat and a
// token, served in-process.
func fuzzEmulator(f *testing.F) (*emulator.Emulator, string, string) {
	em := emulator.New(emulator.Config{Limits: emulator.Limits{Disabled: true}})
	f.Cleanup(em.Close)
	d := em.SeedDemo()
	res, err := em.InstallPersonal(f.Context(), d.Users[0].ID)
	if err != nil {
		f.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {emulator.DefaultAppID},
		"client_secret": {emulator.DefaultAppSecret}, "scope": {"https://api.botframework.com/.default"}}
	w := inProcess(em, "POST", "/botframework.com/oauth2/v2.0/token", "", form.Encode())
	tok := w.Body.String()
	i := strings.Index(tok, `"access_token":"`)
	if w.Code != 200 || i < 0 {
		f.Fatalf("token: %d %s", w.Code, tok)
	}
	tok = tok[i+len(`"access_token":"`):]
	return em, res.ConversationID, "Bearer " + tok[:strings.IndexByte(tok, '"')]
}

// FuzzConnectorBody posts arbitrary bodies to the Connector: the emulator
// must answer every one without a server error.
func FuzzConnectorBody(f *testing.F) {
	em, conv, auth := fuzzEmulator(f)
	f.Add(0, `{"type":"message","text":"hi"}`)
	f.Add(1, `{"members":[{"id":"29:1x"}],"tenantId":"`+emulator.DemoTenantID+`","activity":{"type":"message"}}`)
	f.Add(2, `{"activity":{"type":"message"},"tenantId":"`+emulator.DemoTenantID+`","members":[{"id":"x"}]}`)
	f.Add(3, `{"type":"message","text":"edit"}`)
	f.Add(0, `{"type":"","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{}}]}`)
	f.Add(1, `[1,2,3]`)
	paths := []string{
		"/teams/v3/conversations/" + url.PathEscape(conv) + "/activities",
		"/teams/v3/conversations",
		"/teams/v3/batch/conversation/users",
		"/teams/v3/conversations/" + url.PathEscape(conv) + "/activities/1",
	}
	f.Fuzz(func(t *testing.T, which int, body string) {
		path := paths[(which%len(paths)+len(paths))%len(paths)]
		method := "POST"
		if which%len(paths) == 3 {
			method = "PUT"
		}
		if w := inProcess(em, method, path, auth, body); w.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, w.Code, w.Body)
		}
	})
}

// FuzzScenarioBody posts arbitrary bodies to the scenario API.
func FuzzScenarioBody(f *testing.F) {
	em, _, _ := fuzzEmulator(f)
	f.Add(0, `{"from":"alice@contoso.com","text":"hi","mentions":["bot"]}`)
	f.Add(1, `{"name":"New Person"}`)
	f.Add(2, `{"name":"T","members":["alice@contoso.com"],"channels":["x"]}`)
	f.Add(3, `{"kind":"valid","activity":{"type":"message"}}`)
	f.Add(4, `{"enabled":true,"send":[{"seconds":0.5,"max":3}]}`)
	paths := []string{"/scenario/messages", "/scenario/users", "/scenario/teams", "/scenario/forge", "/scenario/limits"}
	f.Fuzz(func(t *testing.T, which int, body string) {
		i := (which%len(paths) + len(paths)) % len(paths)
		method := "POST"
		if i == 4 {
			method = "PUT"
		}
		if w := inProcess(em, method, paths[i], "", body); w.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, paths[i], body, w.Code, w.Body)
		}
	})
}

func TestUnexpectedRequests(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.Config{})
	defer em.Close()
	if w := inProcess(em, "GET", "/teams/v3/nothing/here", "", ""); w.Code != http.StatusNotFound {
		t.Fatalf("unknown route: %d", w.Code)
	}
	if em.Err() == nil || !strings.Contains(em.Err().Error(), "/teams/v3/nothing/here") {
		t.Fatalf("Err() = %v", em.Err())
	}
	em2 := emulator.New(emulator.Config{})
	defer em2.Close()
	inProcess(em2, "PATCH", "/teams/v3/conversations", "", "")
	if em2.Err() == nil {
		t.Fatal("a method Teams does not serve must be reported")
	}
}

// TestDeliverInProcess posts activities to a handler instead of a URL.
func TestDeliverInProcess(t *testing.T) {
	t.Parallel()
	var got []string
	em := emulator.New(emulator.Config{Deliver: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("x-ms-conversation-id"))
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})})
	defer em.Close()
	d := em.SeedDemo()
	res, err := em.InstallPersonal(t.Context(), d.Users[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != res.ConversationID || res.BotStatus[0] != http.StatusAccepted {
		t.Fatalf("delivered %v, result %+v", got, res)
	}
}
