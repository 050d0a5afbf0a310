package bot_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"herald"
	"herald/bot"
	"herald/botauth"
	"herald/botframework"
	"herald/sqlstore"
)

// A Go bot built on Herald: Herald verifies and records every activity,
// welcomes people and answers help/stop/start/topics; the bot adds its own
// message handler and serves the endpoint.
func ExampleNew() {
	ctx := context.Background()
	appID, secret := os.Getenv("BOT_APP_ID"), os.Getenv("BOT_APP_SECRET")
	store, err := sqlstore.Open(ctx, "sqlite:herald.db", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := botauth.NewVerifier(botauth.VerifierConfig{AppID: appID})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := botauth.NewTokenSource(botauth.TokenConfig{AppID: appID, AppSecret: secret})
	if err != nil {
		log.Fatal(err)
	}
	b, err := bot.New(bot.Config{
		AppID:     appID,
		Verifier:  verifier,
		Connector: botframework.NewConnector(botframework.ConnectorOptions{Tokens: tokens}),
		Store:     store,
		Welcome:   bot.WelcomeConfig{GuideURL: "https://intranet.example.com/new-hire-guide"},
		Topics:    []herald.Topic{{Name: "deploys", Description: "a deploy finished"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	b.OnMessage(func(ctx context.Context, t *bot.Turn) error {
		_, err := t.Send(ctx, &botframework.Activity{Text: "You said: " + t.Activity.Text})
		return err
	})
	if err := b.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer b.Stop(ctx)
	http.Handle("POST /api/messages", b)
	log.Fatal(http.ListenAndServe(":3978", nil))
}
