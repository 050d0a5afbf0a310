'use strict';
// Microsoft's Graph client (@microsoft/microsoft-graph-client 3.0.7) judges
// the emulator's Graph side: with an app-only token from the emulator's
// token endpoint it pages through users and a group's transitive members,
// runs a delta round, installs the app for a user (Teams then sends the
// bot the install events, which botbuilder must accept), reads the
// installation's chat (the conversation botbuilder then sends to) and
// posts a $batch. Every call must succeed as it would against Graph.
//
// The client sends its token only to Graph's hosts and to customHosts over
// https, and parses nextLinks only when they are https URLs, so it runs
// against the emulator that serves TLS.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Client, PageIterator, BatchRequestContent, BatchResponseContent } = require('@microsoft/microsoft-graph-client');
const { decodeJwt, waitFor } = require('../lib/emulator');
const { nonce } = require('../lib/checks');

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
// Herald's manifest packager names the Teams app with a name-based UUID
// (version 5) of the bot id in this namespace; the catalog app's
// externalId is that id.
const TEAMS_APP_NAMESPACE = '0a2dd685-d53b-471d-b21f-64c859e0f82b';

function uuid5(namespace, name) {
  const h = crypto.createHash('sha1');
  h.update(Buffer.from(namespace.replace(/-/g, ''), 'hex'));
  h.update(name);
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// everyPage runs the Graph client's PageIterator from a first page and
// returns every item and the deltaLink, if any.
async function everyPage(client, first) {
  const items = [];
  const it = new PageIterator(client, first, (item) => {
    items.push(item);
    return true;
  });
  await it.iterate();
  assert.ok(it.isComplete(), 'the PageIterator did not reach the last page');
  return { items, deltaLink: it.getDeltaLink() };
}

// graphCalls counts the Graph requests of an operation the emulator
// answered 200.
async function graphCalls(emulator, op) {
  const log = await emulator.call('GET', '/scenario/graph/requests');
  return log.filter((r) => r.operation === op && r.status === 200).length;
}

function register(h, { emulator, getBot }) {
  const s = {};
  const bot = () => getBot();
  const graph = () => {
    assert.ok(s.client, 'needs the Graph token');
    return s.client;
  };

  h.test('graph: the token endpoint issues an app-only Graph token for the tenant', async () => {
    const state = await emulator.state();
    s.state = state;
    s.tenantId = state.tenants[0].id;
    const body = await emulator.accessToken({ tenant: s.tenantId, scope: GRAPH_SCOPE });
    const { payload } = decodeJwt(body.access_token);
    assert.equal(payload.aud, 'https://graph.microsoft.com');
    assert.equal(payload.tid, s.tenantId);
    assert.equal(payload.appid, emulator.appId);
    assert.ok(Array.isArray(payload.roles) && payload.roles.includes('User.Read.All'), `roles ${JSON.stringify(payload.roles)}`);
    s.token = body.access_token;
    s.client = Client.init({
      authProvider: (done) => done(null, s.token),
      baseUrl: `${emulator.base}/graph`,
      defaultVersion: 'v1.0',
      customHosts: new Set([new URL(emulator.base).hostname]),
    });
    const connector = await emulator.accessToken({ tenant: 'botframework.com' });
    const refused = await fetch(`${emulator.base}/graph/v1.0/users`, { headers: { authorization: `Bearer ${connector.access_token}` } });
    assert.equal(refused.status, 401, 'a Connector token must not open Graph');
  });

  h.test('graph: the Graph client pages through the users', async () => {
    const before = await graphCalls(emulator, 'users');
    const first = await graph().api('/users').select('id,displayName,userPrincipalName,accountEnabled,userType').top(7).get();
    assert.equal(first.value.length, 7);
    const { items } = await everyPage(graph(), first);
    const pages = (await graphCalls(emulator, 'users')) - before;
    assert.equal(items.length, s.state.users.length, `users: ${items.length}`);
    assert.ok(pages >= 7, `pages: ${pages}`);
    assert.deepEqual(
      items.map((u) => u.id),
      s.state.users.map((u) => u.aadObjectId)
    );
    assert.ok(items.every((u) => typeof u.accountEnabled === 'boolean' && (u.userType === 'Member' || u.userType === 'Guest')));
    const one = await graph().api(`/users/${encodeURIComponent(s.state.users[1].upn)}`).get();
    assert.equal(one.id, s.state.users[1].aadObjectId);
  });

  h.test("graph: the Graph client pages through a group's transitive members", async () => {
    const found = await graph().api('/groups').filter("mail eq 'everyone@contoso.com'").select('id,displayName,mail').get();
    assert.equal(found.value.length, 1, `groups ${JSON.stringify(found.value)}`);
    const first = await graph()
      .api(`/groups/${found.value[0].id}/transitiveMembers/microsoft.graph.user`)
      .header('ConsistencyLevel', 'eventual')
      .count(true)
      .select('id,userPrincipalName,accountEnabled,userType')
      .top(15)
      .get();
    assert.equal(first['@odata.count'], s.state.users.length);
    const before = await graphCalls(emulator, 'transitiveMembers');
    const { items } = await everyPage(graph(), first);
    const pages = (await graphCalls(emulator, 'transitiveMembers')) - before + 1;
    assert.equal(new Set(items.map((u) => u.id)).size, s.state.users.length, 'each member once');
    assert.ok(pages >= 4, `pages: ${pages}`);
  });

  h.test('graph: a delta round, one change, and the next round shows it', async () => {
    const first = await graph().api('/users/delta').select('id,displayName,accountEnabled').get();
    const initial = await everyPage(graph(), first);
    assert.equal(initial.items.length, s.state.users.length);
    assert.ok(initial.deltaLink, 'the first round ends with a deltaLink');
    const user = s.state.users[30];
    const name = nonce('Renamed');
    await emulator.call('PATCH', `/scenario/users/${encodeURIComponent(user.id)}`, { name });
    const next = await everyPage(graph(), await graph().api(initial.deltaLink).get());
    assert.deepEqual(next.items, [{ id: user.aadObjectId, displayName: name, accountEnabled: true }]);
    assert.ok(next.deltaLink && next.deltaLink !== initial.deltaLink, 'the round ends with a new deltaLink');
    const quiet = await everyPage(graph(), await graph().api(next.deltaLink).get());
    assert.deepEqual(quiet.items, []);
  });

  h.test('graph: installing the app for a user; Teams sends the bot the install events', async () => {
    const externalId = uuid5(TEAMS_APP_NAMESPACE, emulator.appId.toLowerCase());
    const catalog = await graph().api('/appCatalogs/teamsApps').filter(`externalId eq '${externalId}'`).get();
    assert.equal(catalog.value.length, 1, `catalog ${JSON.stringify(catalog)}`);
    s.appId = catalog.value[0].id;
    const user = s.state.users[10];
    s.user = user;
    const before = bot().turns.length;
    const bind = { 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${s.appId}` };
    await graph().api(`/users/${user.aadObjectId}/teamwork/installedApps`).post(bind);
    const added = await waitFor(
      'the conversationUpdate of the Graph install',
      () =>
        bot()
          .turns.slice(before)
          .find(({ activity: a }) => a.type === 'conversationUpdate' && (a.membersAdded || []).some((m) => m.id === user.id)),
      10000
    );
    const types = bot()
      .turns.slice(before)
      .map((t) => t.activity.type);
    assert.ok(types.includes('installationUpdate'), `turns ${JSON.stringify(types)}`);
    s.reference = added.reference;
    await assert.rejects(
      graph().api(`/users/${user.aadObjectId}/teamwork/installedApps`).post(bind),
      (err) => err.statusCode === 409,
      'a second install is 409'
    );
    const unlicensed = await graph()
      .api('/users')
      .filter('not(assignedPlans/any(a:a/servicePlanId eq 57ff2da0-773e-42df-b2af-ffb7a2317929))')
      .header('ConsistencyLevel', 'eventual')
      .count(true)
      .get();
    assert.ok(unlicensed.value.length > 0, 'the demo has people without a Teams licence');
    await assert.rejects(
      graph().api(`/users/${unlicensed.value[0].id}/teamwork/installedApps`).post(bind),
      (err) => err.statusCode === 403 && err.code === 'Forbidden',
      'an install for a person without a Teams licence is 403'
    );
  });

  h.test("graph: the installation's chat is the conversation botbuilder sends to", async () => {
    assert.ok(s.reference, 'needs the install');
    const apps = await graph()
      .api(`/users/${s.user.aadObjectId}/teamwork/installedApps`)
      .expand('teamsApp')
      .filter(`teamsApp/id eq '${s.appId}'`)
      .get();
    assert.equal(apps.value.length, 1);
    assert.equal(apps.value[0].teamsApp.id, s.appId);
    const chat = await graph().api(`/users/${s.user.aadObjectId}/teamwork/installedApps/${encodeURIComponent(apps.value[0].id)}/chat`).get();
    assert.equal(chat.id, s.reference.conversation.id, 'the chat id is the conversation id of the install event');
    const text = nonce('graph-installed');
    let sent;
    await bot().adapter.continueConversationAsync(bot().appId, s.reference, async (context) => {
      sent = await context.sendActivity(text);
    });
    const record = await emulator.activities(chat.id);
    assert.ok(
      record.some((r) => r.id === sent.id && r.activity.text === text),
      'the message sent to the chat is in it'
    );
  });

  h.test('graph: a $batch with a dependency', async () => {
    // Graph client 3.0.7 strips only the scheme and host from a step's URL,
    // so steps name the path after the version (as against Graph:
    // https://graph.microsoft.com/users/…).
    const origin = emulator.base;
    const steps = [
      { id: '1', request: new Request(`${origin}/users/${encodeURIComponent(s.state.users[2].upn)}?$select=id,displayName`, { method: 'GET' }) },
      { id: '2', request: new Request(`${origin}/organization?$select=id,verifiedDomains`, { method: 'GET' }), dependsOn: ['1'] },
      {
        id: '3',
        request: new Request(`${origin}/users/${s.user.aadObjectId}/teamwork/installedApps?$expand=teamsApp`, { method: 'GET' }),
        dependsOn: ['2'],
      },
    ];
    const content = await new BatchRequestContent(steps).getContent();
    const answer = new BatchResponseContent(await graph().api('/$batch').post(content));
    const r1 = answer.getResponseById('1');
    const r2 = answer.getResponseById('2');
    const r3 = answer.getResponseById('3');
    assert.deepEqual([r1.status, r2.status, r3.status], [200, 200, 200]);
    assert.equal((await r1.json()).id, s.state.users[2].aadObjectId);
    const org = await r2.json();
    assert.ok(org.value[0].verifiedDomains.some((d) => d.name === 'contoso.com' && d.isDefault));
    assert.equal((await r3.json()).value.length, 1);
  });
}

module.exports = { register };
