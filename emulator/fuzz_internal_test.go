package emulator

import (
	"encoding/json"
	"strings"
	"testing"

	"herald/botframework"
)

func FuzzRenderCard(f *testing.F) {
	f.Add(botframework.ContentTypeAdaptiveCard, `{"type":"AdaptiveCard","body":[{"type":"ColumnSet","columns":[{"items":[{"type":"TextBlock","text":"x"}]}]}],"actions":[{"type":"Action.OpenUrl","url":"https://x"}]}`)
	f.Add(botframework.ContentTypeHeroCard, `{"title":"t","buttons":[{"type":"openUrl","value":"https://x"}]}`)
	f.Add(botframework.ContentTypeAdaptiveCard, `{"body":[{"type":"Container","items":[{"type":"Container","items":[]}]}]}`)
	f.Fuzz(func(t *testing.T, contentType, content string) {
		c, ok := renderCard(botframework.Attachment{ContentType: contentType, Content: json.RawMessage(content)})
		if !ok {
			return
		}
		for _, b := range c.Buttons {
			if b.URL != "" && !strings.HasPrefix(b.URL, "http") {
				t.Fatalf("unsafe URL %q", b.URL)
			}
		}
	})
}

func FuzzPageToken(f *testing.F) {
	f.Add(pageToken(0))
	f.Add(pageToken(123456))
	f.Add("b2Zmc2V0Oi0x")
	f.Fuzz(func(t *testing.T, tok string) {
		n, ok := parsePageToken(tok)
		if !ok {
			return
		}
		if n < 0 {
			t.Fatalf("negative offset %d from %q", n, tok)
		}
		if m, ok := parsePageToken(pageToken(n)); !ok || m != n {
			t.Fatalf("round trip of %d gave %d", n, m)
		}
	})
}

func FuzzSynthIndex(f *testing.F) {
	s := &synthUsers{tenantID: LoadTenantID, n: 1000, tag: [6]byte{1, 2, 3, 4, 5, 6}, domain: "fabrikam.com"}
	for _, i := range []int{0, 7, 999} {
		u := s.user(i)
		f.Add(u.id)
		f.Add(u.aadObjectID)
		f.Add(u.upn)
	}
	f.Fuzz(func(t *testing.T, key string) {
		i, ok := s.index(key)
		if !ok {
			return
		}
		if i < 0 || i >= s.n {
			t.Fatalf("index %d out of range for %q", i, key)
		}
		u := s.user(i)
		if key != u.id && !strings.EqualFold(key, u.aadObjectID) && !strings.EqualFold(key, u.upn) {
			t.Fatalf("%q decoded to user %d (%s, %s, %s)", key, i, u.id, u.aadObjectID, u.upn)
		}
	})
}

func FuzzSplitMentions(f *testing.F) {
	f.Add("hi <at>Bob</at> and <at>Ann &amp; co</at>!")
	f.Add("</at><at>")
	f.Fuzz(func(t *testing.T, text string) {
		n := 0
		for _, p := range splitMentions(text) {
			if p.Mention {
				n++
			}
		}
		if n > strings.Count(text, "<at>") {
			t.Fatalf("%d mentions in %q", n, text)
		}
		_ = mentionHTML(text)
	})
}
