'use strict';
// A Teams SDK v2 (@microsoft/teams.apps) app wired to the emulator: the
// public cloud with the channel-token metadata, the token issuer and the
// login endpoints replaced by the emulator's. Outbound tokens come from a
// `token` provider that runs the client-credentials grant against the
// emulator (the SDK's own MSAL client would try instance discovery against
// Microsoft's public login host).

const http = require('node:http');
const { App, ExpressAdapter } = require('@microsoft/teams.apps');
const { PUBLIC, withOverrides } = require('@microsoft/teams.api');

// recordingLogger keeps the SDK's log lines; warnings and errors also go to
// console.error, which the harness shows only for failing tests.
function recordingLogger(name, lines) {
  const write = (level) => (...msg) => {
    lines.push({ level, name, msg });
    if (level === 'warn' || level === 'error') console.error(`[teams.apps ${name}] ${level}:`, ...msg);
  };
  const logger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    trace: write('trace'),
    log: (level, ...msg) => write(level)(...msg),
    child: (child) => recordingLogger(`${name}/${child}`, lines),
  };
  return logger;
}

// startTeamsApp starts the app on 127.0.0.1:port and resolves once it
// listens. It records every HTTP request (with the status it answered) and
// every activity the app's handlers saw.
async function startTeamsApp({ port, emulator }) {
  const lines = [];
  const tokenCalls = [];
  const server = http.createServer();
  const requests = [];
  server.on('request', (req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, status: null };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
  });
  const cloud = withOverrides(PUBLIC, {
    loginEndpoint: emulator.base,
    loginTenant: 'botframework.com',
    tokenServiceUrl: emulator.base,
    openIdMetadataUrl: emulator.openIdMetadataUrl,
    tokenIssuer: 'https://api.botframework.com',
  });
  const app = new App({
    clientId: emulator.appId,
    token: async (scope, tenantId) => {
      const scopes = Array.isArray(scope) ? scope : [scope];
      const body = await emulator.accessToken({ tenant: tenantId || 'botframework.com', scope: scopes.join(' ') });
      tokenCalls.push({ scope: scopes.join(' '), tenantId, token: body.access_token });
      return body.access_token;
    },
    cloud,
    serviceUrl: emulator.serviceUrl,
    httpServerAdapter: new ExpressAdapter(server),
    logger: recordingLogger('app', lines),
  });

  const state = {
    app,
    server,
    requests,
    tokenCalls,
    logLines: lines,
    activities: [],
    sent: [],
    onMessage: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  app.on('activity', async (ctx) => {
    state.activities.push(JSON.parse(JSON.stringify(ctx.activity)));
    if (ctx.activity.type === 'message' && state.onMessage) {
      await state.onMessage(ctx);
    }
  });

  await app.initialize();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return state;
}

module.exports = { startTeamsApp };
