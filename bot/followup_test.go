package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald"
	"herald/bot"
	"herald/botframework"
	"herald/emulator"
)

// question is the follow-up arguments the tests' handler records.
type question struct {
	N int `json:"n"`
}

// asker registers a handler that acknowledges every message at once and
// defers the answer to the follow-up "double", which answers 2×N.
func asker(h *harness, fn bot.FollowUpFunc) {
	h.bot.HandleLater("double", fn)
	h.bot.OnMessage(func(ctx context.Context, turn *bot.Turn) error {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(mentionFree(turn.Activity.Text)), "double %d", &n); err != nil {
			_, err := turn.Send(ctx, &botframework.Activity{Text: "ask me: double N"})
			return err
		}
		if err := turn.Later(ctx, "double", question{N: n}); err != nil {
			return err
		}
		_, err := turn.Send(ctx, &botframework.Activity{Text: "Working on it…"})
		return err
	})
}

// mentionFree drops "<at>…</at>" from a channel message's text.
func mentionFree(s string) string {
	if i := strings.Index(s, "</at>"); i >= 0 {
		return s[i+len("</at>"):]
	}
	return s
}

func double(_ context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
	var q question
	if err := f.Decode(&q); err != nil {
		return nil, err
	}
	return &botframework.Activity{Text: fmt.Sprintf("%d doubled is %d", q.N, 2*q.N)}, nil
}

// ask sends text as user from and checks the bot answered 200.
func (h *harness) ask(from, conversationID, text string, mentions ...string) emulator.MessageResult {
	h.t.Helper()
	res, err := h.emu.SendMessage(h.ctx, emulator.MessageSpec{From: from, ConversationID: conversationID, Text: text, Mentions: mentions})
	if err != nil || !res.Delivered {
		h.t.Fatalf("ask %q: %+v, %v", text, res, err)
	}
	for _, s := range res.BotStatus {
		if s != http.StatusOK {
			h.t.Fatalf("ask %q: bot answered %v", text, res.BotStatus)
		}
	}
	return res
}

// texts returns the texts the bot sent into a conversation, oldest first.
func (h *harness) texts(convID string) []string {
	var out []string
	for _, a := range h.fromBot(convID) {
		out = append(out, a.Activity.Text)
	}
	return out
}

func noCommands(c *bot.Config) {
	c.DisableCommands = true
	c.Welcome.DisablePersonal = true
}

func TestFollowUpAnswersInTheSameConversation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands)
	var got atomic.Pointer[bot.FollowUp]
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		got.Store(f)
		return double(ctx, f)
	})
	ana := h.user("Ana Diaz")
	res := h.ask(ana.ID, "", "double 21")
	if diff := strings.Join(h.texts(res.ConversationID), "|"); diff != "Working on it…" {
		t.Fatalf("before the follow-up ran the bot sent %q, want only the acknowledgement", diff)
	}
	h.flush()
	sent := h.fromBot(res.ConversationID)
	if len(sent) != 2 || sent[1].Activity.Text != "21 doubled is 42" {
		t.Fatalf("bot sent %q, want the acknowledgement then the answer", h.texts(res.ConversationID))
	}
	if sent[1].Activity.ReplyToID != res.ActivityID {
		t.Errorf("answer replies to %q, want the question %q", sent[1].Activity.ReplyToID, res.ActivityID)
	}
	f := got.Load()
	if f.From.ID != ana.ID || f.Conversation.ID != res.ConversationID || f.ReplyToID != res.ActivityID ||
		f.Attempt != 1 || f.Final || f.AskedAt.IsZero() || f.Name != "double" {
		t.Errorf("follow-up = %+v", f)
	}
	// Nothing is left to run.
	h.flush()
	if n := len(h.fromBot(res.ConversationID)); n != 2 {
		t.Fatalf("a second flush sent %d more", n-2)
	}
}

func TestFollowUpRepliesInTheChannelThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands)
	asker(h, double)
	ann := h.user("Ann Lee")
	team, err := h.emu.AddTeam(emulator.TeamSpec{TenantID: h.tenant.ID, Name: "Maths", Members: []string{ann.ID}})
	if err != nil {
		t.Fatal(err)
	}
	h.delivered(h.emu.InstallTeam(h.ctx, emulator.InstallTeamSpec{TeamID: team.ID}))
	h.flush()
	posts := len(h.fromBot(team.ID))
	res := h.ask(ann.ID, team.ID, "double 5", "bot")
	if !strings.Contains(res.ConversationID, ";messageid=") {
		t.Fatalf("channel post went to %q, not a thread", res.ConversationID)
	}
	h.flush()
	if got := strings.Join(h.texts(res.ConversationID), "|"); got != "Working on it…|5 doubled is 10" {
		t.Fatalf("thread got %q", got)
	}
	if got := len(h.fromBot(team.ID)); got != posts {
		t.Fatalf("the answer started %d new posts in the channel instead of replying in the thread", got-posts)
	}
}

// failingSender fails the next n sends into conversations (after making
// them, when made is set: as if the process died right after Teams took
// the message).
type failingSender struct {
	bot.Sender
	n    atomic.Int32
	made bool
}

func (s *failingSender) SendToConversation(ctx context.Context, c herald.Conversation, a *botframework.Activity, o bot.SendOptions) (string, error) {
	if s.n.Add(-1) >= 0 {
		if s.made {
			_, _ = s.Sender.SendToConversation(ctx, c, a, o)
		}
		return "", errors.New("connection reset")
	}
	return s.Sender.SendToConversation(ctx, c, a, o)
}

// clocked sets a settable clock on the bot.
func clocked(clock *atomic.Pointer[time.Time]) func(*bot.Config) {
	now := time.Now()
	clock.Store(&now)
	return func(c *bot.Config) { c.Now = func() time.Time { return *clock.Load() } }
}

func advance(clock *atomic.Pointer[time.Time], d time.Duration) {
	next := clock.Load().Add(d)
	clock.Store(&next)
}

func TestFollowUpSendRetriedWithoutComputingAgain(t *testing.T) {
	t.Parallel()
	fail := &failingSender{}
	fail.n.Store(1)
	h := newHarness(t, noCommands, func(c *bot.Config) {
		fail.Sender = bot.NewConnectorSender(c.Connector, c.Store, botframework.ChannelAccount{ID: "28:" + c.AppID})
		c.Sender = fail
	})
	var calls atomic.Int32
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		calls.Add(1)
		return double(ctx, f)
	})
	bo := h.user("Bo Berg")
	res := h.ask(bo.ID, "", "double 4")
	h.flush() // computes, fails to send once, sends on the retry
	if got := strings.Join(h.texts(res.ConversationID), "|"); got != "Working on it…|4 doubled is 8" {
		t.Fatalf("after the retry: %q", got)
	}
	if n := fail.n.Load(); n > 0 {
		t.Fatalf("%d sends still to fail: the failing send was not tried", n)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the follow-up was computed %d times, want once (its answer is kept)", n)
	}
}

func TestFollowUpFinalAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands, func(c *bot.Config) { c.TaskAttempts = 3 })
	var mu sync.Mutex
	var seen []string
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%d/%v", f.Attempt, f.Final))
		mu.Unlock()
		if !f.Final {
			return nil, errors.New("backend unavailable")
		}
		return &botframework.Activity{Text: "Sorry, I could not work that out."}, nil
	})
	cy := h.user("Cy Ott")
	res := h.ask(cy.ID, "", "double 1")
	h.flush()
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, " "); got != "1/false 2/false 3/true" {
		t.Fatalf("attempts = %s", got)
	}
	if got := strings.Join(h.texts(res.ConversationID), "|"); got != "Working on it…|Sorry, I could not work that out." {
		t.Fatalf("conversation: %q", got)
	}
}

