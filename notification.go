package herald

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"herald/botframework"
)

// NotificationState is where a notification is in its life.
type NotificationState string

// Notification states. A notification is scheduled until its SendAt, then
// expanding while its audience is turned into deliveries, then sending
// until every delivery is final; it ends completed or cancelled.
const (
	NotificationScheduled NotificationState = "scheduled"
	NotificationExpanding NotificationState = "expanding"
	NotificationSending   NotificationState = "sending"
	NotificationCompleted NotificationState = "completed"
	NotificationCancelled NotificationState = "cancelled"
)

// Final reports whether the notification will not change any more by
// itself (Retry can still reopen a completed one).
func (s NotificationState) Final() bool {
	return s == NotificationCompleted || s == NotificationCancelled
}

// Priority orders work between notifications. High priority work (welcome
// messages, one-to-one alerts) runs in its own queue and is served before
// bulk work of the same tenant, so it is never stuck behind a broadcast.
type Priority string

// Priorities. PriorityAuto (the empty string) means high for an audience
// of at most AutoHighMaxRecipients explicitly named users and no teams,
// tenants or topics, and normal otherwise.
const (
	PriorityAuto   Priority = ""
	PriorityHigh   Priority = "high"
	PriorityNormal Priority = "normal"
)

// AutoHighMaxRecipients is the largest list of users PriorityAuto treats as
// high priority.
const AutoHighMaxRecipients = 10

// Content is what a notification says. Text and Attachments may contain
// placeholders {{name}}: {{name}}, {{givenName}}, {{email}} and {{userId}}
// are the recipient's, and any other name is looked up in the request's
// Variables and then in the recipient's RecipientVariables. Placeholders with
// no value are left as written.
type Content struct {
	// Text is the message text.
	Text string `json:"text,omitempty"`
	// TextFormat is "markdown" (the default for Teams), "plain" or "xml".
	TextFormat string `json:"textFormat,omitempty"`
	// Summary is the text shown in notifications and previews.
	Summary string `json:"summary,omitempty"`
	// Attachments are cards (Adaptive, hero, ...), sent as given.
	Attachments []botframework.Attachment `json:"attachments,omitempty"`
	// AttachmentLayout is "list" or "carousel".
	AttachmentLayout string `json:"attachmentLayout,omitempty"`
}

// MaxContentBytes bounds the encoded content of a notification. Teams takes
// about 100 KB per message; the bound leaves room for placeholders.
const MaxContentBytes = 256 << 10

// Empty reports whether the content has nothing to show.
func (c Content) Empty() bool { return strings.TrimSpace(c.Text) == "" && len(c.Attachments) == 0 }

// NotificationRequest is the input of Engine.Send.
type NotificationRequest struct {
	// IdempotencyKey, when set, makes Send return the notification created
	// earlier with the same key instead of creating (and fanning out)
	// another.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Key, when set, makes the notification update in place: in each
	// conversation where a message was sent earlier under the same key,
	// that message is updated instead of a new one being posted. Channel
	// threads posted under a key can later be replied to (Audience.Replies).
	Key string `json:"key,omitempty"`
	// Title names the notification in lists; it is not sent.
	Title string `json:"title,omitempty"`
	// Audience is who receives it.
	Audience Audience `json:"audience"`
	// Content is what they receive.
	Content Content `json:"content"`
	// Topic is the notification's topic; recipients who opted out of it
	// (or of every topic) are skipped unless Critical.
	Topic string `json:"topic,omitempty"`
	// Critical marks the topic critical: opt-outs do not apply.
	Critical bool `json:"critical,omitempty"`
	// Alert raises an activity-feed notification in Teams for personal
	// messages (channelData.notification.alert).
	Alert bool `json:"alert,omitempty"`
	// Priority orders the work; see Priority.
	Priority Priority `json:"priority,omitempty"`
	// SendAt delays the send; zero means now.
	SendAt time.Time `json:"sendAt,omitzero"`
	// AtLeastOnce resends deliveries whose outcome is uncertain (the
	// process died or the call timed out after the request may have
	// reached Teams) instead of marking them uncertain. Recipients may then
	// see a message twice.
	AtLeastOnce bool `json:"atLeastOnce,omitempty"`
	// Deadline bounds retries: a delivery still not sent this long after
	// SendAt (or creation) fails. Zero means the engine's default.
	Deadline time.Duration `json:"deadline,omitempty"`
	// Variables fill placeholders for every recipient.
	Variables map[string]string `json:"variables,omitempty"`
	// RecipientVariables fill placeholders per recipient, keyed by the
	// identifier as written in Audience.Users.
	RecipientVariables map[string]map[string]string `json:"recipientVariables,omitempty"`
}

// Validate checks the request before anything is stored. Its error wraps
// ErrInvalid and holds a [*FieldError] for each problem, in field order.
func (r NotificationRequest) Validate() error {
	var errs []error
	if r.Content.Empty() {
		errs = append(errs, fieldError("content", "text or attachments required"))
	}
	if b, err := json.Marshal(r.Content); err != nil {
		errs = append(errs, fieldError("content", "%v", err))
	} else if len(b) > MaxContentBytes {
		errs = append(errs, fieldError("content", "%d bytes, more than %d", len(b), MaxContentBytes))
	}
	switch r.Content.TextFormat {
	case "", botframework.TextFormatMarkdown, botframework.TextFormatPlain, botframework.TextFormatXML:
	default:
		errs = append(errs, fieldError("content.textFormat", "%q is not markdown, plain or xml", r.Content.TextFormat))
	}
	switch r.Priority {
	case PriorityAuto, PriorityHigh, PriorityNormal:
	default:
		errs = append(errs, fieldError("priority", "%q is not high or normal", r.Priority))
	}
	if r.Deadline < 0 {
		errs = append(errs, fieldError("deadline", "negative"))
	}
	for _, f := range []struct{ name, value string }{
		{"idempotencyKey", r.IdempotencyKey}, {"key", r.Key}, {"topic", r.Topic}, {"title", r.Title},
	} {
		switch {
		case len(f.value) > 512 || !utf8.ValidString(f.value):
			errs = append(errs, fieldError(f.name, "at most 512 bytes of UTF-8"))
		case HasControl(f.value):
			errs = append(errs, fieldError(f.name, "contains a control character"))
		}
	}
	errs = append(errs, r.nulProblems()...)
	errs = append(errs, r.Audience.problems()...)
	return invalid(errs...)
}

// ResolvedPriority applies PriorityAuto.
func (r NotificationRequest) ResolvedPriority() Priority {
	if r.Priority != PriorityAuto {
		return r.Priority
	}
	a := r.Audience
	if len(a.Users) > 0 && len(a.Users) <= AutoHighMaxRecipients &&
		len(a.Teams)+len(a.Tenants)+len(a.Topics)+len(a.Channels)+len(a.Replies)+len(a.Conversations) == 0 {
		return PriorityHigh
	}
	return PriorityNormal
}

// Notification is a stored notification: the request as accepted plus its
// state. Its deliveries are listed with Engine.Deliveries.
type Notification struct {
	// ID is assigned on creation ("n_" + 26 characters).
	ID string `json:"id"`
	// Request is what was asked, with Priority resolved.
	Request NotificationRequest `json:"request"`
	// State is where the notification is in its life.
	State NotificationState `json:"state"`
	// Expanded is true once every delivery of the audience is recorded.
	Expanded bool `json:"expanded"`
	// Cursor is the expansion's resume point (internal).
	Cursor string `json:"-"`
	// CreatedBy is the API key that asked for it; empty for the bot's
	// own notifications (welcomes) and those from before keys were
	// recorded.
	CreatedBy Creator `json:"createdBy,omitzero"`
	// CreatedAt, UpdatedAt and CompletedAt are the record's times.
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
	// Counts are the deliveries per state, filled by Engine.Get.
	Counts Counts `json:"counts"`
	// Progress is filled by Engine.Get.
	Progress Progress `json:"progress"`
}

// NotBefore is when sending may start: SendAt, or CreatedAt.
func (n Notification) NotBefore() time.Time {
	if n.Request.SendAt.After(n.CreatedAt) {
		return n.Request.SendAt
	}
	return n.CreatedAt
}

// Counts are deliveries per state.
type Counts struct {
	Pending   int `json:"pending"`
	Sending   int `json:"sending"`
	Delivered int `json:"delivered"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
	Uncertain int `json:"uncertain"`
}

// Total is the number of deliveries.
func (c Counts) Total() int {
	return c.Pending + c.Sending + c.Delivered + c.Skipped + c.Failed + c.Cancelled + c.Uncertain
}

// Open is the number of deliveries not yet final (pending or sending).
func (c Counts) Open() int { return c.Pending + c.Sending }

// Add adds n deliveries in state s.
func (c *Counts) Add(s DeliveryState, n int) {
	switch s {
	case DeliveryPending:
		c.Pending += n
	case DeliverySending:
		c.Sending += n
	case DeliveryDelivered:
		c.Delivered += n
	case DeliverySkipped:
		c.Skipped += n
	case DeliveryFailed:
		c.Failed += n
	case DeliveryCancelled:
		c.Cancelled += n
	case DeliveryUncertain:
		c.Uncertain += n
	}
}

// Progress summarises how far a notification is and when it should end.
type Progress struct {
	// Done is the fraction of deliveries that are final, in [0, 1]; 0
	// while the audience is still being expanded and nothing is final.
	Done float64 `json:"done"`
	// Remaining is the pacing-limited time still needed for the open
	// deliveries (the busiest tenant at its rate), zero when none are
	// open.
	Remaining time.Duration `json:"remaining"`
	// ETA is when the notification should finish: now + Remaining, or the
	// completion time once final; zero while unknown (still expanding or
	// scheduled).
	ETA time.Time `json:"eta,omitzero"`
}

// RetryOptions says which deliveries Retry reopens.
type RetryOptions struct {
	// Uncertain also resends deliveries whose outcome is uncertain, which
	// may reach their recipient twice.
	Uncertain bool
}
