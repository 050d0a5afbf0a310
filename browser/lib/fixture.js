'use strict';
// The conversation the suite writes as the bot, and what a person must be
// able to read of it afterwards. Every string is distinctive so that a check
// cannot pass by matching something else on the page.

// messages builds the activities the bot sends to user (a seeded user, to
// whom the bot's personal chat belongs).
function messages(user) {
  const mention = `<at>${user.name}</at>`;
  return {
    text: {
      type: 'message',
      text: `Welcome to Herald, ${mention}! Your notifications will arrive in this chat.`,
      entities: [{ type: 'mention', text: mention, mentioned: { id: user.id, name: user.name } }],
    },
    textVisible: 'Your notifications will arrive in this chat.',
    hero: {
      type: 'message',
      attachments: [{
        contentType: 'application/vnd.microsoft.card.hero',
        content: {
          title: 'Nightly deploy finished',
          subtitle: 'payments-api to production',
          text: 'All 42 release checks passed.',
          buttons: [
            { type: 'openUrl', title: 'Open dashboard', value: 'https://deploy.contoso.com/runs/118' },
            { type: 'imBack', title: 'Acknowledge deploy', value: 'ack 118' },
          ],
        },
      }],
    },
    adaptive: {
      type: 'message',
      attachments: [{
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          type: 'AdaptiveCard',
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          version: '1.5',
          body: [
            { type: 'TextBlock', text: 'Incident INC-4821 resolved', weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'TextBlock', text: 'Root cause: an expired certificate on the payments gateway.', wrap: true },
            {
              type: 'FactSet',
              facts: [
                { title: 'Service', value: 'payments-api' },
                { title: 'Severity', value: 'Sev 2' },
                { title: 'Duration', value: '14 minutes' },
                { title: 'Incident owner', value: 'Dana Okafor' },
              ],
            },
          ],
          actions: [{ type: 'Action.OpenUrl', title: 'View incident', url: 'https://status.contoso.com/incidents/INC-4821' }],
        },
      }],
    },
    edited: { type: 'message', text: 'Build 118 is running on 3 agents.' },
    editedNew: { type: 'message', text: 'Build 118 passed in 6 minutes.' },
    deleted: { type: 'message', text: 'Reminder: stand-up moved to 10:30 (sent by mistake).' },
    injection: {
      type: 'message',
      text: 'Markup check: <img src="x" onerror="window.__heraldInjected=1"><script>window.__heraldInjected=2</script> end.',
    },
    last: { type: 'message', text: 'That is all for today, see you tomorrow.' },
  };
}

module.exports = { messages };
