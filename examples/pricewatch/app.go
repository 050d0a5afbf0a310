package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"herald/bot"
	"herald/engine"

	"herald"
	"herald/botauth"
	"herald/botframework"
	"herald/card"
	"herald/sqlstore"
)

// topic is the notification topic of price alerts: readers stop them with
// the card's button or "stop price-alerts".
const topic = "price-alerts"

// config configures the app.
type config struct {
	// DB is the SQLite file.
	DB string
	// Emulator is the emulator's base URL.
	Emulator string
	// AppID and AppSecret are the bot's credentials.
	AppID, AppSecret string
	// ShopURL followed by a product's name is the product's page.
	ShopURL string
	// Logger receives Herald's warnings.
	Logger *slog.Logger
}

// app is the bot: Herald's bot endpoint with a message handler, Herald's
// delivery engine, and the watches in the same SQLite file.
type app struct {
	store   *sqlstore.Store
	watches *watches
	eng     *engine.Engine
	bot     *bot.Bot
	shopURL string
	now     func() time.Time
}

// newApp wires Herald to the emulator: tokens from the emulator's token
// endpoint, activities verified with its signing keys, messages sent to
// its Connector.
func newApp(ctx context.Context, cfg config) (*app, error) {
	store, err := sqlstore.Open(ctx, "sqlite:"+cfg.DB, sqlstore.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a := &app{store: store, shopURL: cfg.ShopURL, now: time.Now}
	if err := a.wire(ctx, cfg); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) wire(ctx context.Context, cfg config) error {
	var err error
	if a.watches, err = openWatches(ctx, a.store.DB()); err != nil {
		return err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: cfg.AppID, AppSecret: cfg.AppSecret,
		Authority: cfg.Emulator, HTTPClient: hc})
	if err != nil {
		return err
	}
	conn := botframework.NewConnector(botframework.ConnectorOptions{HTTPClient: hc, Tokens: tokens,
		TrustedHosts: []string{cfg.Emulator}})
	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: cfg.AppID, HTTPClient: hc,
		MetadataURL: cfg.Emulator + "/v1/.well-known/openidconfiguration"})
	if err != nil {
		return err
	}
	account := botframework.ChannelAccount{ID: botframework.BotID(cfg.AppID), Name: "Price watch"}
	a.eng, err = engine.New(engine.Config{Store: a.store, Queue: a.store.RiverDriver(), Connector: conn,
		Bot: account, DefaultServiceURL: cfg.Emulator + "/teams/", Logger: cfg.Logger})
	if err != nil {
		return err
	}
	welcome, err := bot.ParseWelcomeTemplate([]byte(personalWelcome))
	if err != nil {
		return err
	}
	a.bot, err = bot.New(bot.Config{AppID: cfg.AppID, BotName: account.Name, Verifier: verifier, Jobs: a.eng,
		Connector: conn, Store: a.store, Logger: cfg.Logger,
		Topics:  []herald.Topic{{Name: topic, Description: "price changes of the products you watch"}},
		Welcome: bot.WelcomeConfig{Personal: welcome, DisableTeam: true, DisableMemberChannel: true, DisableMemberPersonal: true}})
	if err != nil {
		return err
	}
	a.bot.OnMessage(a.onMessage)
	a.eng.HandleJobs(a.bot.RunJob)
	return nil
}

// personalWelcome is the welcome people get when they install the bot:
// why they get it, what the bot offers, what to do next.
const personalWelcome = `{
  "title": "Hi{{if .UserName}} {{.UserName}}{{end}}, {{.BotName}} is here",
  "why": "You are getting this message because you added {{.BotName}} to your chats in Teams. It is the only welcome you will get.",
  "offer": "{{.BotName}} watches product prices for you and tells you here, in one message per product that it keeps up to date, when a price changes.",
  "next": "Type **watch** and a product's name, such as **watch widget**. Type **stop price-alerts** at any time to stop.",
  "buttons": [{"title": "Watch the widget", "command": "watch widget"}]
}`

// Start starts the engine and the bot's background work.
func (a *app) Start(ctx context.Context) error {
	if err := a.eng.Start(ctx); err != nil {
		return err
	}
	return a.bot.Start(context.WithoutCancel(ctx))
}

// Stop stops the bot's work and the engine, then closes the store.
func (a *app) Stop(ctx context.Context) error {
	return errors.Join(a.bot.Stop(ctx), a.eng.Stop(ctx), a.Close())
}

// Close closes the store.
func (a *app) Close() error { return a.store.Close() }

// Handler serves the bot endpoint and the price feed.
func (a *app) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/messages", a.bot)
	mux.HandleFunc("POST /prices", a.postPrice)
	return mux
}

