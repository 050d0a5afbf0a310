package api_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"herald/api"
)

// A script's notification: text to one person, then wait for the outcome.
func ExampleClient_SendText() {
	ctx := context.Background()
	c, err := api.NewClient("http://127.0.0.1:3978", api.ClientOptions{APIKey: "your API key"})
	if err != nil {
		log.Fatal(err)
	}
	n, err := c.SendText(ctx, "alice@contoso.com", "The nightly build is green.", api.TextOptions{Title: "Build 42", Topic: "builds"})
	if err != nil {
		log.Fatal(err)
	}
	for !n.State.Final() {
		if n, err = c.WaitNotification(ctx, n.ID, 30*time.Second); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%s: %d delivered, %d failed\n", n.State, n.Counts.Delivered, n.Counts.Failed)
}
