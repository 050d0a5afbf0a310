'use strict';
// An independent Teams side (lib/teams-side.js, not Herald's emulator)
// judges `herald serve`: it plays install, member-added, @mention, invoke
// and uninstall events for the personal, team and group chat scopes (each
// token accepted by botbuilder first), asks Herald's API to notify each
// conversation, and checks what Herald posts through the side's Connector.

const assert = require('node:assert/strict');
const { TeamsSide } = require('../lib/teams-side');
const { Player } = require('../lib/teams-player');
const { HeraldAPI, poll } = require('../lib/herald-api');
const { nonce } = require('../lib/checks');

const SLOW = { timeoutMs: 150000 }; // per test; each wait inside has its own deadline
const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';

function register(h, { appId, appSecret, heraldUrl, apiKey, sidePort, topic }) {
  const side = new TeamsSide({ appId, appSecret });
  const herald = new HeraldAPI(heraldUrl, apiKey);
  let player = null;
  const w = {}; // the world
  const s = { nonces: [] }; // facts later tests use
  const play = () => {
    if (!player) throw new Error('the Teams side did not start (see setup)');
    return player;
  };
  const text = (e) => JSON.stringify(e.activity);
  const isNotification = (e) => s.nonces.some((n) => text(e).includes(n));
  // A welcome: a message of the bot that is neither an answer nor one of
  // the notifications sent here, and says welcome (every Herald welcome's
  // summary does).
  const isWelcome = (e) => !e.activity.replyToId && !isNotification(e) && /welcome/i.test(`${e.activity.summary || ''} ${text(e)}`);
  // Whether a message names the user (by full or given name; the given
  // names in this world are distinct).
  const names = (e, u) => text(e).includes(u.givenName);
  const welcomes = (convId) => side.botActivities(convId).filter(isWelcome);
  const teamWelcomes = () => w.team.channels.flatMap((c) => welcomes(c.id));

  const accepted = (answers, what) => {
    for (const a of [].concat(answers)) {
      assert.equal(a.botbuilder.accepted, true, `${what}: botbuilder accepted the token`);
      assert.equal(a.status, 200, `${what}: herald answered ${a.status} ${JSON.stringify(a.body)} to a ${a.activity.type}`);
    }
  };
  const waitWelcome = (what, convId, pick = () => true) =>
    poll(`${what} (bot messages there: ${convId ? side.botActivities(convId).length : 0})`, () => convId && welcomes(convId).find(pick));

  h.test('herald serve: the Teams side listens and herald serve is ready', async () => {
    await side.listen(sidePort);
    player = new Player({ side, botUrl: `${heraldUrl}/api/messages` });
    await herald.ready();
    w.paula = side.addUser('Paula Personal');
    w.tom = side.addUser('Tom Owner');
    w.tina = side.addUser('Tina Member');
    w.nate = side.addUser('Nate Newcomer');
    w.gary = side.addUser('Gary Chatter');
    w.gina = side.addUser('Gina Chatter');
    w.nick = side.addUser('Nick Newcomer');
    w.team = side.addTeam('Fabrikam Ops', ['Announcements'], [w.tom, w.tina]);
    w.general = w.team.id;
    w.announcements = w.team.channels[1].id;
    w.chat = side.addGroupChat([w.gary, w.gina]);
  }, SLOW);

  h.test('herald serve: botbuilder rejects a token signed with another key, and Herald answers 401', async (ctx) => {
    const since = side.mark();
    const a = await play().post({ type: 'message', text: 'help', from: play().account(w.paula),
      conversation: play().personalConversation(w.paula), channelData: play().tenant() }, { forged: true });
    assert.equal(a.botbuilder.accepted, false, 'botbuilder accepted a token signed with a key the side never published');
    ctx.note(`botbuilder: ${a.botbuilder.error && a.botbuilder.error.message}; herald: ${a.status} ${JSON.stringify(a.body).slice(0, 160)}`);
    assert.equal(a.status, 401, `herald answered ${a.status} ${JSON.stringify(a.body)}`);
    // Herald may fetch the keys to find that out, and must do nothing else.
    const calls = side.calls.filter((c) => c.seq > since && !c.path.startsWith('/v1/.well-known/'));
    assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), [], 'calls to the side after the forged activity');
  }, SLOW);

  // --- installs -------------------------------------------------------------

  h.test('herald serve: personal install accepted and welcomed in the personal chat', async () => {
    accepted(await play().installPersonal(w.paula), 'personal install');
    await waitWelcome('a welcome in the personal chat', w.paula.personalConversationId);
  }, SLOW);

  h.test('herald serve: team install accepted and welcomed in the selected channel', async () => {
    accepted(await play().installTeam(w.team, w.announcements, w.tom), 'team install');
    await waitWelcome('a team welcome in the selected channel', w.announcements);
  }, SLOW);

  h.test("herald serve: Herald reads the team's details, channels and roster through the Connector", async () => {
    const ok = (re) => side.calls.some((c) => c.method === 'GET' && re.test(decodeURIComponent(c.path)) && c.status === 200);
    const id = w.team.id;
    assert.ok(ok(new RegExp(`^/teams/v3/teams/${esc(id)}$`)), 'no GET /v3/teams/{team id}');
    assert.ok(ok(new RegExp(`^/teams/v3/teams/${esc(id)}/conversations$`)), 'no GET /v3/teams/{team id}/conversations');
    assert.ok(ok(new RegExp(`^/teams/v3/conversations/${esc(id)}/pagedmembers$`)), 'no GET /v3/conversations/{team id}/pagedmembers');
  }, SLOW);

  h.test('herald serve: group chat install accepted and welcomed in the chat', async () => {
    accepted(await play().installGroupChat(w.chat, w.gary), 'group chat install');
    await waitWelcome('a welcome in the group chat', w.chat.id);
  }, SLOW);

  // --- members added later ------------------------------------------------------

  h.test('herald serve: a member added to the team is welcomed in the team and personally', async () => {
    accepted(await play().addTeamMember(w.team, w.nate, w.tom), 'team member added');
    await poll('a welcome naming the new member in a team channel', () => teamWelcomes().find((e) => names(e, w.nate)));
    await waitWelcome('a personal welcome to the new member (a 1:1 chat Herald creates)', w.nate.personalConversationId);
  }, SLOW);

  // Nick has Herald in no personal scope and no team of his: the group
  // chat install does not let the bot open a 1:1 chat with him, so he is
  // welcomed in the chat alone, and Herald does not try a doomed 1:1.
  h.test('herald serve: a member added to the group chat is welcomed in the chat, and not in a 1:1 chat Teams would refuse', async () => {
    const since = side.mark();
    accepted(await play().addGroupChatMember(w.chat, w.nick, w.gary), 'group chat member added');
    await waitWelcome('a welcome naming the new member in the group chat', w.chat.id, (e) => names(e, w.nick));
    const creates = side.calls.filter((c) => c.seq > since && c.method === 'POST' && /\/v3\/conversations$/.test(c.path));
    assert.deepEqual(creates.map((c) => c.path), [], 'Herald tried to open a 1:1 chat with an unreachable member');
  }, SLOW);

  // --- @mentions ------------------------------------------------------------------

  h.test('herald serve: an @mention in a channel is answered in its thread', async () => {
    const a = await play().mention({ team: w.team, channelId: w.announcements }, w.tina, 'help');
    accepted(a, 'channel @mention');
    s.channelMention = a.activity.id;
    const reply = await poll('an answer in the thread of the @mention', () =>
      side.botActivities(w.announcements).find((e) => e.threadId === s.channelMention));
    assert.ok(reply.postedTo.endsWith(`;messageid=${s.channelMention}`) || reply.route === 'reply',
      `the answer was posted to ${reply.postedTo} (${reply.route}), not into the thread`);
  }, SLOW);

  h.test('herald serve: an @mention in a group chat is answered in the chat, replying to it', async () => {
    const a = await play().mention({ chat: w.chat }, w.gina, 'help');
    accepted(a, 'group chat @mention');
    await poll('an answer in the group chat with replyToId the @mention', () =>
      side.botActivities(w.chat.id).find((e) => e.replyToId === a.activity.id));
  }, SLOW);

  // --- notifications while installed ------------------------------------------

  // notify sends a notification with a fresh marker and waits until it
  // completes; it returns {marker, n} (n: the notification, or the refusal).
  const notify = async (audience, { withTopic = true } = {}) => {
    const marker = nonce('conformance');
    s.nonces.push(marker);
    const req = { audience, title: marker, content: { structured: { title: `Deploy ${marker}`, details: `Release ${marker} is live.` } } };
    if (withTopic) req.topic = topic;
    const res = await herald.notify(req);
    assert.equal(res.status, 202, `POST /v1/notifications ${JSON.stringify(audience)}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return { marker, n: await herald.completed(res.body.id) };
  };
  const delivered = async (what, audience, convIds, pick = () => true) => {
    const { marker, n } = await notify(audience);
    const states = n.deliveries.map((d) => `${d.recipient}: ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
    assert.ok(n.deliveries.length > 0 && n.deliveries.every((d) => d.state === 'delivered'), `${what}: deliveries ${JSON.stringify(states)}`);
    const found = [];
    for (const id of convIds()) {
      const e = side.botActivities(id).find((x) => text(x).includes(marker) && pick(x));
      assert.ok(e, `${what}: nothing with ${marker} posted in ${id} (deliveries ${JSON.stringify(states)})`);
      found.push(e);
    }
    return found;
  };

  h.test('herald serve: a notification to a user by id reaches their personal chat', async () => {
    [s.personalCard] = await delivered('by user', { users: [w.paula.id] }, () => [w.paula.personalConversationId]);
  }, SLOW);

  h.test("herald serve: a notification to a team reaches each member's personal chat", async () => {
    await delivered('by team', { teams: [w.team.id] }, () => [w.tom, w.tina, w.nate].map((u) => u.personalConversationId));
  }, SLOW);

  h.test('herald serve: a notification to a channel posts in that channel', async () => {
    [s.channelCard] = await delivered('by channel', { channels: [{ team: w.team.id, channel: w.announcements }] }, () => [w.announcements]);
  }, SLOW);

  h.test('herald serve: a notification to a personal chat by conversation id reaches it', async () => {
    await delivered('personal chat by id', { conversations: [w.paula.personalConversationId] }, () => [w.paula.personalConversationId]);
  }, SLOW);

  h.test('herald serve: a notification to a group chat by conversation id reaches it', async () => {
    [s.chatCard] = await delivered('group chat by id', { conversations: [w.chat.id] }, () => [w.chat.id]);
  }, SLOW);

  h.test('herald serve: a notification to a channel by conversation id reaches it', async () => {
    await delivered('General by id', { conversations: [w.general] }, () => [w.general]);
    await delivered('Announcements by id', { conversations: [w.announcements] }, () => [w.announcements]);
  }, SLOW);

  h.test('herald serve: a notification to a thread by conversation id replies in that thread', async () => {
    assert.ok(s.channelMention, 'needs the channel @mention');
    await delivered('thread by id', { conversations: [`${w.announcements};messageid=${s.channelMention}`] }, () => [w.announcements],
      (e) => e.threadId === s.channelMention);
  }, SLOW);

  // --- Action.Execute -------------------------------------------------------------

  // clickOptOut plays an Action.Execute on the opt-out button of the card
  // in entry (or, without one, on Herald's opt-out data) and checks the
  // answer is an updated card.
  const clickOptOut = async (entry, fallbackConvId, conversation, channelData, u) => {
    const card = entry || side.botActivities(fallbackConvId).filter((e) => !e.deleted).pop();
    const action = (card && optOutAction(card.activity)) || { verb: 'optout', data: { herald: 'optout', topics: topic } };
    const a = await play().invoke(conversation(card), channelData, u, card && card.id, action);
    assert.equal(a.botbuilder.accepted, true, 'botbuilder accepted the token');
    assert.equal(a.status, 200, `invoke answered HTTP ${a.status}`);
    assert.match(a.contentType, /^application\/json/, `invoke answer content type ${a.contentType}`);
    const b = a.body;
    assert.ok(b && typeof b === 'object', `invoke answer body ${JSON.stringify(b)}`);
    assert.equal(b.statusCode, 200, `invoke answer ${JSON.stringify(b).slice(0, 300)}`);
    assert.equal(b.type, ADAPTIVE, `invoke answer type ${b.type}`);
    assert.ok(b.value && b.value.type === 'AdaptiveCard', `invoke answer value is not an Adaptive Card: ${JSON.stringify(b.value).slice(0, 300)}`);
  };

  h.test('herald serve: an Action.Execute in the personal chat is answered with a card', async () => {
    await clickOptOut(s.personalCard, w.paula.personalConversationId, () => play().personalConversation(w.paula), play().tenant(), w.paula);
  }, SLOW);

  h.test('herald serve: an Action.Execute in a channel is answered with a card', async () => {
    const thread = (card) => play().channelConversation(w.team, `${w.announcements};messageid=${card ? card.threadId : s.channelMention}`);
    await clickOptOut(s.channelCard, w.announcements, thread, play().teamData(w.team, { channel: { id: w.announcements } }), w.tina);
  }, SLOW);

  h.test('herald serve: an Action.Execute in a group chat is answered with a card', async () => {
    await clickOptOut(s.chatCard, w.chat.id, () => play().chatConversation(w.chat), play().tenant(), w.gina);
  }, SLOW);

  // --- uninstalls, then nothing more ------------------------------------------

  h.test('herald serve: uninstalls from the personal chat, the team and the group chat are accepted', async () => {
    accepted(await play().uninstallPersonal(w.paula), 'personal uninstall');
    accepted(await play().uninstallTeam(w.team, w.tom), 'team uninstall');
    accepted(await play().uninstallGroupChat(w.chat, w.gary), 'group chat uninstall');
    s.uninstalled = side.mark();
  }, SLOW);

  const notDelivered = async (what, audience) => {
    assert.ok(s.uninstalled !== undefined, 'needs the uninstalls');
    const { marker, n } = await notify(audience, { withTopic: false });
    const states = n.deliveries.map((d) => `${d.recipient}: ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
    assert.ok(n.deliveries.length > 0, `${what}: no deliveries at all`);
    assert.ok(n.deliveries.every((d) => d.state === 'skipped' || d.state === 'failed'), `${what}: deliveries ${JSON.stringify(states)}`);
    const posted = side.entries.filter((e) => e.from === 'bot' && text(e).includes(marker));
    assert.deepEqual(posted.map((e) => e.conversationId), [], `${what}: posted after the uninstall`);
  };

  h.test('herald serve: after the uninstalls, notifications by user, team and channel are not delivered', async () => {
    await notDelivered('by user', { users: [w.paula.id] });
    await notDelivered('by team', { teams: [w.team.id] });
    await notDelivered('by channel', { channels: [{ team: w.team.id, channel: w.announcements }] });
  }, SLOW);

  h.test('herald serve: after the uninstalls, a notification to the personal chat by id is not delivered', async () => {
    await notDelivered('personal chat by id', { conversations: [w.paula.personalConversationId] });
  }, SLOW);

  h.test('herald serve: after the uninstalls, a notification to the group chat by id is not delivered', async () => {
    await notDelivered('group chat by id', { conversations: [w.chat.id] });
  }, SLOW);

  h.test('herald serve: after the uninstalls, notifications to the channels and a thread by id are not delivered', async () => {
    await notDelivered('General by id', { conversations: [w.general] });
    await notDelivered('Announcements by id', { conversations: [w.announcements] });
    await notDelivered('thread by id', { conversations: [`${w.announcements};messageid=${s.channelMention}`] });
  }, SLOW);

  h.test('herald serve: nothing was posted anywhere after the uninstalls', async () => {
    assert.ok(s.uninstalled !== undefined, 'needs the uninstalls');
    const after = side.entries.filter((e) => e.from === 'bot' && e.seq > s.uninstalled);
    assert.deepEqual(after.map((e) => `${e.conversationId}: ${text(e).slice(0, 120)}`), []);
  }, SLOW);

  // --- over the whole run ------------------------------------------------------

  // Counted at the end, so a welcome sent twice has had time to show.
  const once = (what, list) => assert.equal(list.length, 1, `${what}: ${list.length} welcomes ${JSON.stringify(list.map((e) => e.id))}`);

  h.test('herald serve: the personal install was welcomed exactly once', async () => {
    once('personal chat', welcomes(w.paula.personalConversationId));
  }, SLOW);

  h.test('herald serve: the team install was welcomed exactly once', async () => {
    once('team channels', teamWelcomes().filter((e) => !names(e, w.nate)));
  }, SLOW);

  h.test('herald serve: the group chat install was welcomed exactly once', async () => {
    once('group chat', welcomes(w.chat.id).filter((e) => !names(e, w.nick)));
  }, SLOW);

  h.test('herald serve: the member added to the team was welcomed exactly once in the team and once personally', async () => {
    once('team channels', teamWelcomes().filter((e) => names(e, w.nate)));
    once('personal chat', w.nate.personalConversationId ? welcomes(w.nate.personalConversationId) : []);
  }, SLOW);

  h.test('herald serve: the member added to the group chat was welcomed exactly once, in the chat', async () => {
    once('group chat', welcomes(w.chat.id).filter((e) => names(e, w.nick)));
    assert.ok(!w.nick.personalConversationId, 'a 1:1 chat with the unreachable member exists');
  }, SLOW);

  h.test("herald serve: Herald's Connector calls carried tokens the side issued and none was unexpected or malformed", async (ctx) => {
    const grants = side.calls.filter((c) => c.path.endsWith('/oauth2/v2.0/token'));
    assert.ok(grants.length > 0 && side.tokens.length > 0, 'Herald never asked the token endpoint');
    for (const g of grants) {
      assert.deepEqual({ grant: g.body.grant_type, client: g.body.client_id, scope: g.body.scope, tenant: g.body.tenant },
        { grant: 'client_credentials', client: appId, scope: 'https://api.botframework.com/.default', tenant: 'botframework.com' });
    }
    assert.ok(side.calls.some((c) => c.path.startsWith('/teams/v3/')), 'Herald made no Connector call');
    assert.deepEqual(side.problems, [], 'calls Teams would refuse');
    ctx.note(`${play().validated} activities played, each token accepted by botbuilder first; ${side.calls.length} calls to the side, ${grants.length} token grants`);
  }, SLOW);

  return { side, close: () => side.close() };
}

// optOutAction finds the opt-out button on a card Herald posted: an
// Action.Execute (its verb and data) or an Action.Submit (its data), marked
// by Herald's submit key ({"herald": "optout"}, card/submit.go) or an
// opt-out verb.
function optOutAction(activity) {
  let found = null;
  const visit = (v) => {
    if (found || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const optOut = (v.data && v.data.herald === 'optout') || /^(herald[.:/])?opt-?out$/i.test(String(v.verb || ''));
    if ((v.type === 'Action.Execute' || v.type === 'Action.Submit') && optOut) {
      found = { verb: v.verb || (v.data && v.data.verb) || 'optout', data: v.data || {} };
      return;
    }
    Object.values(v).forEach(visit);
  };
  visit(activity.attachments);
  return found;
}

function esc(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

module.exports = { register };