// onMessage answers "watch <product>" and "unwatch <product>" in
// personal chats. Herald has handled its own commands (help, stop, start,
// topics) and card buttons before it is called.
func (a *app) onMessage(ctx context.Context, t *bot.Turn) error {
	act := t.Activity
	if act.From == nil || act.Conversation == nil || act.Conversation.ConversationType != botframework.ConversationPersonal {
		return nil // only personal chats
	}
	cmd, product := parseCommand(act.Text)
	var reply string
	switch {
	case cmd == "watch" && product != "":
		if err := a.watches.add(ctx, act.From.ID, product, a.now()); err != nil {
			return err
		}
		reply = fmt.Sprintf("Watching **%s**. I'll tell you here when its price changes. Type **unwatch %s** to stop.", product, product)
		if off, err := a.store.UserOptedOut(ctx, act.From.ID, topic); err == nil && off {
			reply += " You have price alerts turned off: type **start " + topic + "** to get them."
		}
	case cmd == "unwatch" && product != "":
		removed, err := a.watches.remove(ctx, act.From.ID, product)
		if err != nil {
			return err
		}
		reply = fmt.Sprintf("You weren't watching **%s**.", product)
		if removed {
			reply = fmt.Sprintf("Stopped watching **%s**.", product)
		}
	default:
		reply = "Type **watch <product>** to hear about its price changes, **unwatch <product>** to stop, " +
			"or **stop " + topic + "** to stop every price alert."
	}
	_, err := t.Send(ctx, &botframework.Activity{Text: reply, TextFormat: botframework.TextFormatMarkdown})
	return err
}

// maxProduct bounds a product's name.
const maxProduct = 100

// parseCommand splits "watch Blue Widget" into "watch" and "blue widget":
// the command lowercased, the product lowercased with its spaces
// collapsed ("" when longer than maxProduct or not UTF-8).
func parseCommand(text string) (cmd, product string) {
	fields := strings.Fields(strings.ToLower(text))
	if len(fields) == 0 {
		return "", ""
	}
	product = strings.Join(fields[1:], " ")
	if len(product) > maxProduct || !utf8.ValidString(product) {
		product = ""
	}
	return fields[0], product
}

// priceUpdate is the body of POST /prices.
type priceUpdate struct {
	Product string  `json:"product"`
	Price   float64 `json:"price"`
}

// parsePriceUpdate decodes and checks a price update, returning the
// product (normalised as parseCommand does) and the price in cents.
func parsePriceUpdate(r io.Reader) (string, int64, error) {
	var u priceUpdate
	dec := json.NewDecoder(io.LimitReader(r, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		return "", 0, fmt.Errorf("want {\"product\": \"widget\", \"price\": 9.99}: %w", err)
	}
	_, product := parseCommand("watch " + u.Product)
	switch {
	case product == "":
		return "", 0, fmt.Errorf("product: want a name of 1 to %d bytes", maxProduct)
	case !(u.Price >= 0.01 && u.Price < 1e9):
		return "", 0, errors.New("price: want an amount from 0.01 to below 1e9")
	}
	return product, int64(math.Round(u.Price * 100)), nil
}

// postPrice is POST /prices: it records the price and notifies the
// product's watchers, answering 202 with the notification's id (empty
// when nobody watches the product or the price did not change).
func (a *app) postPrice(w http.ResponseWriter, r *http.Request) {
	product, cents, err := parsePriceUpdate(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	id, watchers, err := a.setPrice(r.Context(), product, cents)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"product": product, "watchers": watchers, "notification": id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setPrice records a product's price and, when it changed, sends its
// watchers a card under the key "price:<product>": Herald posts it the
// first time and updates that same message in place afterwards.
func (a *app) setPrice(ctx context.Context, product string, cents int64) (id string, watchers int, err error) {
	old, had, err := a.watches.setPrice(ctx, product, cents, a.now())
	if err != nil || had && old == cents {
		return "", 0, err
	}
	users, err := a.watches.watchers(ctx, product)
	if err != nil || len(users) == 0 {
		return "", 0, err
	}
	att, err := card.Render(priceCard(product, a.shopURL+url.PathEscape(product), old, had, cents, a.now()), card.RenderOptions{Strict: true})
	if err != nil {
		return "", 0, err
	}
	n, err := a.eng.Send(ctx, herald.NotificationRequest{
		Key:      "price:" + product,
		Title:    "price of " + product,
		Audience: herald.Audience{Users: users},
		Content:  herald.Content{Attachments: []botframework.Attachment{att}, Summary: priceTitle(product, old, had, cents)},
		Topic:    topic,
	})
	if err != nil {
		return "", 0, err
	}
	return n.ID, len(users), nil
}

// priceCard is the notification: what happened, to what, by whom, what
// the reader can do, and the opt-out button of the topic.
func priceCard(product, link string, old int64, had bool, cents int64, at time.Time) card.Structured {
	s := card.Structured{
		Title:     priceTitle(product, old, had, cents),
		Subject:   card.Subject{Name: product, URL: link},
		Actor:     card.Actor{Name: "Price feed"},
		Actions:   []card.Action{{Title: "Open product", URL: link}},
		Topic:     topic,
		Timestamp: at,
	}
	if had {
		s.Facts = []card.Fact{{Title: "Was", Value: dollars(old)}, {Title: "Now", Value: dollars(cents)}}
	}
	if had && cents < old {
		s.Style = card.StyleGood
	}
	return s
}

func priceTitle(product string, old int64, had bool, cents int64) string {
	switch {
	case had && cents < old:
		return fmt.Sprintf("Price of %s dropped to %s", product, dollars(cents))
	case had && cents > old:
		return fmt.Sprintf("Price of %s rose to %s", product, dollars(cents))
	}
	return fmt.Sprintf("Price of %s is %s", product, dollars(cents))
}

func dollars(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }
