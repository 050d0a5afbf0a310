package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"herald/botframework"
)

// The web page's side of Universal Actions: the cards users see after
// their actions, and a form under each bot message whose card has
// Action.Execute buttons or a refresh, to press one as a member of the
// conversation.

// pageExecute is the form under a bot's message.
type pageExecute struct {
	Action    string // where the form posts
	MessageID string
	Buttons   []string // the titles of the Action.Execute buttons
	Refresh   bool     // some card of the message has a refresh
	Members   []pageMember
}

// pageMember is a member of the conversation the form can act as.
type pageMember struct{ ID, Name string }

// membersShown bounds the members the form offers.
const membersShown = 50

// executeForm is the form under a, or nil when its cards have nothing to
// press.
func (e *Emulator) executeForm(a RecordedActivity) *pageExecute {
	if a.Direction != FromBot || a.Deleted {
		return nil
	}
	f := &pageExecute{Action: "/conversations/" + url.PathEscape(a.ConversationID) + "/execute", MessageID: a.ID}
	cards := []json.RawMessage{}
	for _, at := range a.Activity.Attachments {
		if at.ContentType == botframework.ContentTypeAdaptiveCard {
			cards = append(cards, at.Content)
		}
	}
	for _, v := range a.Views {
		cards = append(cards, v)
	}
	for _, c := range cards {
		eachExecute(c, func(title string, _ map[string]any) bool {
			if title != "" && !slices.Contains(f.Buttons, title) {
				f.Buttons = append(f.Buttons, title)
			}
			return true
		})
		var r struct {
			Refresh json.RawMessage `json:"refresh"`
		}
		f.Refresh = f.Refresh || json.Unmarshal(c, &r) == nil && len(r.Refresh) > 0
	}
	if len(f.Buttons) == 0 && !f.Refresh {
		return nil
	}
	slices.Sort(f.Buttons)
	info, _ := e.Conversation(a.ConversationID)
	for _, id := range info.Members[:min(len(info.Members), membersShown)] {
		m := pageMember{ID: id, Name: id}
		if u, err := e.User(id); err == nil {
			m.Name = u.Name
		}
		f.Members = append(f.Members, m)
	}
	return f
}

// pageExecuteAction is POST /conversations/{conversationId}/execute, the
// form's target: it presses the button (or refreshes the card) as the
// member chosen, then shows the conversation again, or, when the bot did
// not answer with a card, what it answered.
func (e *Emulator) pageExecuteAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form: "+err.Error(), http.StatusBadRequest)
		return
	}
	convID := r.PathValue("conversationId")
	s := ExecuteSpec{From: r.PostForm.Get("from"), ConversationID: convID, MessageID: r.PostForm.Get("messageId"),
		Button: r.PostForm.Get("button"), Refresh: r.PostForm.Get("refresh") != ""}
	res, err := e.Execute(r.Context(), s)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if res.Outcome == OutcomeCard {
		http.Redirect(w, r, "/conversations/"+url.PathEscape(convID)+"#m"+url.PathEscape(s.MessageID), http.StatusSeeOther)
		return
	}
	var b strings.Builder
	b.WriteString("The bot answered " + res.Outcome)
	switch {
	case res.Text != "":
		b.WriteString(": " + res.Text)
	case res.Error != nil:
		b.WriteString(": " + res.Error.Code + " " + res.Error.Message)
	case res.Problem != "":
		b.WriteString(": " + res.Problem)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(b.String() + "\n"))
}

// pageViews draws the users' views of a message, ordered by user id.
func (e *Emulator) pageViews(views map[string]json.RawMessage) []pageView {
	ids := make([]string, 0, len(views))
	for id := range views {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []pageView
	for _, id := range ids {
		c, ok := renderCard(botframework.Attachment{ContentType: botframework.ContentTypeAdaptiveCard, Content: views[id]})
		if !ok {
			continue
		}
		who := id
		if u, err := e.User(id); err == nil {
			who = u.Name
		}
		out = append(out, pageView{Who: who, Card: c})
	}
	return out
}

// invokeLine is the page's line for an invoke activity.
func invokeLine(who string, a *botframework.Activity) string {
	if a.Name != botframework.InvokeAdaptiveCardAction {
		return who + " sent the invoke " + a.Name
	}
	var v botframework.AdaptiveCardInvokeValue
	_ = json.Unmarshal(a.Value, &v)
	verb := ""
	if v.Action != nil {
		verb = v.Action.Verb
	}
	if v.Trigger == botframework.TriggerAutomatic {
		return who + "'s Teams refreshed a card (" + verb + ")"
	}
	return who + " pressed a card button (" + verb + ")"
}
