package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"herald"
	"herald/api"
	"herald/card"
	"herald/emulator"
)

// The scenario's steps, each checked in the emulator's record.

// fromBot returns the activities the bot sent into a conversation.
func (d *demo) fromBot(conv string) []emulator.RecordedActivity {
	var out []emulator.RecordedActivity
	for _, a := range d.em.Activities(conv) {
		if a.Direction == emulator.FromBot {
			out = append(out, a)
		}
	}
	return out
}

// awaitFromBot waits until the bot has sent at least n activities into
// the conversation conv() names (empty while it does not exist).
func (d *demo) awaitFromBot(ctx context.Context, what string, conv func() string, n int) error {
	err := d.em.Await(ctx, func(*emulator.Emulator) bool {
		c := conv()
		return c != "" && len(d.fromBot(c)) >= n
	})
	if err != nil {
		return fmt.Errorf("no %s arrived: %w", what, err)
	}
	return nil
}

func botStatusOK(dl emulator.Delivery, err error) error {
	if err != nil {
		return err
	}
	for _, s := range dl.BotStatus {
		if s/100 != 2 {
			return fmt.Errorf("the bot answered the activity with HTTP %d", s)
		}
	}
	return nil
}

func (d *demo) installTeam(ctx context.Context) (string, error) {
	if err := botStatusOK(d.em.InstallTeam(ctx, emulator.InstallTeamSpec{TeamID: d.team.ID})); err != nil {
		return "", err
	}
	general := func() string { return d.team.ID }
	if err := d.awaitFromBot(ctx, "welcome card in General", general, 1); err != nil {
		return "", err
	}
	return "the welcome card is in General", nil
}

func (d *demo) installPersonal(ctx context.Context) (string, error) {
	for _, u := range d.personal {
		dl, err := d.em.InstallPersonal(ctx, u.ID)
		if err := botStatusOK(dl, err); err != nil {
			return "", fmt.Errorf("install for %s: %w", u.Email, err)
		}
		if u.ID == d.seed.Users[0].ID {
			d.aliceConv = dl.ConversationID
		}
		if err := d.awaitFromBot(ctx, "welcome message for "+u.Email, func() string { return dl.ConversationID }, 1); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d welcome messages, one in each chat", len(d.personal)), nil
}

func (d *demo) memberJoins(ctx context.Context) (string, error) {
	before := len(d.fromBot(d.team.ID))
	if err := botStatusOK(d.em.AddMember(ctx, d.team.ID, d.joiner.ID)); err != nil {
		return "", err
	}
	if err := d.awaitFromBot(ctx, "welcome for the new member in General", func() string { return d.team.ID }, before+1); err != nil {
		return "", err
	}
	personal := func() string {
		c, ok := d.em.PersonalConversation(d.joiner.ID)
		if !ok {
			return ""
		}
		return c
	}
	if err := d.awaitFromBot(ctx, "personal welcome for "+d.joiner.Email, personal, 1); err != nil {
		return "", err
	}
	t, err := d.em.Team(d.team.ID)
	if err != nil {
		return "", err
	}
	d.team = t
	return fmt.Sprintf("welcomed in General and in a personal chat; the team has %d members", t.MemberCount), nil
}

// deployCard is the structured notification of the scenario.
func deployCard(title, style string, optOut bool) *card.Structured {
	s := &card.Structured{
		Title:   title,
		Subject: card.Subject{Name: "checkout-service 2.4.0", URL: "https://example.com/releases/checkout-service/2.4.0"},
		Actor:   card.Actor{Name: "Release pipeline"},
		Details: "Release 2.4.0 of checkout-service rolls out to production in three waves.",
		Facts:   []card.Fact{{Title: "Environment", Value: "production"}, {Title: "Waves", Value: "3"}},
		Actions: []card.Action{{Title: "Open the release", URL: "https://example.com/releases/checkout-service/2.4.0"}},
		Topic:   "deploys",
		Style:   style,
	}
	if !optOut {
		s.OptOut = new(bool)
	}
	return s
}

func (d *demo) notifyTeam(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service started"
	n, err := d.api.Send(ctx, api.NotificationRequest{
		Title: "demo: deploy started", Topic: "deploys",
		Audience: herald.Audience{Teams: []string{d.team.Name}},
		Content:  api.Content{Structured: deployCard(title, card.StyleAccent, true)},
	})
	if err != nil {
		return "", apiError(d.heraldURL, err)
	}
	if n, err = d.follow(ctx, n.ID); err != nil {
		return "", err
	}
	if want := d.team.MemberCount; n.Counts.Delivered != want || n.Progress.Total != want {
		return "", fmt.Errorf("%s: %d of %d delivered, want all %d members", n.ID, n.Counts.Delivered, n.Progress.Total, want)
	}
	seen, err := d.checkDeliveries(ctx, n.ID, title, false)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d delivered; each card is in its member's chat", seen), nil
}

func (d *demo) postChannel(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service 2.4.0: wave 1 of 3"
	id, err := d.sendPost(ctx, title, card.StyleAccent)
	if err != nil {
		return "", err
	}
	if _, err := d.checkDeliveries(ctx, id, title, false); err != nil {
		return "", err
	}
	return "the post is in General", nil
}

func (d *demo) updatePost(ctx context.Context) (string, error) {
	const title = "Deploy of checkout-service 2.4.0: done"
	roots := len(d.fromBot(d.postConv))
	id, err := d.sendPost(ctx, title, card.StyleGood)
	if err != nil {
		return "", err
	}
	if _, err := d.checkDeliveries(ctx, id, title, true); err != nil {
		return "", err
	}
	a, ok := d.em.Activity(d.postConv, d.postID)
	switch {
	case !ok:
		return "", fmt.Errorf("the post %s is gone from the emulator's record", d.postID)
	case a.UpdatedAt.IsZero() || len(a.History) == 0:
		return "", fmt.Errorf("the post %s was not updated", d.postID)
	case len(d.fromBot(d.postConv)) != roots:
		return "", errors.New("a new post appeared instead of an update")
	}
	return fmt.Sprintf("the same post now says %q (%d earlier version)", title, len(a.History)), nil
}

// sendPost posts (or, the second time, updates) the channel post and
// waits for it to end.
func (d *demo) sendPost(ctx context.Context, title, style string) (string, error) {
	n, err := d.api.Send(ctx, api.NotificationRequest{
		Title: "demo: " + title, Key: "demo-release",
		Audience: herald.Audience{Channels: []herald.ChannelTarget{{Team: d.team.Name, Channel: "General"}}},
		Content:  api.Content{Structured: deployCard(title, style, false)},
	})
	if err != nil {
		return "", apiError(d.heraldURL, err)
	}
	if n, err = d.follow(ctx, n.ID); err != nil {
		return "", err
	}
	if n.Counts.Delivered != 1 || n.Progress.Total != 1 {
		return "", fmt.Errorf("%s: %d of %d delivered, want the one post", n.ID, n.Counts.Delivered, n.Progress.Total)
	}
	return n.ID, nil
}

// follow waits for a notification to end, drawing its progress line.
func (d *demo) follow(ctx context.Context, id string) (api.Notification, error) {
	p := &progress{w: d.e.stdout, tty: isTerminal(d.e.stdout)}
	defer p.end()
	for {
		n, err := d.api.WaitNotification(ctx, id, time.Second)
		if err != nil {
			return n, apiError(d.heraldURL, err)
		}
		p.draw("      " + progressLine(n))
		if n.State.Final() {
			if n.State != herald.NotificationCompleted {
				return n, fmt.Errorf("%s ended %s", id, n.State)
			}
			return n, nil
		}
	}
}

// checkDeliveries checks every delivery of a notification in the
// emulator's record: the message it names is there, from the bot, showing
// title, and (when updated is set) updated in place. It returns how many
// it checked.
func (d *demo) checkDeliveries(ctx context.Context, id, title string, updated bool) (int, error) {
	checked := 0
	q := api.DeliveryQuery{Page: api.Page{Limit: 100}}
	for {
		l, err := d.api.Deliveries(ctx, id, q)
		if err != nil {
			return checked, apiError(d.heraldURL, err)
		}
		for _, dl := range l.Deliveries {
			if err := d.checkDelivery(dl, title, updated); err != nil {
				return checked, err
			}
			checked++
		}
		if l.Next == "" {
			return checked, nil
		}
		q.Cursor = l.Next
	}
}

func (d *demo) checkDelivery(dl herald.Delivery, title string, updated bool) error {
	who := dl.Recipient
	if dl.Email != "" {
		who = dl.Email
	}
	if dl.State != herald.DeliveryDelivered {
		return fmt.Errorf("delivery to %s is %s %s %s", who, dl.State, dl.Reason, dl.Error)
	}
	if dl.Updated != updated {
		return fmt.Errorf("delivery to %s: updated in place is %v, want %v", who, dl.Updated, updated)
	}
	a, ok := d.em.Activity(dl.ConversationID, dl.ActivityID)
	switch {
	case !ok:
		return fmt.Errorf("delivery to %s: message %s is not in conversation %s", who, dl.ActivityID, dl.ConversationID)
	case a.Direction != emulator.FromBot:
		return fmt.Errorf("delivery to %s: message %s is not from the bot", who, dl.ActivityID)
	case !bytes.Contains(a.Raw, []byte(title)):
		return fmt.Errorf("delivery to %s: message %s does not say %q", who, dl.ActivityID, title)
	}
	if dl.Kind == herald.KindChannel {
		d.postConv, d.postID = dl.ConversationID, dl.ActivityID
	}
	return nil
}
