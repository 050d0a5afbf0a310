'use strict';
// botbuilder with its own MSAL credentials (what a production bot uses)
// against an emulator serving TLS: MSAL reads the emulator's MSAL-style
// OpenID metadata, runs the client-credentials grant, and botbuilder signs
// its Connector calls with the token MSAL returns.

const assert = require('node:assert/strict');
const { decodeJwt } = require('../lib/emulator');
const { nonce, assertBotStatus, findRequest, sendPath, findActivity } = require('../lib/checks');

function register(h, { emulator, getBot }) {
  const s = {};
  const bot = () => getBot();

  h.test('msal: botbuilder accepts a personal install from an emulator serving https', async () => {
    assert.match(emulator.base, /^https:/, 'this emulator should serve TLS');
    const state = await emulator.state();
    const user = state.users[0];
    const before = bot().turns.length;
    const answer = await emulator.call('POST', '/scenario/install/personal', { userId: user.id });
    assertBotStatus(answer, 'install/personal');
    const turns = bot().turns.slice(before);
    assert.equal(turns.length, answer.botStatus.length, 'one bot turn per activity posted');
    const added = turns.find(({ activity: a }) => a.type === 'conversationUpdate' && (a.membersAdded || []).some((m) => m.id === bot().botId));
    assert.ok(added, `no conversationUpdate adding the bot; saw ${JSON.stringify(turns.map((t) => t.activity.type))}`);
    assert.equal(added.activity.serviceUrl, emulator.serviceUrl);
    s.reference = added.reference;
    s.conversationId = answer.conversationId;
  });

  h.test("msal: botbuilder's MSAL credentials get a token and continueConversationAsync sends", async () => {
    assert.ok(s.reference, 'needs the install');
    const text = nonce('msal-proactive');
    const since = (await emulator.requests()).length;
    let sent;
    await bot().adapter.continueConversationAsync(bot().appId, s.reference, async (context) => {
      sent = await context.sendActivity(text);
    });
    assert.ok(sent && sent.id, 'no id for the proactive message');
    findRequest(await emulator.requests(), since, 'POST', sendPath(s.conversationId));
    assert.equal(findActivity(await emulator.activities(s.conversationId), sent.id, 'proactive message').activity.text, text);
    const tokens = bot().tokens;
    assert.ok(tokens.length >= 1, 'MSAL handed out no token');
    const t = tokens[tokens.length - 1];
    assert.equal(t.scope, 'https://api.botframework.com/.default');
    assert.equal(t.result.tokenType, 'Bearer');
    const { payload } = decodeJwt(t.token);
    assert.equal(payload.aud, 'https://api.botframework.com');
    assert.equal(payload.appid, bot().appId);
  });
}

module.exports = { register };
