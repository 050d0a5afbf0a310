'use strict';
// Conformance suite: Microsoft's SDKs (botbuilder, the Teams SDK and the
// Graph client) judge the herald emulator, and an independent Teams side
// judges `herald serve`.
//
// Three emulators are expected to be running (the bot URL is fixed when an
// emulator starts), posting to the bots this script starts:
//
//   CONFORMANCE_BOT_PORT            port the botbuilder bots listen on
//   CONFORMANCE_EMULATOR_URL        emulator posting to http://127.0.0.1:$CONFORMANCE_BOT_PORT/api/messages
//                                   (botbuilder bot with our plain-HTTP token client)
//   CONFORMANCE_MSAL_EMULATOR_URL   emulator serving https, posting to http://127.0.0.1:$CONFORMANCE_BOT_PORT/api/msal
//                                   (botbuilder bot with botbuilder's MSAL credentials; Node must
//                                   trust its certificate: NODE_EXTRA_CA_CERTS)
//   CONFORMANCE_TEAMS_BOT_PORT      port the teams.apps app listens on
//   CONFORMANCE_TEAMS_EMULATOR_URL  emulator posting to http://127.0.0.1:$CONFORMANCE_TEAMS_BOT_PORT/api/messages
//   CONFORMANCE_APP_ID, CONFORMANCE_APP_SECRET  the bot identity every emulator was started with
//
// and `herald serve`, started with that identity and
// --emulator http://127.0.0.1:$CONFORMANCE_TEAMS_SIDE_PORT (the Teams side
// this script starts on that port; see tests/herald-serve.js):
//
//   CONFORMANCE_HERALD_URL          herald serve's base URL (bot endpoint /api/messages, API /v1)
//   CONFORMANCE_HERALD_API_KEY      an API key herald serve accepts
//   CONFORMANCE_TEAMS_SIDE_PORT     port the independent Teams side listens on
//   CONFORMANCE_HERALD_TOPIC        a topic herald serve was started with (--topics); default deploys
//
// The last line printed is "N passed, N failed". The exit status is 0 only
// when something ran and nothing failed.

const assert = require('node:assert/strict');
const { Harness } = require('./lib/harness');
const { Emulator } = require('./lib/emulator');
const { createBotbuilderBot, listen } = require('./lib/botbuilder-bot');
const { startTeamsApp } = require('./lib/teams-app');
const botbuilderTests = require('./tests/botbuilder');
const msalTests = require('./tests/msal');
const teamsTests = require('./tests/teams');
const heraldServeTests = require('./tests/herald-serve');
const graphTests = require('./tests/graph');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

async function main() {
  const identity = { appId: env('CONFORMANCE_APP_ID'), appSecret: env('CONFORMANCE_APP_SECRET') };
  const emulator = new Emulator(env('CONFORMANCE_EMULATOR_URL'), identity);
  const msalEmulator = new Emulator(env('CONFORMANCE_MSAL_EMULATOR_URL'), identity);
  const teamsEmulator = new Emulator(env('CONFORMANCE_TEAMS_EMULATOR_URL'), identity);
  const botPort = Number(env('CONFORMANCE_BOT_PORT'));
  const teamsPort = Number(env('CONFORMANCE_TEAMS_BOT_PORT'));

  const h = new Harness({ timeoutMs: Number(process.env.CONFORMANCE_TEST_TIMEOUT_MS || 20000) });
  let bot = null;
  let msalBot = null;
  let botServer = null;
  let app = null;
  h.test('setup: emulators answer and the botbuilder bots and teams.apps app listen', async () => {
    await emulator.waitReady();
    await msalEmulator.waitReady();
    await teamsEmulator.waitReady();
    const plain = createBotbuilderBot({ emulator, outbound: 'fetch' });
    const withMsal = createBotbuilderBot({ emulator: msalEmulator, outbound: 'msal' });
    botServer = await listen(botPort, { '/api/messages': plain, '/api/msal': withMsal });
    bot = plain;
    msalBot = withMsal;
    app = await startTeamsApp({ port: teamsPort, emulator: teamsEmulator });
  });
  const need = (what, v) => {
    if (!v) throw new Error(`${what} did not start (see setup)`);
    return v;
  };
  botbuilderTests.register(h, { emulator, getBot: () => need('botbuilder bot', bot) });
  msalTests.register(h, { emulator: msalEmulator, getBot: () => need('botbuilder MSAL bot', msalBot) });
  // Microsoft's Graph client judges the Graph side of the emulator that
  // serves https (the client sends tokens and follows links over https
  // only); the install events go to the MSAL bot.
  graphTests.register(h, { emulator: msalEmulator, getBot: () => need('botbuilder MSAL bot', msalBot) });
  teamsTests.register(h, { emulator: teamsEmulator, getApp: () => need('teams.apps app', app) });
  // Last: the emulator flags calls to routes Teams does not have and bodies
  // Teams would reject as malformed. Microsoft's SDKs send neither, so any
  // entry is a place where the emulator and Microsoft disagree.
  for (const [name, e] of [['botbuilder', emulator], ['msal', msalEmulator], ['teams.apps', teamsEmulator]]) {
    h.test(`${name} emulator flagged no SDK request as unexpected or malformed`, async () => {
      const body = await e.call('GET', '/scenario/errors');
      assert.deepEqual(body.errors, []);
    });
  }

  // An independent Teams side judges herald serve.
  const heraldServe = heraldServeTests.register(h, {
    ...identity,
    heraldUrl: env('CONFORMANCE_HERALD_URL'),
    apiKey: env('CONFORMANCE_HERALD_API_KEY'),
    sidePort: Number(env('CONFORMANCE_TEAMS_SIDE_PORT')),
    topic: process.env.CONFORMANCE_HERALD_TOPIC || 'deploys',
  });

  const { passed, failed, failures } = await h.run();
  if (botServer) await new Promise((resolve) => botServer.close(() => resolve()));
  if (app) await app.close();
  await heraldServe.close();
  if (failures.length > 0) {
    console.log('\nfailed:');
    for (const f of failures) console.log(`  - ${f}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return passed > 0 && failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
);
