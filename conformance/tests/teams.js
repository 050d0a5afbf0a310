'use strict';
// Teams SDK v2 (@microsoft/teams.apps 2.1.0) judges the emulator: a second,
// independent validator of the emulator's channel tokens (it derives the
// JWKS URL from the metadata URL instead of reading the document), and its
// proactive app.send must land in the emulator's record.

const assert = require('node:assert/strict');
const { FORGED_KINDS, nonce, is2xx, assertBotStatus, findRequest, findActivity } = require('../lib/checks');

function register(h, { emulator, getApp }) {
  const s = {};
  const app = () => getApp();

  h.test('teams.apps accepts a personal install', async () => {
    const state = await emulator.state();
    s.tenantId = state.tenants[0].id;
    s.user = state.users[0];
    const before = app().activities.length;
    const answer = await emulator.call('POST', '/scenario/install/personal', { userId: s.user.id });
    assertBotStatus(answer, 'install/personal');
    const seen = app().activities.slice(before);
    assert.equal(seen.length, answer.botStatus.length, 'one handled activity per activity posted');
    for (const a of seen) {
      assert.equal(a.conversation.id, answer.conversationId);
      assert.equal(a.serviceUrl, emulator.serviceUrl);
    }
    assert.ok(
      seen.some((a) => a.type === 'conversationUpdate' && (a.membersAdded || []).some((m) => m.id === `28:${emulator.appId}`)),
      `no conversationUpdate adding the bot; saw ${JSON.stringify(seen.map((a) => a.type))}`
    );
    s.conversationId = answer.conversationId;
  });

  h.test('teams.apps runs its handler for a user message and its reply lands', async () => {
    const text = nonce('hi-teams');
    let sent;
    app().onMessage = async (ctx) => {
      sent = await ctx.send(`echo: ${ctx.activity.text}`);
    };
    const before = app().activities.length;
    const since = (await emulator.requests()).length;
    const answer = await emulator.call('POST', '/scenario/messages', { from: s.user.id, text });
    app().onMessage = null;
    assertBotStatus(answer, 'messages');
    const seen = app().activities.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].type, 'message');
    assert.equal(seen[0].text, text);
    assert.equal(seen[0].from.id, s.user.id);
    assert.ok(sent && sent.id, 'the reply got no id');
    findRequest(await emulator.requests(), since, 'POST', `/v3/conversations/${answer.conversationId}/activities`);
    const got = findActivity(await emulator.activities(answer.conversationId), sent.id, 'teams.apps reply').activity;
    assert.equal(got.text, `echo: ${text}`);
  });

  h.test('forge valid: teams.apps accepts it', async (ctx) => {
    const before = app().activities.length;
    const answer = await emulator.call('POST', '/scenario/forge', { kind: 'valid' });
    ctx.note(`forge valid -> app answered ${answer.status}`);
    assert.ok(is2xx(answer.status), `valid token answered ${answer.status}`);
    assert.equal(app().activities.length, before + 1, 'the handler ran once');
  });

  // teams.apps 2.1.0 does not check key endorsements (botbuilder does), so
  // a token signed by a published key that does not endorse msteams passes
  // there: that is the SDK's choice, not the emulator's.
  for (const kind of FORGED_KINDS.filter((k) => k !== 'no-endorsement')) {
    h.test(`forge ${kind}: teams.apps rejects it and the handler does not run`, async (ctx) => {
      const before = app().activities.length;
      const reqsBefore = app().requests.length;
      const answer = await emulator.call('POST', '/scenario/forge', { kind });
      ctx.note(`forge ${kind} -> app answered ${answer.status}`);
      const seen = app().requests.slice(reqsBefore);
      assert.equal(seen.length, 1, 'the emulator posted exactly one activity to the app');
      assert.equal(seen[0].status, answer.status, 'reported status is the app\'s');
      assert.ok(!is2xx(answer.status), `forged (${kind}) token accepted with ${answer.status}`);
      assert.equal(app().activities.length, before, 'the handler ran');
    });
  }

  h.test('teams.apps app.send delivers a proactive message', async () => {
    assert.ok(s.conversationId, 'needs the personal install');
    const text = nonce('teams-proactive');
    const since = (await emulator.requests()).length;
    const sent = await app().app.send(s.conversationId, text);
    assert.ok(sent && sent.id, 'app.send returned no id');
    findRequest(await emulator.requests(), since, 'POST', `/v3/conversations/${s.conversationId}/activities`);
    const got = findActivity(await emulator.activities(s.conversationId), sent.id, 'app.send message').activity;
    assert.equal(got.text, text);
    assert.ok(got.replyToId === undefined || got.replyToId === null || got.replyToId === '', 'a proactive send is not a reply');
    assert.ok(app().tokenCalls.length >= 1, 'the app never asked its token provider');
    assert.equal(app().tokenCalls[app().tokenCalls.length - 1].scope, 'https://api.botframework.com/.default');
  });
}

module.exports = { register };
