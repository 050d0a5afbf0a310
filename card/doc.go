// Package card builds and checks the content Herald sends to Microsoft
// Teams: notification cards that follow Teams' guidance, and validation of
// cards that callers bring themselves.
//
// # Structured notifications
//
// Teams asks that a notification say what happened, what it happened to,
// who did it, what the reader can do about it, and how to opt out of
// further notifications. A [Structured] notification has a field for each;
// [Render] turns it into an Adaptive Card (version 1.5) attachment with an
// accent-coloured header, a subject line, an actor line, details, facts,
// buttons and an opt-out button added from the topic. [Lint] names the parts
// a notification lacks; [RenderOptions.Strict] makes [Render] refuse them.
//
// The opt-out button is an Action.Submit whose data is
//
//	{"herald": "optout", "topics": "<topic>"}
//
// When someone presses it, Teams sends the bot a message activity whose
// value is that object; [ParseSubmit] recognises it.
//
// # The bot's own cards
//
// A [Message] is a card the bot sends for itself rather than for a caller:
// a welcome, or the answer to a command. It is a heading and paragraphs,
// then optionally facts, a [TopicPicker] and buttons that open a page or
// type a command; [RenderMessage] lays it out. The picker's button sends
// the reader's choices as one opt-out that [ParseSubmit] recognises, so
// the bot reads it and a notification's opt-out button the same way.
//
// # Placeholders
//
// Text may hold per-recipient placeholders such as {{name}}, filled in later
// by the delivery engine, after rendering. Rendering keeps them as written:
// the JSON encoding never escapes braces, and nothing in this package
// rewrites text. Dates and times go into the card as Adaptive Cards'
// {{DATE(…)}} and {{TIME(…)}} functions so each reader's Teams shows them in
// their own time zone; the engine leaves those alone, since they are not
// valid placeholder names.
//
// # Bring your own card
//
// [ValidateAdaptiveCard] and [ValidateHeroCard] check caller-supplied cards
// before anything is queued: the card type, an Adaptive Card schema version
// Teams renders (at most 1.5), at most six actions (Teams Store guidance),
// and a size that stays under [MaxCardBytes]. Problems are reported as a
// [*ValidationError] naming the field at fault.
package card
