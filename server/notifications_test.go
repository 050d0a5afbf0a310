package server

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/api"
	"herald/botframework"
	"herald/sqlstore/sqlstoretest"
)

func TestCreateNotificationText(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	alice, bob := b.user("Alice Adams"), b.user("Bob Brown")
	r := b.post("/v1/notifications", fmt.Sprintf(`{"audience":%s,"content":{"text":"Hello {{givenName}}, deploy {{build}} finished"},
		"title":"Deploy","topic":"deploys","variables":{"build":"#42"},"alert":true}`, users(alice, bob))).mustStatus(t, http.StatusAccepted)
	var n api.Notification
	r.decode(t, &n)
	if !strings.HasPrefix(n.ID, "n_") || n.State == "" || n.Request.Title != "Deploy" || len(n.Warnings) != 0 {
		t.Fatalf("accepted notification = %+v", n)
	}
	if got := r.header.Get("Location"); got != "/v1/notifications/"+n.ID {
		t.Errorf("Location = %q", got)
	}
	var done api.Notification
	b.get("/v1/notifications/"+n.ID+"?wait=30s").mustStatus(t, http.StatusOK).decode(t, &done)
	if done.State != herald.NotificationCompleted {
		t.Fatalf("state after wait = %s", done.State)
	}
	want := herald.Counts{Delivered: 2}
	if diff := cmp.Diff(want, done.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if done.Progress.Done != 1 || done.Progress.Total != 2 || done.Progress.ETA.IsZero() {
		t.Errorf("progress = %+v", done.Progress)
	}
	for _, p := range []person{alice, bob} {
		msgs := b.fromBot(p.conv)
		if len(msgs) != 1 {
			t.Fatalf("%s got %d messages", p.Name, len(msgs))
		}
		wantText := "Hello " + p.GivenName + ", deploy #42 finished"
		if msgs[0].Text != wantText || msgs[0].TextFormat != botframework.TextFormatMarkdown {
			t.Errorf("%s got %q (%s), want %q", p.Name, msgs[0].Text, msgs[0].TextFormat, wantText)
		}
	}
}

// cardOf returns the single attachment of the single message in conv.
func cardOf(t *testing.T, b *bundle, conv string) botframework.Attachment {
	t.Helper()
	msgs := b.fromBot(conv)
	if len(msgs) != 1 || len(msgs[0].Attachments) != 1 || msgs[0].Text != "" {
		t.Fatalf("messages in %s = %+v, want one with one card and no text", conv, msgs)
	}
	return msgs[0].Attachments[0]
}

func TestCreateNotificationCards(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	tests := []struct {
		name        string
		content     string
		extra       string
		contentType string
		wantTitle   string
		wantIn      string
		warnings    []string
	}{
		{"hero card", `{"heroCard":{"title":"Build 42","text":"All green","buttons":[{"type":"openUrl","title":"Open","value":"https://ci.example.com/42"}]}}`,
			``, botframework.ContentTypeHeroCard, "Build 42", "All green", nil},
		{"adaptive card", `{"adaptiveCard":{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Hi {{name}}"}]}}`,
			`,"title":"Raw"`, botframework.ContentTypeAdaptiveCard, "Raw", "Hi ", nil},
		{"structured with warnings", `{"structured":{"title":"Deploy failed","details":"Step 3 of 5"}}`,
			`,"topic":"deploys"`, botframework.ContentTypeAdaptiveCard, "Deploy failed", "Step 3 of 5",
			[]string{"content.structured.subject", "content.structured.actor", "content.structured.actions"}},
		{"structured critical", `{"structured":{"title":"Outage","subject":{"name":"API"},"actor":{"name":"Pager"},"actions":[{"title":"Open","url":"https://status.example.com"}]}}`,
			`,"topic":"incidents","critical":true`, botframework.ContentTypeAdaptiveCard, "Outage", "Pager", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.user("Card " + tt.name)
			n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":%s%s}`, users(p), tt.content, tt.extra))
			var gotWarn []string
			for _, w := range n.Warnings {
				gotWarn = append(gotWarn, w.Field)
			}
			if diff := cmp.Diff(tt.warnings, gotWarn); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if n.Request.Title != tt.wantTitle {
				t.Errorf("title = %q, want %q", n.Request.Title, tt.wantTitle)
			}
			if got := b.wait(n.ID); got.Counts.Delivered != 1 {
				t.Fatalf("counts = %+v", got.Counts)
			}
			att := cardOf(t, b, p.conv)
			if att.ContentType != tt.contentType || !strings.Contains(string(att.Content), tt.wantIn) {
				t.Errorf("card %s %s, want %s containing %q", att.ContentType, att.Content, tt.contentType, tt.wantIn)
			}
			if tt.name == "structured critical" && strings.Contains(string(att.Content), `"optout"`) {
				t.Errorf("critical card has an opt-out button: %s", att.Content)
			}
			if tt.name == "structured with warnings" && !strings.Contains(string(att.Content), `"topics":"deploys"`) {
				t.Errorf("card lacks the opt-out of the request's topic: %s", att.Content)
			}
		})
	}
}