func TestFollowUpSurvivesCrash(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands)
	// The node's job runner takes the follow-up and hangs in it (a
	// process that died while computing).
	hung, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var runs atomic.Int32
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		if runs.Add(1) > 1 {
			return nil, errors.New("the dead process takes nothing more")
		}
		close(hung)
		<-release
		return nil, errors.New("the process died")
	})
	h.gate.setFree()
	di := h.user("Di Fox")
	res := h.ask(di.ID, "", "double 8")
	<-hung
	dead := h.eng
	go func() { _ = dead.Stop(context.Background()) }() // takes no more jobs
	// The restarted node (the same node id) takes it up at once.
	h.restartNode(func(b *bot.Bot) { b.HandleLater("double", double) })
	h.flush()
	if got := strings.Join(h.texts(res.ConversationID), "|"); got != "Working on it…|8 doubled is 16" {
		t.Fatalf("after the restart: %q", got)
	}
}

func TestLaterRefusesUnknownNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands)
	errc := make(chan error, 1)
	h.bot.OnMessage(func(ctx context.Context, turn *bot.Turn) error {
		errc <- turn.Later(ctx, "nobody", nil)
		return nil
	})
	h.ask(h.user("Ed Gray").ID, "", "hello")
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("Later with an unknown name: err = %v", err)
	}
}

func TestHandleLaterPanics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.HandleLater("taken", double)
	tests := []struct {
		name string
		fn   bot.FollowUpFunc
	}{
		{"", double},
		{"nil", nil},
		{"taken", double},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("HandleLater(%q) did not panic", tt.name)
				}
			}()
			h.bot.HandleLater(tt.name, tt.fn)
		}()
	}
}

func TestFollowUpDoesNotHoldBackWelcomes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *bot.Config) { c.DisableCommands = true })
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return double(ctx, f)
	})
	h.runFreely()
	fi := h.user("Fi Hart")
	res := h.ask(fi.ID, "", "double 3")
	<-started
	// While the follow-up runs, someone installs the bot: the welcome is
	// not stuck behind it.
	gil := h.user("Gil Ames")
	d := h.delivered(h.emu.InstallPersonal(h.ctx, gil.ID))
	if _, err := h.emu.AwaitFromBot(h.ctx, d.ConversationID, 1); err != nil {
		t.Fatal(err)
	}
	if got := h.texts(res.ConversationID); slices.Contains(got, "3 doubled is 6") {
		t.Fatalf("answered before the follow-up finished: %q", got)
	}
	close(release)
	err := h.emu.Await(h.ctx, func(*emulator.Emulator) bool {
		return slices.Contains(h.texts(res.ConversationID), "3 doubled is 6")
	})
	if err != nil {
		t.Fatalf("no answer: %v (conversation: %q)", err, h.texts(res.ConversationID))
	}
}

func TestFollowUpReleasedOnStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noCommands)
	started := make(chan struct{}, 1)
	var calls atomic.Int32
	asker(h, func(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
		if calls.Add(1) == 1 {
			started <- struct{}{}
			<-ctx.Done() // a long computation, interrupted by the stop
			return nil, ctx.Err()
		}
		return double(ctx, f)
	})
	h.gate.setFree()
	res := h.ask(h.user("Hu Li").ID, "", "double 7")
	<-started
	stopCtx, cancel := context.WithCancel(h.ctx)
	cancel() // stop at once: the running follow-up is cancelled
	_ = h.eng.Stop(stopCtx)
	// The next process takes it up again.
	h.restartNode(func(b *bot.Bot) { b.HandleLater("double", double) })
	h.flush()
	if got := strings.Join(h.texts(res.ConversationID), "|"); got != "Working on it…|7 doubled is 14" {
		t.Fatalf("after the restart: %q", got)
	}
}
