package emulator_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/emulator"
)

func getPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestIndexPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.demo(t)
	page := getPage(t, b.srv.URL+"/")
	for _, want := range []string{"Contoso", emulator.DemoTenantID, "Engineering", "Marketing", "Sales", "# Backend",
		"alice@contoso.com", "Zara", b.em.ServiceURL(), "Connector requests"} {
		if !strings.Contains(page, want) {
			t.Errorf("index page lacks %q", want)
		}
	}
}

const adaptiveCard = `{"type":"AdaptiveCard","version":"1.5","body":[
 {"type":"TextBlock","text":"Build 42 failed","weight":"Bolder","size":"Large","color":"Attention"},
 {"type":"FactSet","facts":[{"title":"Branch","value":"main"},{"title":"By","value":"Bob <script>"}]},
 {"type":"ColumnSet","columns":[{"type":"Column","items":[{"type":"TextBlock","text":"Left column"}]},{"type":"Column","items":[{"type":"Image","url":"https://example.com/logo.png","altText":"logo"}]}]},
 {"type":"Image","url":"javascript:alert(1)"}],
 "actions":[{"type":"Action.OpenUrl","title":"Open build","url":"https://ci.example.com/42"},{"type":"Action.Submit","title":"Retry","data":{"retry":42}}]}`

const heroCard = `{"title":"Welcome to Herald","subtitle":"Notifications","text":"Here is what I can do","images":[{"url":"https://example.com/hero.png"}],
 "buttons":[{"type":"openUrl","title":"Docs","value":"https://example.com/docs"},{"type":"imBack","title":"Help","value":"help"}]}`

func TestConversationPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	send := func(body string) string {
		r := b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", body)
		var res struct{ ID string }
		r.decode(t, &res)
		return res.ID
	}
	send(`{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":` + adaptiveCard + `}]}`)
	send(`{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.hero","content":` + heroCard + `}]}`)
	edited := send(`{"type":"message","text":"Deploy at 5pm"}`)
	deleted := send(`{"type":"message","text":"oops wrong chat"}`)
	b.call(t, "PUT", "v3/conversations/"+esc(conv)+"/activities/"+edited, `{"type":"message","text":"Deploy at 6pm"}`)
	b.call(t, "DELETE", "v3/conversations/"+esc(conv)+"/activities/"+deleted, nil)
	if _, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: d.Users[0].ID, Text: "thanks <at>Herald</at>", Mentions: []string{"bot"}}); err != nil {
		t.Fatal(err)
	}
	page := getPage(t, b.srv.URL+"/conversations/"+url.PathEscape(conv))
	for _, want := range []string{
		"Build 42 failed", "Branch", "main", "Bob &lt;script&gt;", "Left column", `src="https://example.com/logo.png"`,
		`href="https://ci.example.com/42"`, "Open build", "Retry",
		"Welcome to Herald", "Here is what I can do", `href="https://example.com/docs"`, "Help",
		"Deploy at 6pm", "Edited", "Deploy at 5pm", "This message has been deleted", "@Herald", "Alice Anderson installed Herald",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("conversation page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "javascript:", "oops wrong chat"} {
		if strings.Contains(page, bad) {
			t.Errorf("conversation page contains %q", bad)
		}
	}
}

func TestChannelPageShowsThreads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	team := d.Teams[0]
	if _, err := b.em.InstallTeam(ctx(t), emulator.InstallTeamSpec{TeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	root, err := b.em.SendMessage(ctx(t), emulator.MessageSpec{From: d.Users[1].ID, ConversationID: team.ID, Text: "who is on call?", Mentions: []string{"bot"}})
	if err != nil {
		t.Fatal(err)
	}
	b.call(t, "POST", "v3/conversations/"+esc(root.ConversationID)+"/activities", message("Carol is on call"))
	page := getPage(t, b.srv.URL+"/conversations/"+url.PathEscape(team.ID))
	if !strings.Contains(page, "who is on call?") || !strings.Contains(page, `class="replies"`) || !strings.Contains(page, "Carol is on call") {
		t.Fatalf("channel page:\n%s", page)
	}
}

func TestConversationPageFormatsMarkdownAndDates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.demo(t)
	conv := b.personal(t, d.Users[0].ID)
	send := func(body any) {
		t.Helper()
		var res struct{ ID string }
		b.call(t, "POST", "v3/conversations/"+esc(conv)+"/activities", body).decode(t, &res)
		if res.ID == "" {
			t.Fatal("send answered no id")
		}
	}
	send(map[string]any{"type": "message", "textFormat": "markdown",
		"text": "Deploy **done**, _on time_: see [the run](https://ci.example.com/runs/7)\n- api 2.4\n- web 1.9\nThanks"})
	send(map[string]any{"type": "message", "textFormat": "markdown",
		"text": `XSS <img src=x onerror=alert(1)> [x](javascript:alert(2)) **<script>alert(3)</script>** [y](https://a.example/"onclick="alert(4))`})
	send(message("Plain **not bold** text"))
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{
		map[string]any{"type": "TextBlock", "text": "Status: **green**, [dashboard](https://status.example.com)"},
		map[string]any{"type": "TextBlock", "text": "by Release pipeline · {{DATE(2026-11-25T10:00:00Z, SHORT)}} {{TIME(2026-11-25T10:00:00Z)}}"},
		map[string]any{"type": "FactSet", "facts": []any{map[string]any{"title": "**Priority**", "value": "P1 <b>now</b>"}}},
		map[string]any{"type": "RichTextBlock", "inlines": []any{map[string]any{"type": "TextRun", "text": "**raw** until {{DATE(2026-11-25T10:00:00Z, LONG)}}"}}},
	}}
	send(map[string]any{"type": "message", "attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})

	page := getPage(t, b.srv.URL+"/conversations/"+url.PathEscape(conv))
	for _, want := range []string{
		"Deploy <strong>done</strong>, <em>on time</em>: see " +
			`<a href="https://ci.example.com/runs/7" rel="noopener noreferrer" target="_blank">the run</a>` +
			"<ul><li>api 2.4</li><li>web 1.9</li></ul>Thanks",
		"XSS &lt;img src=x onerror=alert(1)&gt; x) <strong>&lt;script&gt;alert(3)&lt;/script&gt;</strong> y)",
		"Plain **not bold** text",
		`Status: <strong>green</strong>, <a href="https://status.example.com" rel="noopener noreferrer" target="_blank">dashboard</a>`,
		"by Release pipeline · Wed, Nov 25, 2026 10:00 AM UTC",
		"<dt class=\"md\"><strong>Priority</strong></dt><dd class=\"md\">P1 &lt;b&gt;now&lt;/b&gt;</dd>",
		"**raw** until Wednesday, November 25, 2026",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("conversation page lacks %q", want)
		}
	}
	for _, bad := range []string{"<img", "<script>", "javascript:", `"onclick=`, "<b>now", "{{DATE", "{{TIME"} {
		if strings.Contains(page, bad) {
			t.Errorf("conversation page contains %q", bad)
		}
	}
}
