package bot_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"herald/bot"

	"herald"
)

// FuzzDecodeActivity checks that any body either decodes into an activity
// with the fields the endpoint relies on, or is refused with a 400-style
// error; it never panics.
func FuzzDecodeActivity(f *testing.F) {
	for _, seed := range [][]byte{
		messageJSON("29:a", "hello"),
		[]byte(`{"type":"conversationUpdate","serviceUrl":"https://s/","conversation":{"id":"19:x"},"membersAdded":[{"id":"28:b"}],"channelData":{"team":{"id":"19:x"},"eventType":"teamMemberAdded"}}`),
		[]byte(`{"type":"message","value":{"herald":"optout","topics":"a,b"},"serviceUrl":"s","conversation":{"id":"a:1"}}`),
		[]byte(`{"type":"message","entities":[{"type":"mention","mentioned":{"id":"29:m","name":"M"}},{"type":"clientInfo","locale":5}]}`),
		[]byte(`{"type":"x","channelData":null,"conversation":null}`),
		[]byte(`[]`), []byte(`null`), []byte(``), []byte(`{"type":5}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := bot.DecodeActivity(data)
		if err != nil {
			if a != nil {
				t.Fatal("activity returned with an error")
			}
			return
		}
		if a.Type == "" || a.Conversation == nil || a.Conversation.ID == "" || a.ServiceURL == "" {
			t.Fatalf("decoded activity lacks required fields: %+v", a)
		}
		_ = a.Mentions()
		_, _ = a.ClientInfo()
		_ = a.TenantID()
	})
}

// FuzzEndpoint posts arbitrary bodies with a valid token for the test
// serviceUrl: the endpoint answers 200, 400, 401 or 413, never fails
// otherwise, and records nothing for a refused request.
func FuzzEndpoint(f *testing.F) {
	lb := newLocalBot(f)
	auth := lb.keys.token(f, testServiceURL, nil)
	f.Add(messageJSON("29:a", "help"))
	f.Add(messageJSON("29:b", "stop deploys"))
	f.Add([]byte(`{"type":"installationUpdate","action":"add","serviceUrl":"` + testServiceURL + `","from":{"id":"29:c"},"conversation":{"id":"a:c","conversationType":"personal"},"channelData":{"tenant":{"id":"t"}}}`))
	f.Add([]byte(`{"type":"conversationUpdate","serviceUrl":"` + testServiceURL + `","recipient":{"id":"28:b"},"conversation":{"id":"19:t"},"membersAdded":[{"id":"28:b"},{"id":"29:d"}],"membersRemoved":[{"id":"29:e"}],"channelData":{"team":{"id":"19:t","name":"T"},"eventType":"channelDeleted","channel":{"id":"19:c"}}}`))
	f.Add([]byte(`{"type":"message","serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1","conversationType":"personal"},"from":{"id":"29:f"},"value":{"herald":"optout","topics":"x"}}`))
	f.Add([]byte(`{"type":"invoke","name":"adaptiveCard/action","serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1"}}`))
	f.Add([]byte(`{"type":"invoke","name":"adaptiveCard/action","serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1","conversationType":"personal"},"from":{"id":"29:g"},"value":{"action":{"type":"Action.Execute","verb":"optout","data":{"herald":"optout","topics":"x"}},"trigger":"manual"}}`))
	f.Add([]byte(`{"type":"invoke","name":"adaptiveCard/action","serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1"},"from":{"id":"29:g"},"value":{"action":{"type":"Action.Submit"}}}`))
	f.Add([]byte(`{"type":"invoke","name":"adaptiveCard/action","serviceUrl":"` + testServiceURL + `","conversation":{"id":"a:1"},"from":{"id":"29:g"},"value":{"action":{"type":"Action.Execute","verb":"refresh","data":{"herald":"topics-card"}},"trigger":"automatic"}}`))
	f.Add([]byte(`{"type":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		before := countRecords(t, lb)
		req := httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(data))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		lb.bot.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			if after := countRecords(t, lb); after != before {
				t.Fatalf("refused request (%d) changed the directory: %d → %d records", rec.Code, before, after)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		_ = ctx
	})
}

// countRecords counts users and pending tasks.
func countRecords(t *testing.T, lb *localBot) int {
	t.Helper()
	ctx := context.Background()
	users, err := lb.store.UserList(ctx, herald.UserListParams{Limit: 100000})
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		t.Fatal(err)
	}
	return len(users) + lb.jobs.count()
}
