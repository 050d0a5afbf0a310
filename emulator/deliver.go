package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"herald/botframework"
)

// inbound is an activity on its way to the bot: built under e.mu, then
// recorded and posted one at a time, so the bot's answers interleave as
// they would in Teams.
type inbound struct {
	conv   *conversation
	act    *botframework.Activity
	silent bool // recorded but not posted (a channel message without an @mention)
	root   bool // a new post in a channel: it starts a thread
}

// botAccount is the bot as activities name it.
func (e *Emulator) botAccount() *botframework.ChannelAccount {
	return &botframework.ChannelAccount{ID: e.BotID(), Name: e.cfg.BotName}
}

// eventID returns an id in the shape Teams gives conversationUpdate and
// installationUpdate activities ("f:" and a random tail).
func (e *Emulator) eventID() string { return "f:" + b64(e.ids.bytes(12)) }

// recordInbound stamps the members Teams sets and records the activity.
// Caller holds e.mu.
func (e *Emulator) recordInbound(in inbound) *record {
	now := e.now()
	a := in.act
	if a.ID == "" {
		a.ID = e.clock.next(now)
	}
	a.Timestamp = now.UTC().Truncate(time.Millisecond)
	a.ServiceURL = e.ServiceURL()
	a.ChannelID = botframework.ChannelTeams
	a.Recipient = e.botAccount()
	body, _ := json.Marshal(a)
	dir := ToBot
	if in.silent {
		dir = Silent
	}
	rec := &record{id: a.ID, direction: dir, at: now, body: body}
	e.addRecord(in.conv, rec)
	if in.root {
		e.startThread(in.conv, rec)
	}
	return rec
}

// deliver records and posts each activity in order and returns the bot's
// statuses (0 for a failed post or when there is no bot; silent activities
// have none).
func (e *Emulator) deliver(ctx context.Context, acts []inbound) []int {
	statuses := []int{}
	for _, in := range acts {
		e.mu.Lock()
		rec := e.recordInbound(in)
		body, convID, tenantID := rec.body, in.conv.id, in.conv.tenantID
		if in.act.Conversation != nil {
			convID = in.act.Conversation.ID
		}
		e.notifyLocked()
		e.mu.Unlock()
		if in.silent {
			continue
		}
		e.stats.activities(1, 0)
		status, err := e.postToBot(ctx, body, convID, tenantID, e.channelToken(e.now()))
		if err != nil {
			e.log.Warn("post activity to bot", "conversation", convID, "err", err)
		}
		statuses = append(statuses, status)
		e.mu.Lock()
		rec.botStatus = status
		e.notifyLocked()
		e.mu.Unlock()
	}
	return statuses
}

// channelClaims are the claims of a token the Bot Framework channel signs.
func (e *Emulator) channelClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": ChannelIssuer, "aud": e.cfg.AppID, "serviceurl": e.ServiceURL(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(tokenLifetime).Unix(),
	}
}

// channelTokenReuse is how long the channel keeps using one token: the
// Bot Framework sends the same bearer token with many activities until it
// nears its expiry, rather than signing one per activity.
const channelTokenReuse = 10 * time.Minute

// channelTok is a token the channel signed, with what it was signed for.
type channelTok struct {
	token, kid, serviceURL string
	at                     time.Time
}

// channelToken returns the channel's token for an activity sent at now:
// the current one while it is less than channelTokenReuse old and the
// signing key and serviceUrl are unchanged, else a new one.
func (e *Emulator) channelToken(now time.Time) string {
	key, svc := e.keys.signer(), e.ServiceURL()
	e.tokMu.Lock()
	defer e.tokMu.Unlock()
	t := e.tok
	if t.token != "" && t.kid == key.kid && t.serviceURL == svc && !now.Before(t.at) && now.Sub(t.at) < channelTokenReuse {
		return t.token
	}
	e.tok = channelTok{token: key.sign(e.channelClaims(now)), kid: key.kid, serviceURL: svc, at: now}
	return e.tok.token
}

// postToBot POSTs an activity body to the bot with token as bearer and
// returns the bot's status, or 0 when there is no bot.
func (e *Emulator) postToBot(ctx context.Context, body []byte, convID, tenantID, token string) (int, error) {
	ans, err := e.exchange(ctx, body, convID, tenantID, token)
	return ans.status, err
}

// maxAnswerBytes bounds the part of a bot's answer that is read.
const maxAnswerBytes = 1 << 20

// botAnswer is the bot's HTTP answer to a posted activity: its status (0
// when there is no bot), Content-Type and the first maxAnswerBytes of its
// body.
type botAnswer struct {
	status      int
	contentType string
	body        []byte
}

// exchange POSTs an activity body to the bot with token as bearer and
// returns its answer.
func (e *Emulator) exchange(ctx context.Context, body []byte, convID, tenantID, token string) (botAnswer, error) {
	target := e.cfg.BotURL
	if target == "" {
		if e.cfg.Deliver == nil {
			return botAnswer{}, nil
		}
		target = "http://127.0.0.1/api/messages"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return botAnswer{}, fmt.Errorf("post activity: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)")
	req.Header.Set("x-ms-conversation-id", convID)
	req.Header.Set("x-ms-tenant-id", tenantID)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if e.cfg.BotURL == "" {
		req.RemoteAddr = "127.0.0.1:0"
		rw := &memoryWriter{header: http.Header{}}
		e.cfg.Deliver.ServeHTTP(rw, req)
		return botAnswer{status: rw.statusCode(), contentType: rw.header.Get("Content-Type"), body: rw.body}, nil
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return botAnswer{}, fmt.Errorf("post activity: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	return botAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: data}, nil
}

// memoryWriter is the ResponseWriter of an in-process delivery.
type memoryWriter struct {
	header http.Header
	status int
	body   []byte
}

// Header returns the response header.
func (m *memoryWriter) Header() http.Header { return m.header }

// Write keeps the first maxAnswerBytes of the body.
func (m *memoryWriter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	if room := maxAnswerBytes - len(m.body); room > 0 {
		m.body = append(m.body, b[:min(len(b), room)]...)
	}
	return len(b), nil
}

// WriteHeader remembers the status.
func (m *memoryWriter) WriteHeader(status int) {
	if m.status == 0 {
		m.status = status
	}
}

func (m *memoryWriter) statusCode() int {
	if m.status == 0 {
		return http.StatusOK
	}
	return m.status
}
