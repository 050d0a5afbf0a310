'use strict';
// botbuilder 4.23 judges the emulator: it must accept the emulator's
// channel tokens, reject the deliberately forged ones, and every Connector
// call the SDK makes with the emulator's outbound tokens must succeed and
// show up in the emulator's record.

const assert = require('node:assert/strict');
const { TeamsInfo, TurnContext } = require('botbuilder');
const { decodeJwt, waitFor } = require('../lib/emulator');
const { FORGED_KINDS, nonce, is2xx, assertBotStatus, findRequest, sendPath, findActivity } = require('../lib/checks');

const BF_SCOPE = 'https://api.botframework.com';

function register(h, { emulator, getBot }) {
  // Facts learned by earlier tests and used by later ones.
  const s = {};
  const bot = () => getBot();

  h.test('contract: demo seed has a tenant, contoso users and three teams', async () => {
    const state = await emulator.state();
    assert.ok(Array.isArray(state.tenants) && state.tenants.length >= 1, 'state.tenants is empty');
    assert.ok(Array.isArray(state.users) && state.users.length >= 40, `want ~50 seeded users, got ${state.users && state.users.length}`);
    assert.ok(Array.isArray(state.teams) && state.teams.length === 3, `want 3 seeded teams, got ${state.teams && state.teams.length}`);
    s.tenantId = state.tenants[0].id;
    assert.equal(typeof s.tenantId, 'string');
    const alice = state.users[0];
    assert.equal(alice.email, 'alice@contoso.com', 'the first seeded user is alice@contoso.com');
    for (const u of state.users) {
      assert.match(u.id, /^29:/, `user id ${u.id} is not a 29: id`);
      assert.ok(u.aadObjectId, `user ${u.id} has no aadObjectId`);
      // Guests keep their home address (the demo's is yusuf@adatum.com).
      if (!u.guest) assert.match(String(u.email), /@contoso\.com$/, `user ${u.id} email ${u.email}`);
      assert.equal(u.tenantId, s.tenantId, `user ${u.id} tenant`);
    }
    for (const t of state.teams) {
      assert.match(t.id, /^19:.*@thread\.tacv2$/, `team id ${t.id}`);
      assert.ok(Array.isArray(t.channels) && t.channels.length >= 2 && t.channels.length <= 3, `team ${t.id} has ${t.channels && t.channels.length} channels, want 2-3`);
      assert.ok(Array.isArray(t.members) && t.members.length > 0, `team ${t.id} has no members`);
      assert.ok(t.aadGroupId, `team ${t.id} has no aadGroupId`);
    }
    s.state = state;
    s.alice = alice;
    s.team = state.teams[0];
  });

  h.test('contract: channel OpenID metadata and JWKS are what botbuilder reads', async () => {
    const meta = await emulator.call('GET', '/v1/.well-known/openidconfiguration');
    assert.equal(meta.issuer, 'https://api.botframework.com');
    assert.equal(meta.jwks_uri, emulator.keysUrl);
    assert.ok((meta.id_token_signing_alg_values_supported || []).includes('RS256'), 'RS256 not in id_token_signing_alg_values_supported');
    const jwks = await emulator.call('GET', '/v1/.well-known/keys');
    assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'JWKS has no keys');
    // Microsoft publishes keys for several channels; each lists the channels
    // it endorses. At least one must endorse msteams.
    for (const k of jwks.keys) {
      assert.equal(k.kty, 'RSA');
      assert.ok(k.kid && k.n && k.e && k.x5t, `key lacks kid/n/e/x5t: ${JSON.stringify(k)}`);
      assert.ok(Array.isArray(k.endorsements) && k.endorsements.length > 0, `key ${k.kid} endorsements ${JSON.stringify(k.endorsements)}`);
    }
    assert.ok(jwks.keys.some((k) => k.endorsements.includes('msteams')), 'no key endorses msteams');
  });

  h.test('contract: token endpoint issues Bot Framework tokens and refuses a bad secret', async () => {
    const body = await emulator.accessToken({ scope: `${BF_SCOPE}/.default` });
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(body.ext_expires_in, 3600);
    const { header, payload } = decodeJwt(body.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.aud, BF_SCOPE);
    assert.equal(payload.appid, emulator.appId);
    assert.match(String(payload.iss), /^https:\/\/(sts\.windows\.net\/[^/]+\/|login\.microsoftonline\.com\/[^/]+\/v2\.0)$/);
    assert.ok(payload.tid, 'token has no tid');
    assert.ok(payload.exp > Date.now() / 1000, 'token already expired');
    const bad = await emulator.token({ clientSecret: 'not-the-secret' });
    assert.equal(bad.status, 401, `bad secret: HTTP ${bad.status} ${JSON.stringify(bad.body)}`);
    assert.equal(bad.body && bad.body.error, 'invalid_client');
    const meta = await emulator.call('GET', '/botframework.com/v2.0/.well-known/openid-configuration');
    assert.equal(meta.token_endpoint, emulator.tokenUrl('botframework.com'));
  });

  h.test('botbuilder accepts a personal install and sees the bot added', async () => {
    const before = bot().turns.length;
    const answer = await emulator.call('POST', '/scenario/install/personal', { userId: s.alice.id });
    assertBotStatus(answer, 'install/personal');
    assert.match(String(answer.conversationId), /^a:/, 'personal conversation id');
    const turns = bot().turns.slice(before);
    assert.equal(turns.length, answer.botStatus.length, 'one bot turn per activity posted');
    for (const { activity: a } of turns) {
      assert.equal(a.channelId, 'msteams');
      assert.equal(a.serviceUrl, emulator.serviceUrl);
      assert.equal(a.conversation.id, answer.conversationId);
      assert.equal(a.conversation.tenantId, s.tenantId);
      assert.equal(a.recipient.id, bot().botId);
      assert.equal(a.channelData && a.channelData.tenant && a.channelData.tenant.id, s.tenantId);
      assert.equal(a.callerId, 'urn:botframework:azure', 'botbuilder stamps callerId only on authenticated channel activities');
    }
    const added = turns.find(({ activity: a }) => a.type === 'conversationUpdate' && (a.membersAdded || []).some((m) => m.id === bot().botId));
    assert.ok(added, `no conversationUpdate adding ${bot().botId}; saw ${JSON.stringify(turns.map((t) => t.activity.type))}`);
    assert.equal(added.activity.conversation.conversationType, 'personal');
    assert.ok(added.activity.membersAdded.some((m) => m.id === s.alice.id), 'personal install: membersAdded should hold the user too');
    // botbuilder's TeamsActivityHandler dispatched the install, fetching
    // the added user's roster entry from the emulator.
    const events = turns.flatMap((t) => t.events);
    const membersAdded = events.find((e) => e.name === 'teamsMembersAdded');
    assert.ok(membersAdded, `onTeamsMembersAddedEvent did not fire; events ${JSON.stringify(events.map((e) => e.name))}`);
    const enriched = membersAdded.members.find((m) => m.id === s.alice.id);
    assert.ok(enriched, 'the user is among the members added');
    assert.equal(enriched.email, s.alice.email, 'TeamsInfo.getMember filled in the roster entry');
    assert.ok(events.some((e) => e.name === 'installationUpdateAdd'), `no installationUpdate add; events ${JSON.stringify(events.map((e) => e.name))}`);
    const req = bot().requests.find((r) => r.body && r.body.id === added.activity.id);
    assert.equal(req.headers['x-ms-conversation-id'], answer.conversationId, 'x-ms-conversation-id header');
    assert.equal(req.headers['x-ms-tenant-id'], s.tenantId, 'x-ms-tenant-id header');
    s.personalConversationId = answer.conversationId;
    s.personalReference = added.reference;
  });

  h.test('botbuilder accepts a team install in the selected channel', async () => {
    const before = bot().turns.length;
    const answer = await emulator.call('POST', '/scenario/install/team', { teamId: s.team.id });
    assertBotStatus(answer, 'install/team');
    const turns = bot().turns.slice(before);
    assert.equal(turns.length, answer.botStatus.length, 'one bot turn per activity posted');
    const added = turns.find(({ activity: a }) => a.type === 'conversationUpdate' && (a.membersAdded || []).some((m) => m.id === bot().botId));
    assert.ok(added, `no conversationUpdate adding the bot; saw ${JSON.stringify(turns.map((t) => t.activity.type))}`);
    const a = added.activity;
    assert.equal(a.conversation.id, answer.conversationId);
    assert.equal(a.conversation.conversationType, 'channel');
    assert.equal(a.conversation.isGroup, true);
    assert.equal(a.channelData.team.id, s.team.id);
    assert.equal(a.channelData.team.aadGroupId, s.team.aadGroupId);
    assert.equal(a.channelData.eventType, 'teamMemberAdded');
    assert.equal(a.channelData.tenant.id, s.tenantId);
    const events = turns.flatMap((t) => t.events);
    const membersAdded = events.find((e) => e.name === 'teamsMembersAdded');
    assert.ok(membersAdded, `onTeamsMembersAddedEvent did not fire; events ${JSON.stringify(events.map((e) => e.name))}`);
    assert.equal(membersAdded.teamInfo.id, s.team.id);
    assert.ok(events.some((e) => e.name === 'installationUpdateAdd'), `no installationUpdate add; events ${JSON.stringify(events.map((e) => e.name))}`);
    s.teamReference = added.reference;
  });

  // Team events, on the second seeded team so the first stays as seeded.
  // onEvent posts through the scenario API and returns the one event
  // botbuilder's TeamsActivityHandler dispatched for it.
  const onEvent = async (name, method, path, body) => {
    const before = bot().turns.length;
    const answer = await emulator.call(method, path, body);
    assertBotStatus(answer, `${method} ${path}`);
    const events = bot().turns.slice(before).flatMap((t) => t.events);
    const hit = events.filter((e) => e.name === name);
    assert.equal(hit.length, 1, `want one ${name} event, got ${JSON.stringify(events.map((e) => e.name))}`);
    return { answer, event: hit[0] };
  };

  h.test('team events: install in a second team, then a member joins (onTeamsMembersAddedEvent)', async () => {
    const team = s.state.teams[1];
    s.team2 = team;
    await onEvent('teamsMembersAdded', 'POST', '/scenario/install/team', { teamId: team.id });
    const user = s.state.users.find((u) => !team.members.includes(u.id));
    assert.ok(user, 'every user is in the second team');
    s.joiner = user;
    const { event } = await onEvent('teamsMembersAdded', 'POST', `/scenario/teams/${encodeURIComponent(team.id)}/members`, { userId: user.id });
    assert.equal(event.teamInfo.id, team.id);
    assert.equal(event.members.length, 1);
    assert.equal(event.members[0].id, user.id);
    assert.equal(event.members[0].email, user.email, 'TeamsInfo.getMember filled in the roster entry');
  });

  h.test('team events: the member leaves (onTeamsMembersRemovedEvent)', async () => {
    assert.ok(s.joiner, 'needs the member who joined');
    const path = `/scenario/teams/${encodeURIComponent(s.team2.id)}/members/${encodeURIComponent(s.joiner.id)}`;
    const { event } = await onEvent('teamsMembersRemoved', 'DELETE', path);
    assert.equal(event.teamInfo.id, s.team2.id);
    assert.deepEqual(event.members.map((m) => m.id), [s.joiner.id]);
  });

  h.test('team events: a new channel (onTeamsChannelCreatedEvent)', async () => {
    const name = nonce('channel');
    const before = bot().turns.length;
    const channel = await emulator.call('POST', `/scenario/teams/${encodeURIComponent(s.team2.id)}/channels`, { name });
    assert.match(String(channel.id), /^19:.*@thread\.tacv2$/);
    assert.equal(channel.name, name);
    const events = bot().turns.slice(before).flatMap((t) => t.events);
    const hit = events.filter((e) => e.name === 'teamsChannelCreated');
    assert.equal(hit.length, 1, `want one teamsChannelCreated event, got ${JSON.stringify(events.map((e) => e.name))}`);
    assert.equal(hit[0].channelInfo.id, channel.id);
    assert.equal(hit[0].channelInfo.name, name);
    assert.equal(hit[0].teamInfo.id, s.team2.id);
  });

  h.test('team events: the team is renamed (onTeamsTeamRenamedEvent)', async () => {
    const name = nonce('Renamed team');
    const before = bot().turns.length;
    await emulator.call('PATCH', `/scenario/teams/${encodeURIComponent(s.team2.id)}`, { name });
    const events = bot().turns.slice(before).flatMap((t) => t.events);
    const hit = events.filter((e) => e.name === 'teamsTeamRenamed');
    assert.equal(hit.length, 1, `want one teamsTeamRenamed event, got ${JSON.stringify(events.map((e) => e.name))}`);
    assert.equal(hit[0].teamInfo.id, s.team2.id);
    assert.equal(hit[0].teamInfo.name, name);
  });

  h.test('personal uninstall reaches onInstallationUpdateRemove; then sends are refused with 403', async (ctx) => {
    const user = s.state.users[s.state.users.length - 1];
    const install = await emulator.call('POST', '/scenario/install/personal', { userId: user.id });
    assertBotStatus(install, 'install/personal');
    const reference = bot().turns[bot().turns.length - 1].reference;
    const { answer } = await onEvent('installationUpdateRemove', 'POST', '/scenario/uninstall/personal', { userId: user.id });
    ctx.note(`uninstall botStatus ${JSON.stringify(answer.botStatus)}`);
    let status;
    await bot().adapter.continueConversationAsync(bot().appId, reference, async (context) => {
      try {
        await context.sendActivity(nonce('after-uninstall'));
      } catch (err) {
        status = err.statusCode;
      }
    });
    assert.equal(status, 403, 'a send into a personal chat after uninstall is refused with 403');
  });

  h.test('botbuilder runs a turn for a user message and its reply lands', async () => {
    const text = nonce('hello');
    bot().onMessage = async (context, turn) => {
      const r = await context.sendActivity(`echo: ${context.activity.text}`);
      turn.replies.push(r);
    };
    const before = bot().turns.length;
    const since = (await emulator.requests()).length;
    const answer = await emulator.call('POST', '/scenario/messages', { from: s.alice.id, text });
    bot().onMessage = null;
    assertBotStatus(answer, 'messages');
    assert.equal(answer.conversationId, s.personalConversationId, 'default conversation is the personal chat');
    const turns = bot().turns.slice(before);
    assert.equal(turns.length, 1);
    const a = turns[0].activity;
    assert.equal(a.type, 'message');
    assert.equal(a.text, text);
    assert.equal(a.id, answer.activityId);
    assert.equal(a.from.id, s.alice.id);
    assert.equal(a.from.aadObjectId, s.alice.aadObjectId);
    assert.equal(a.conversation.id, answer.conversationId);
    const replyId = turns[0].replies[0] && turns[0].replies[0].id;
    assert.ok(replyId, 'the Connector answered the reply without an id');
    const reqs = await emulator.requests();
    findRequest(reqs, since, 'POST', `/v3/conversations/${answer.conversationId}/activities/${answer.activityId}`);
    const record = await emulator.activities(answer.conversationId);
    const inbound = findActivity(record, answer.activityId, 'user message').activity;
    assert.equal(inbound.text, text);
    const reply = findActivity(record, replyId, 'bot reply').activity;
    assert.equal(reply.text, `echo: ${text}`);
    assert.equal(reply.replyToId, answer.activityId);
  });

  h.test('forge valid: botbuilder accepts it and runs the turn', async (ctx) => {
    const before = bot().turns.length;
    const answer = await emulator.call('POST', '/scenario/forge', { kind: 'valid' });
    ctx.note(`forge valid -> bot answered ${answer.status}`);
    assert.ok(is2xx(answer.status), `valid token answered ${answer.status}`);
    assert.equal(bot().turns.length, before + 1, 'the turn ran once');
    assert.equal(bot().requests[bot().requests.length - 1].status, answer.status, 'reported status is the bot\'s');
  });

  for (const kind of FORGED_KINDS) {
    h.test(`forge ${kind}: botbuilder rejects it and the turn does not run`, async (ctx) => {
      const before = bot().turns.length;
      const reqsBefore = bot().requests.length;
      const answer = await emulator.call('POST', '/scenario/forge', { kind });
      const seen = bot().requests.slice(reqsBefore);
      ctx.note(`forge ${kind} -> bot answered ${answer.status}${seen[0] ? `: ${String(seen[0].answer).slice(0, 100)}` : ''}`);
      assert.equal(seen.length, 1, 'the emulator posted exactly one activity to the bot');
      assert.equal(seen[0].status, answer.status, 'reported status is the bot\'s');
      assert.ok(!is2xx(answer.status), `forged (${kind}) token accepted with ${answer.status}`);
      assert.equal(bot().turns.length, before, 'the turn ran');
    });
  }

  h.test('continueConversationAsync sends a proactive message', async () => {
    assert.ok(s.personalReference, 'needs the personal install');
    const text = nonce('proactive');
    const since = (await emulator.requests()).length;
    let sent;
    await bot().adapter.continueConversationAsync(bot().appId, s.personalReference, async (context) => {
      sent = await context.sendActivity(text);
    });
    assert.ok(sent && sent.id, 'no id for the proactive message');
    const reqs = await emulator.requests();
    findRequest(reqs, since, 'POST', sendPath(s.personalConversationId));
    const record = await emulator.activities(s.personalConversationId);
    const got = findActivity(record, sent.id, 'proactive message').activity;
    assert.equal(got.text, text);
    // The Connector calls were signed with a token botbuilder obtained from
    // the emulator through the configured login URL.
    const tokens = bot().tokens;
    assert.ok(tokens.length >= 1, 'the bot never fetched a token from the emulator');
    for (const t of tokens) {
      assert.equal(t.url, emulator.tokenUrl('botframework.com'));
      assert.equal(t.scope, `${BF_SCOPE}/.default`);
    }
    const { payload } = decodeJwt(tokens[tokens.length - 1].token);
    assert.equal(payload.aud, BF_SCOPE);
    assert.equal(payload.appid, bot().appId);
  });

  h.test('createConversationAsync opens a 1:1 chat with a team member and sends in it', async (ctx) => {
    assert.ok(s.teamReference, 'needs the team install');
    const user = s.state.users.find((u) => s.team.members.includes(u.id) && u.id !== s.alice.id);
    assert.ok(user, 'the first team has no member besides alice');
    const text = nonce('welcome');
    const since = (await emulator.requests()).length;
    let created;
    let sent;
    const params = {
      isGroup: false,
      bot: { id: bot().botId },
      members: [{ id: user.id }],
      tenantId: s.tenantId,
      channelData: { tenant: { id: s.tenantId } },
    };
    await bot().adapter.createConversationAsync(bot().appId, 'msteams', emulator.serviceUrl, BF_SCOPE, params, async (context) => {
      created = context.activity;
      sent = await context.sendActivity(text);
    });
    assert.ok(created && created.conversation && created.conversation.id, 'no conversation id');
    const convId = created.conversation.id;
    ctx.note(`created conversation ${convId} for ${user.id}`);
    assert.match(convId, /^a:/, 'a 1:1 conversation id');
    const reqs = await emulator.requests();
    findRequest(reqs, since, 'POST', '/v3/conversations');
    findRequest(reqs, since, 'POST', sendPath(convId));
    const convs = await emulator.conversations();
    const conv = convs.find((c) => c.id === convId);
    assert.ok(conv, `conversation ${convId} not in GET /scenario/conversations`);
    assert.equal(conv.type, 'personal');
    assert.equal(conv.tenantId, s.tenantId);
    const members = (conv.members || []).map((m) => (typeof m === 'string' ? m : m.id));
    assert.ok(members.includes(user.id), `members ${JSON.stringify(conv.members)} lack ${user.id}`);
    const record = await emulator.activities(convId);
    assert.equal(findActivity(record, sent.id, 'welcome').activity.text, text);
  });

  h.test('TeamsInfo.getPagedMembers pages through a 120-member team', async (ctx) => {
    // The seeded teams are smaller than one page, so build one that is not.
    const state = await emulator.state();
    const extra = [];
    for (let i = 0; i < 120 - state.users.length; i++) {
      extra.push(await emulator.call('POST', '/scenario/users', { tenantId: s.tenantId, name: `Paging User ${i}`, email: `paging${i}@contoso.com`, upn: `paging${i}@contoso.com` }));
    }
    const memberIds = state.users.map((u) => u.id).concat(extra.map((u) => u.id)).slice(0, 120);
    const team = await emulator.call('POST', '/scenario/teams', { tenantId: s.tenantId, name: 'Paging', members: memberIds, channels: ['Announcements'] });
    assert.match(team.id, /^19:.*@thread\.tacv2$/);
    assert.equal(team.generalChannelId, team.id, 'generalChannelId is the team id');
    assertBotStatus(await emulator.call('POST', '/scenario/install/team', { teamId: team.id }), 'install/team');
    s.bigTeam = team;

    const ref = { ...s.teamReference, conversation: { id: team.id, isGroup: true, conversationType: 'channel', tenantId: s.tenantId } };
    const pages = [];
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, ref, async (context) => {
      let token;
      do {
        const page = await TeamsInfo.getPagedMembers(context, 50, token);
        pages.push(page);
        token = page.continuationToken;
      } while (token && pages.length < 10);
    });
    ctx.note(`pages: ${pages.map((p) => p.members.length).join(', ')}`);
    findRequest(await emulator.requests(), since, 'GET', `/v3/conversations/${team.id}/pagedmembers`);
    assert.ok(pages.length >= 3, `120 members at 50 a page should take 3 pages, took ${pages.length}`);
    for (const p of pages) assert.ok(p.members.length <= 50, `a page holds ${p.members.length} > 50 members`);
    assert.equal(pages[pages.length - 1].continuationToken, undefined, 'the last page has no continuationToken');
    const got = pages.flatMap((p) => p.members);
    assert.deepEqual([...new Set(got.map((m) => m.id))].sort(), [...memberIds].sort());
    const byId = new Map(state.users.concat(extra).map((u) => [u.id, u]));
    // Roster entries are TeamsChannelAccounts; on the wire the AAD object
    // id is "objectId" (botbuilder passes the fields through unmapped).
    for (const m of got) {
      const u = byId.get(m.id);
      assert.equal(m.name, u.name, `member ${m.id} name`);
      assert.equal(m.objectId, u.aadObjectId, `member ${m.id} objectId`);
      assert.equal(m.email, u.email, `member ${m.id} email`);
      assert.equal(m.userPrincipalName, u.upn, `member ${m.id} userPrincipalName`);
      assert.equal(m.tenantId, s.tenantId, `member ${m.id} tenantId`);
    }
  });

  h.test('pagedmembers treats a page size below 50 as 50', async () => {
    assert.ok(s.bigTeam, 'needs the 120-member team');
    const ref = { ...s.teamReference, conversation: { id: s.bigTeam.id, isGroup: true, conversationType: 'channel', tenantId: s.tenantId } };
    let page;
    await bot().adapter.continueConversationAsync(bot().appId, ref, async (context) => {
      page = await TeamsInfo.getPagedMembers(context, 10);
    });
    assert.equal(page.members.length, 50);
    assert.ok(page.continuationToken, 'more pages follow');
  });

  h.test('TeamsInfo.getTeamDetails returns the team', async () => {
    let details;
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, s.teamReference, async (context) => {
      details = await TeamsInfo.getTeamDetails(context, s.team.id);
    });
    findRequest(await emulator.requests(), since, 'GET', `/v3/teams/${s.team.id}`);
    assert.equal(details.id, s.team.id);
    assert.equal(details.name, s.team.name);
    assert.equal(details.aadGroupId, s.team.aadGroupId);
  });

  h.test('TeamsInfo.getTeamChannels lists the channels, General named null', async () => {
    let channels;
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, s.teamReference, async (context) => {
      channels = await TeamsInfo.getTeamChannels(context, s.team.id);
    });
    findRequest(await emulator.requests(), since, 'GET', `/v3/teams/${s.team.id}/conversations`);
    const want = s.team.channels.map((c) => (typeof c === 'string' ? c : c.id)).sort();
    assert.deepEqual(channels.map((c) => c.id).sort(), want);
    const general = channels.find((c) => c.id === s.team.id);
    assert.ok(general, 'General (id = team id) is missing');
    assert.ok(general.name === null || general.name === undefined, `General's name is ${JSON.stringify(general.name)}, want null`);
  });

  h.test('TeamsInfo.getMember finds a team member by 29: id and by AAD object id', async () => {
    const user = s.state.users.find((u) => s.team.members.includes(u.id));
    const got = {};
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, s.teamReference, async (context) => {
      got.byId = await TeamsInfo.getMember(context, user.id);
      got.byAad = await TeamsInfo.getMember(context, user.aadObjectId);
    });
    findRequest(await emulator.requests(), since, 'GET', `/v3/conversations/${s.teamReference.conversation.id}/members/${user.id}`);
    for (const [how, m] of Object.entries(got)) {
      assert.equal(m.id, user.id, `${how}: id`);
      assert.equal(m.name, user.name, `${how}: name`);
      assert.equal(m.objectId, user.aadObjectId, `${how}: objectId`);
      assert.equal(m.email, user.email, `${how}: email`);
      assert.equal(m.userPrincipalName, user.upn, `${how}: userPrincipalName`);
    }
  });

  h.test('TeamsInfo.sendMessageToListOfUsers: batch to two installed users completes', async (ctx) => {
    const bob = s.state.users.find((u) => u.id !== s.alice.id && !s.team.members.includes(u.id)) || s.state.users[1];
    const install = await emulator.call('POST', '/scenario/install/personal', { userId: bob.id });
    assertBotStatus(install, 'install/personal');
    const text = nonce('batch');
    const since = (await emulator.requests()).length;
    let op;
    let state;
    let failedEntries;
    await bot().adapter.continueConversationAsync(bot().appId, s.personalReference, async (context) => {
      op = await TeamsInfo.sendMessageToListOfUsers(context, { type: 'message', text }, s.tenantId, [{ id: s.alice.id }, { id: bob.id }]);
      assert.ok(op && typeof op.operationId === 'string' && op.operationId !== '', `no operationId: ${JSON.stringify(op)}`);
      state = await waitFor('the batch to finish', async () => {
        const st = await TeamsInfo.getOperationState(context, op.operationId);
        return st.state === 'Completed' || st.state === 'Failed' ? st : null;
      }, 10000);
      failedEntries = await TeamsInfo.getFailedEntries(context, op.operationId);
    });
    ctx.note(`operation ${op.operationId}: ${JSON.stringify(state)}`);
    findRequest(await emulator.requests(), since, 'POST', '/v3/batch/conversation/users');
    assert.equal(state.state, 'Completed');
    assert.equal(state.totalEntriesCount, 2);
    assert.deepEqual(failedEntries.failedEntryResponses || [], [], 'no failed entries');
    for (const [conv, who] of [[s.personalConversationId, 'alice'], [install.conversationId, 'bob']]) {
      const texts = (await emulator.activities(conv)).map((r) => r.activity.text);
      assert.ok(texts.includes(text), `${who}'s chat did not get the batch message`);
    }
  });

  // A new thread in a channel: createConversation with isGroup and
  // channelData.channel; the answer's id is "<channel id>;messageid=<root>".
  const checkThread = async (ctx, reference, channelId, text) => {
    const threadId = reference.conversation.id;
    ctx.note(`thread conversation id ${threadId}`);
    const m = /^(.*);messageid=(.+)$/.exec(threadId);
    assert.ok(m, `a new channel thread's conversation id is "<channel id>;messageid=<root id>", got ${threadId}`);
    assert.equal(m[1], channelId);
    const root = findActivity(await emulator.activities(threadId), m[2], 'thread root');
    assert.equal(root.activity.text, text);
    const replyText = nonce('thread-reply');
    const since = (await emulator.requests()).length;
    let reply;
    await bot().adapter.continueConversationAsync(bot().appId, reference, async (context) => {
      reply = await context.sendActivity(replyText);
    });
    findRequest(await emulator.requests(), since, 'POST', sendPath(threadId));
    assert.equal(findActivity(await emulator.activities(threadId), reply.id, 'thread reply').activity.text, replyText);
  };
  const otherChannel = () => {
    const c = s.team.channels.find((x) => (typeof x === 'string' ? x : x.id) !== s.team.id);
    return typeof c === 'string' ? c : c.id;
  };

  h.test('createConversationAsync starts a thread in a channel (tenant given); a reply lands in it', async (ctx) => {
    const channelId = otherChannel();
    const text = nonce('channel-post');
    const params = {
      isGroup: true,
      tenantId: s.tenantId,
      channelData: { channel: { id: channelId }, team: { id: s.team.id }, tenant: { id: s.tenantId } },
      activity: { type: 'message', text },
    };
    const since = (await emulator.requests()).length;
    let reference;
    await bot().adapter.createConversationAsync(bot().appId, 'msteams', emulator.serviceUrl, BF_SCOPE, params, async (context) => {
      reference = TurnContext.getConversationReference(context.activity);
    });
    findRequest(await emulator.requests(), since, 'POST', '/v3/conversations');
    await checkThread(ctx, reference, channelId, text);
  });

  h.test("TeamsInfo.sendMessageToTeamsChannel (Microsoft's helper: channel only, no tenant) starts a thread", async (ctx) => {
    const channelId = otherChannel();
    const text = nonce('channel-post');
    const since = (await emulator.requests()).length;
    let result;
    await bot().adapter.continueConversationAsync(bot().appId, s.teamReference, async (context) => {
      result = await TeamsInfo.sendMessageToTeamsChannel(context, { type: 'message', text }, channelId, bot().appId);
    });
    findRequest(await emulator.requests(), since, 'POST', '/v3/conversations');
    await checkThread(ctx, result[0], channelId, text);
  });

  h.test('updateActivity edits a sent message', async () => {
    const first = nonce('before-edit');
    const second = nonce('after-edit');
    let sent;
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, s.personalReference, async (context) => {
      sent = await context.sendActivity(first);
      await context.updateActivity({ type: 'message', id: sent.id, text: second });
    });
    findRequest(await emulator.requests(), since, 'PUT', `/v3/conversations/${s.personalConversationId}/activities/${sent.id}`);
    const got = findActivity(await emulator.activities(s.personalConversationId), sent.id, 'edited message');
    assert.equal(got.activity.text, second);
    assert.ok(got.updatedAt, `the record has no updatedAt: ${JSON.stringify(got)}`);
    assert.ok(Array.isArray(got.history) && got.history.length === 1, `the record's history should hold the replaced version: ${JSON.stringify(got)}`);
    const replaced = got.history[0].activity || got.history[0];
    assert.equal(replaced.text, first, 'history holds the text before the edit');
    s.editedId = sent.id;
  });

  h.test('deleteActivity deletes a sent message', async () => {
    let sent;
    const since = (await emulator.requests()).length;
    await bot().adapter.continueConversationAsync(bot().appId, s.personalReference, async (context) => {
      sent = await context.sendActivity(nonce('to-delete'));
      await context.deleteActivity(sent.id);
    });
    findRequest(await emulator.requests(), since, 'DELETE', `/v3/conversations/${s.personalConversationId}/activities/${sent.id}`);
    const got = findActivity(await emulator.activities(s.personalConversationId), sent.id, 'deleted message');
    assert.ok(got.deleted === true || got.deletedAt, `the record does not show the deletion: ${JSON.stringify(got)}`);
  });
}

module.exports = { register };