func TestCreateNotificationStrict(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p := b.user("Strict Person")
	r := b.post("/v1/notifications", fmt.Sprintf(`{"audience":%s,"strict":true,"topic":"deploys",
		"content":{"structured":{"title":"Deploy failed","subject":{"name":"api"}}}}`, users(p))).mustStatus(t, http.StatusUnprocessableEntity)
	e := r.apiErr(t)
	if e.Code != api.CodeLint || e.Field != "content.structured.actor" || len(e.Warnings) != 2 || e.Warnings[1].Field != "content.structured.actions" {
		t.Fatalf("error = %+v", e)
	}
	if ns := b.notifications(); len(ns) != 0 {
		t.Fatalf("a refused request stored %d notifications", len(ns))
	}
}

func TestCreateNotificationIdempotency(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testCreateNotificationIdempotency(t, db)
		})
	}
}

func testCreateNotificationIdempotency(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{db: db})
	p := b.user("Idem Potent")
	body := fmt.Sprintf(`{"audience":%s,"content":{"text":"once"}}`, users(p))
	send := func(h map[string]string, body string) reply {
		h["Content-Type"] = "application/json"
		return b.do(req{method: http.MethodPost, path: "/v1/notifications", body: body, header: h})
	}
	var first, second, third api.Notification
	send(map[string]string{"Idempotency-Key": "deploy-42"}, body).mustStatus(t, http.StatusAccepted).decode(t, &first)
	send(map[string]string{"Idempotency-Key": "deploy-42"}, body).mustStatus(t, http.StatusAccepted).decode(t, &second)
	withBodyKey := strings.Replace(body, `{"audience"`, `{"idempotencyKey":"deploy-42","audience"`, 1)
	send(map[string]string{}, withBodyKey).mustStatus(t, http.StatusAccepted).decode(t, &third)
	if first.ID != second.ID || first.ID != third.ID || first.Request.IdempotencyKey != "deploy-42" {
		t.Fatalf("ids %s %s %s, want one", first.ID, second.ID, third.ID)
	}
	e := send(map[string]string{"Idempotency-Key": "other"}, withBodyKey).mustStatus(t, http.StatusBadRequest).apiErr(t)
	if e.Field != "idempotencyKey" {
		t.Fatalf("error = %+v", e)
	}
	before := len(b.notifications())
	reused := []struct {
		name, method, path, body string
		header                   map[string]string
	}{
		{"other text", http.MethodPost, "/v1/notifications", strings.Replace(body, "once", "twice", 1),
			map[string]string{"Idempotency-Key": "deploy-42", "Content-Type": "application/json"}},
		{"key in the body, other topic", http.MethodPost, "/v1/notifications", strings.Replace(withBodyKey, `"content"`, `"topic":"t","content"`, 1),
			map[string]string{"Content-Type": "application/json"}},
		{"text route", http.MethodPost, "/v1/send/" + p.Email, "once", map[string]string{"Idempotency-Key": "deploy-42"}},
	}
	for _, tt := range reused {
		e := b.do(req{method: tt.method, path: tt.path, body: tt.body, header: tt.header}).mustStatus(t, http.StatusUnprocessableEntity).apiErr(t)
		if e.Code != api.CodeIdempotencyMismatch || e.Field != "Idempotency-Key" || !strings.Contains(e.Message, "different request") {
			t.Errorf("%s: error = %+v", tt.name, e)
		}
	}
	if after := len(b.notifications()); after != before {
		t.Fatalf("reused keys stored %d notifications", after-before)
	}
	b.wait(first.ID)
	if msgs := b.fromBot(p.conv); len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
}

