package main

import (
	"context"
	"fmt"

	"herald"
	"herald/api"
	"herald/card"
	"herald/emulator"
)

// groupChatTopic names the demo's group chat.
const groupChatTopic = "Launch crew"

// installGroupChat adds Herald to a group chat of the first personal users
// (the first of them adds it): Herald welcomes the chat once.
func (d *demo) installGroupChat(ctx context.Context) (string, error) {
	members := make([]string, len(d.personal))
	for i, u := range d.personal {
		members[i] = u.ID
	}
	dl, err := d.em.AddGroupChat(ctx, emulator.GroupChatSpec{Topic: groupChatTopic, Members: members})
	if err := botStatusOK(dl, err); err != nil {
		return "", err
	}
	d.chatID = dl.ConversationID
	if err := d.awaitFromBot(ctx, "welcome card in the group chat", func() string { return d.chatID }, 1); err != nil {
		return "", err
	}
	return "the welcome card is in the chat", nil
}

// notifyGroupChat notifies the group chat by its conversation id.
func (d *demo) notifyGroupChat(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service finished"
	before := len(d.fromBot(d.chatID))
	n, err := d.api.Send(ctx, api.NotificationRequest{
		Title: "demo: deploy finished", Topic: "deploys",
		Audience: herald.Audience{Conversations: []string{d.chatID}},
		Content:  api.Content{Structured: deployCard(title, card.StyleGood, false)},
	})
	if err != nil {
		return "", apiError(d.heraldURL, err)
	}
	if n, err = d.follow(ctx, n.ID); err != nil {
		return "", err
	}
	if n.Counts.Delivered != 1 || n.Progress.Total != 1 {
		return "", fmt.Errorf("%s: %d of %d delivered, want the chat", n.ID, n.Counts.Delivered, n.Progress.Total)
	}
	if _, err := d.checkDeliveries(ctx, n.ID, title, false); err != nil {
		return "", err
	}
	if got := len(d.fromBot(d.chatID)); got != before+1 {
		return "", fmt.Errorf("the chat has %d messages from Herald, want %d", got, before+1)
	}
	return "the card is in the chat", nil
}
