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
// # Herald's own buttons: Universal Actions
//
// The opt-out button, the topic picker's button, the topics card's toggles
// and a [Button] with Submit set are Herald's own. Each is an
// Action.Execute (Universal Actions; card version 1.5) whose verb names
// what it does and whose data is, for the opt-out,
//
//	{"herald": "optout", "topics": "<topic>"}
//
// with an Action.Submit fallback, for clients without Universal Actions,
// carrying the same data plus the verb ({"verb": "optout", ...}). Pressed,
// the first reaches the bot as an adaptiveCard/action invoke whose action
// data is that object, which the bot answers with a card for the person who
// pressed; the fallback reaches it as a message activity whose value is
// that object. [ParseSubmit] reads both alike, so the bot handles each
// button once. A caller's own buttons ([Action] with Data) stay
// Action.Submit, and buttons that type a command stay imBack submits: their
// answer is a message in the chat, not a card for one person.
//
// A [Message] may carry a [Refresh]: Teams then asks the bot for a fresh
// copy (an invoke with verb [VerbRefresh], trigger "automatic", and the
// refresh's data) whenever one of its [Refresh.UserIDs] (at most
// [MaxRefreshUsers]) sees it, and shows that person the card the bot
// answers. The bot uses it where a card shows the reader's own state: the
// topics card ([SubmitTopicsCard]) and the card answering an opt-out
// ([SubmitOptOutCard]).
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
// Teams renders (at most 1.5, and exactly 1.5 for a card with a refresh or
// an Action.Execute), a refresh for at most [MaxRefreshUsers] people, at
// most six actions (Teams Store guidance), and a size that stays under
// [MaxCardBytes]. Problems are reported as a
// [*ValidationError] naming the field at fault.
package card