// TestCreateNotificationRefusals covers every 4xx of POST
// /v1/notifications and checks that none stored anything.
func TestCreateNotificationRefusals(t *testing.T) {
	t.Parallel()
	for _, db := range sqlstoretest.Databases() {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testCreateNotificationRefusals(t, db)
		})
	}
}

func testCreateNotificationRefusals(t *testing.T, db string) {
	b := newBundle(t, bundleOpts{maxBody: 64 << 10, db: db})
	aud := `"audience":{"users":["someone@contoso.com"]}`
	tests := []struct {
		name   string
		body   string
		header map[string]string
		path   string
		status int
		code   string
		field  string
	}{
		{"empty body", ``, nil, "", 400, api.CodeInvalid, ""},
		{"not JSON", `{"audience":`, nil, "", 400, api.CodeInvalid, ""},
		{"not an object", `[1,2]`, nil, "", 400, api.CodeInvalid, ""},
		{"trailing data", `{` + aud + `,"content":{"text":"x"}} {}`, nil, "", 400, api.CodeInvalid, ""},
		{"unknown field", `{` + aud + `,"content":{"text":"x"},"colour":"red"}`, nil, "", 400, api.CodeInvalid, "colour"},
		{"unknown nested field", `{` + aud + `,"content":{"heroCard":{"title":"x","colour":"red"}}}`, nil, "", 400, api.CodeInvalid, "content.heroCard.colour"},
		{"unknown field in an array", `{"audience":{"channels":[{"team":"x","chanel":"y"}]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.channels[0].chanel"},
		{"wrong type", `{"audience":{"users":"bob"},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.users"},
		{"wrong element type", `{"audience":{"users":["bob",7]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.users[1]"},
		{"bad time", `{` + aud + `,"content":{"text":"x"},"sendAt":"tomorrow"}`, nil, "", 400, api.CodeInvalid, "sendAt"},
		{"bad variable", `{` + aud + `,"content":{"text":"x"},"variables":{"a":1}}`, nil, "", 400, api.CodeInvalid, "variables.a"},
		{"no content", `{` + aud + `,"content":{}}`, nil, "", 400, api.CodeInvalid, "content"},
		{"blank text", `{` + aud + `,"content":{"text":"  "}}`, nil, "", 400, api.CodeInvalid, "content"},
		{"text and card", `{` + aud + `,"content":{"text":"x","heroCard":{"title":"t"}}}`, nil, "", 400, api.CodeInvalid, "content.text"},
		{"two cards", `{` + aud + `,"content":{"heroCard":{"title":"t"},"structured":{"title":"t"}}}`, nil, "", 400, api.CodeInvalid, "content"},
		{"text format", `{` + aud + `,"content":{"text":"x","textFormat":"html"}}`, nil, "", 400, api.CodeInvalid, "content.textFormat"},
		{"adaptive version", `{` + aud + `,"content":{"adaptiveCard":{"type":"AdaptiveCard","version":"1.6"}}}`, nil, "", 400, api.CodeInvalid, "content.adaptiveCard.version"},
		{"adaptive type", `{` + aud + `,"content":{"adaptiveCard":{"type":"HeroCard","version":"1.5"}}}`, nil, "", 400, api.CodeInvalid, "content.adaptiveCard.type"},
		{"adaptive not object", `{` + aud + `,"content":{"adaptiveCard":[1]}}`, nil, "", 400, api.CodeInvalid, "content.adaptiveCard"},
		{"adaptive refresh", `{` + aud + `,"content":{"adaptiveCard":{"type":"AdaptiveCard","version":"1.5","refresh":{"action":{"type":"Action.Submit"}}}}}`, nil, "", 400, api.CodeInvalid, "content.adaptiveCard.refresh.action"},
		{"hero button", `{` + aud + `,"content":{"heroCard":{"title":"t","buttons":[{"type":"call","title":"x"}]}}}`, nil, "", 400, api.CodeInvalid, "content.heroCard.buttons[0].type"},
		{"hero empty", `{` + aud + `,"content":{"heroCard":{}}}`, nil, "", 400, api.CodeInvalid, "content.heroCard.title"},
		{"structured title", `{` + aud + `,"content":{"structured":{"details":"x"}}}`, nil, "", 400, api.CodeInvalid, "content.structured.title"},
		{"structured action", `{` + aud + `,"content":{"structured":{"title":"t","actions":[{"title":"x","url":"ftp://x"}]}}}`, nil, "", 400, api.CodeInvalid, "content.structured.actions[0].url"},
		{"no audience", `{"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience"},
		{"empty user", `{"audience":{"users":[""]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.users[0]"},
		{"user with a bad tenant", `{"audience":{"users":["29:1a@contoso"]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.users[0]"},
		{"not a conversation id", `{"audience":{"conversations":["19:g@thread.v2","Ops"]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.conversations[1]"},
		{"conversations not strings", `{"audience":{"conversations":[7]},"content":{"text":"x"}}`, nil, "", 400, api.CodeInvalid, "audience.conversations[0]"},
		{"priority", `{` + aud + `,"content":{"text":"x"},"priority":"urgent"}`, nil, "", 400, api.CodeInvalid, "priority"},
		{"long topic", `{` + aud + `,"content":{"text":"x"},"topic":"` + strings.Repeat("t", 600) + `"}`, nil, "", 400, api.CodeInvalid, "topic"},
		{"unknown query", `{` + aud + `,"content":{"text":"x"}}`, nil, "/v1/notifications?dry=1", 400, api.CodeInvalid, "dry"},
		{"too large", `{` + aud + `,"content":{"text":"` + strings.Repeat("x", 70<<10) + `"}}`, nil, "", 413, api.CodeTooLarge, ""},
		{"media type", `<xml/>`, map[string]string{"Content-Type": "application/xml"}, "", 415, api.CodeUnsupportedMediaType, "Content-Type"},
		{"no key", `{` + aud + `,"content":{"text":"x"}}`, map[string]string{"Authorization": ""}, "", 401, api.CodeUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json"}
			for k, v := range tt.header {
				h[k] = v
			}
			path := tt.path
			if path == "" {
				path = "/v1/notifications"
			}
			r := b.do(req{method: http.MethodPost, path: path, body: tt.body, header: h})
			r.mustStatus(t, tt.status)
			e := r.apiErr(t)
			if e.Code != tt.code || e.Field != tt.field || e.Message == "" {
				t.Fatalf("error = %+v, want code %s field %q", e, tt.code, tt.field)
			}
		})
	}
	if ns := b.notifications(); len(ns) != 0 {
		t.Fatalf("refused requests stored %d notifications", len(ns))
	}
}

func TestGetNotification(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p := b.user("Getter")
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":{"text":"later"},"sendAt":%q}`, users(p), later))
	var got api.Notification
	b.get("/v1/notifications/"+n.ID).mustStatus(t, http.StatusOK).decode(t, &got)
	if got.State != herald.NotificationScheduled || got.Request.SendAt.IsZero() {
		t.Fatalf("notification = %+v", got)
	}
	// A wait that runs out answers the current state.
	b.get("/v1/notifications/"+n.ID+"?wait=50ms").mustStatus(t, http.StatusOK).decode(t, &got)
	if got.State != herald.NotificationScheduled {
		t.Fatalf("after a short wait: %s", got.State)
	}
	for _, bad := range []string{"?wait=forever", "?wait=2m", "?wait=-1s", "?wiat=1s"} {
		e := b.get("/v1/notifications/"+n.ID+bad).mustStatus(t, http.StatusBadRequest).apiErr(t)
		if e.Field != "wait" && e.Field != "wiat" {
			t.Errorf("%s: field %q", bad, e.Field)
		}
	}
	for _, path := range []string{"/v1/notifications/n_missing", "/v1/notifications/n_missing?wait=1s"} {
		if e := b.get(path).mustStatus(t, http.StatusNotFound).apiErr(t); e.Code != api.CodeNotFound {
			t.Errorf("%s: %+v", path, e)
		}
	}
}

func TestListNotifications(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p := b.user("Lister")
	var ids []string
	for i := range 3 {
		n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":{"text":"n%d"}}`, users(p), i))
		b.wait(n.ID)
		ids = append(ids, n.ID)
	}
	var page1, page2 api.NotificationList
	b.get("/v1/notifications?limit=2").mustStatus(t, http.StatusOK).decode(t, &page1)
	if len(page1.Notifications) != 2 || page1.Next == "" || page1.Notifications[0].ID != ids[0] {
		t.Fatalf("page 1 = %+v", page1)
	}
	if c := page1.Notifications[0].Counts; c.Delivered != 1 {
		t.Errorf("listed counts = %+v", c)
	}
	b.get("/v1/notifications?limit=2&cursor="+page1.Next).mustStatus(t, http.StatusOK).decode(t, &page2)
	if len(page2.Notifications) != 1 || page2.Next != "" || page2.Notifications[0].ID != ids[2] {
		t.Fatalf("page 2 = %+v", page2)
	}
	var none api.NotificationList
	b.get("/v1/notifications?state=scheduled,cancelled").mustStatus(t, http.StatusOK).decode(t, &none)
	if len(none.Notifications) != 0 || none.Notifications == nil {
		t.Fatalf("filtered = %s", b.get("/v1/notifications?state=scheduled").body)
	}
	for _, bad := range []string{"?state=done", "?limit=0", "?limit=101", "?limit=x", "?page=2"} {
		b.get("/v1/notifications"+bad).mustStatus(t, http.StatusBadRequest)
	}
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ps := []person{b.user("D One"), b.user("D Two"), b.user("D Three")}
	n := b.sendJSON(fmt.Sprintf(`{"audience":{"users":[%q,%q,%q,"nobody@nowhere.example"]},"content":{"text":"hi"}}`,
		ps[0].Email, ps[1].Email, ps[2].Email))
	b.wait(n.ID)
	base := "/v1/notifications/" + n.ID + "/deliveries"
	var page1, page2 api.DeliveryList
	b.get(base+"?limit=3").mustStatus(t, http.StatusOK).decode(t, &page1)
	if len(page1.Deliveries) != 3 || page1.Next == "" {
		t.Fatalf("page 1 = %+v", page1)
	}
	b.get(base+"?limit=3&cursor="+page1.Next).mustStatus(t, http.StatusOK).decode(t, &page2)
	if len(page2.Deliveries) != 1 || page2.Next != "" {
		t.Fatalf("page 2 = %+v", page2)
	}
	var delivered, skipped api.DeliveryList
	b.get(base+"?state=delivered").mustStatus(t, http.StatusOK).decode(t, &delivered)
	b.get(base+"?state=skipped&reason=unresolved").mustStatus(t, http.StatusOK).decode(t, &skipped)
	if len(delivered.Deliveries) != 3 || len(skipped.Deliveries) != 1 || skipped.Deliveries[0].Reason != herald.ReasonUnresolved {
		t.Fatalf("delivered %d, skipped %+v", len(delivered.Deliveries), skipped.Deliveries)
	}
	for _, d := range delivered.Deliveries {
		if d.State != herald.DeliveryDelivered || d.ActivityID == "" || d.NotificationID != n.ID {
			t.Errorf("delivery = %+v", d)
		}
	}

	for _, how := range []req{
		{method: http.MethodGet, path: base, header: map[string]string{"Accept": "text/csv"}},
		{method: http.MethodGet, path: base + "?format=csv"},
	} {
		r := b.do(how).mustStatus(t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 || !cmp.Equal(rows[0], api.DeliveryCSVHeader()) {
			t.Fatalf("csv rows = %q", rows)
		}
		if rows[1][3] != "delivered" || rows[4][3] != "skipped" || rows[4][1] != "user:nobody@nowhere.example" {
			t.Errorf("csv rows = %q", rows)
		}
	}
	r := b.do(req{method: http.MethodGet, path: base + "?state=skipped", header: map[string]string{"Accept": "text/csv, application/json;q=0.5"}}).mustStatus(t, http.StatusOK)
	if got := strings.Count(string(r.body), "\n"); got != 2 {
		t.Errorf("filtered csv has %d lines: %s", got, r.body)
	}

	for _, bad := range []string{"?state=lost", "?cursor=abc", "?cursor=-3", "?limit=1001", "?format=xml", "?sort=id"} {
		b.get(base+bad).mustStatus(t, http.StatusBadRequest)
	}
	b.get("/v1/notifications/n_missing/deliveries").mustStatus(t, http.StatusNotFound)
	b.do(req{method: http.MethodGet, path: "/v1/notifications/n_missing/deliveries", header: map[string]string{"Accept": "text/csv"}}).mustStatus(t, http.StatusNotFound)
}

func TestCancelNotification(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	p := b.user("Canceller")
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":{"text":"later"},"sendAt":%q}`, users(p), later))
	var got api.Notification
	b.post("/v1/notifications/"+n.ID+"/cancel", "").mustStatus(t, http.StatusOK).decode(t, &got)
	if got.State != herald.NotificationCancelled {
		t.Fatalf("state = %s", got.State)
	}
	b.post("/v1/notifications/n_missing/cancel", "").mustStatus(t, http.StatusNotFound)
	b.post("/v1/notifications/"+n.ID+"/cancel?now=1", "").mustStatus(t, http.StatusBadRequest)
	b.get("/v1/notifications/"+n.ID+"/cancel").mustStatus(t, http.StatusMethodNotAllowed)
	if msgs := b.fromBot(p.conv); len(msgs) != 0 {
		t.Fatalf("a cancelled notification sent %d messages", len(msgs))
	}
}

func TestRetryNotification(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ok, blocked := b.user("Retry Ok"), b.user("Retry Blocked")
	if err := b.emu.SetBlocked(blocked.ID, true); err != nil {
		t.Fatal(err)
	}
	n := b.sendJSON(fmt.Sprintf(`{"audience":%s,"content":{"text":"retry me"}}`, users(ok, blocked)))
	if got := b.wait(n.ID); got.Counts.Failed != 1 || got.Counts.Delivered != 1 {
		t.Fatalf("counts = %+v", got.Counts)
	}
	var res api.RetryResult
	b.post("/v1/notifications/"+n.ID+"/retry", "").mustStatus(t, http.StatusOK).decode(t, &res)
	if res.Reopened != 1 || res.Notification.ID != n.ID {
		t.Fatalf("retry = %+v", res)
	}
	b.wait(n.ID)
	b.post("/v1/notifications/"+n.ID+"/retry", `{"uncertain":true}`).mustStatus(t, http.StatusOK).decode(t, &res)
	b.wait(n.ID)

	e := b.post("/v1/notifications/"+n.ID+"/retry", `{"uncertan":true}`).mustStatus(t, http.StatusBadRequest).apiErr(t)
	if e.Field != "uncertan" {
		t.Errorf("error = %+v", e)
	}
	b.do(req{method: http.MethodPost, path: "/v1/notifications/" + n.ID + "/retry", body: "uncertain", header: map[string]string{"Content-Type": "text/plain"}}).
		mustStatus(t, http.StatusUnsupportedMediaType)
	b.post("/v1/notifications/n_missing/retry", "").mustStatus(t, http.StatusNotFound)
}

func TestNotificationJSONShape(t *testing.T) {
	t.Parallel()
	// The API's Notification replaces the library's progress (whose
	// durations are nanoseconds) with seconds.
	n := apiNotification(herald.Notification{ID: "n_1", Counts: herald.Counts{Pending: 3, Delivered: 1},
		Progress: herald.Progress{Done: 0.25, Remaining: 1500 * time.Millisecond}}, nil)
	raw, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if got := string(m["progress"]); got != `{"total":4,"done":0.25,"remainingSeconds":1.5}` {
		t.Fatalf("progress = %s", got)
	}
	var back api.Notification
	if err := json.Unmarshal(raw, &back); err != nil || back.Progress.RemainingSeconds != 1.5 || back.ID != "n_1" {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}
