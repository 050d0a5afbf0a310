'use strict';
// A botbuilder 4.23 bot wired to the emulator the way a production bot is
// wired to Microsoft: CloudAdapter + ConfigurationBotFrameworkAuthentication
// with every parameterized key pointing at the emulator.
//
// Outbound tokens: with configuration keys only, botbuilder hands
// ToChannelFromBotLoginUrl to MSAL, which insists on https and on instance
// discovery against Microsoft's public login host; neither works offline.
// So a bot gets one of two credentials factories:
//   - "fetch": our own ServiceClientCredentialsFactory that runs the same
//     client-credentials grant (login URL + /oauth2/v2.0/token, scope =
//     audience + /.default) over plain HTTP;
//   - "msal": botbuilder's own MsalServiceClientCredentialsFactory around
//     the MSAL client botbuilder ships with, the emulator's authority listed
//     in knownAuthorities (no instance discovery). MSAL needs https, so this
//     one talks to an emulator serving TLS whose certificate Node trusts
//     (NODE_EXTRA_CA_CERTS).

const http = require('node:http');
const path = require('node:path');
const { CloudAdapter, ConfigurationBotFrameworkAuthentication, TeamsActivityHandler, TurnContext } = require('botbuilder');
const { MsalServiceClientCredentialsFactory, ServiceClientCredentialsFactory } = require('botframework-connector');

// EmulatorTokenCredentials signs Connector requests with a token for its
// login URL and scope, obtained through its factory.
class EmulatorTokenCredentials {
  constructor(factory, tokenUrl, scope) {
    this.factory = factory;
    this.tokenUrl = tokenUrl;
    this.scope = scope;
  }

  async signRequest(webResource) {
    const token = await this.factory.getToken(this.tokenUrl, this.scope);
    webResource.headers.set('Authorization', `Bearer ${token}`);
    return webResource;
  }
}

// EmulatorCredentialsFactory runs the client-credentials grant itself and,
// like botbuilder's own credentials, caches each token (per token URL and
// scope) until five minutes before it expires.
class EmulatorCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor({ appId, appSecret, onToken }) {
    super();
    this.appId = appId;
    this.appSecret = appSecret;
    this.onToken = onToken;
    this.created = [];
    this.cache = new Map();
  }

  async isValidAppId(appId) {
    return appId === this.appId;
  }

  async isAuthenticationDisabled() {
    return false;
  }

  async createCredentials(appId, audience, loginEndpoint, validateAuthority) {
    if (appId !== this.appId) throw new Error(`invalid app id ${appId}`);
    const base = String(loginEndpoint).replace(/\/+$/, '');
    const scope = `${String(audience).replace(/\/+$/, '')}/.default`;
    this.created.push({ appId, audience, loginEndpoint, validateAuthority });
    return new EmulatorTokenCredentials(this, `${base}/oauth2/v2.0/token`, scope);
  }

  async getToken(tokenUrl, scope) {
    const key = `${tokenUrl} ${scope}`;
    const hit = this.cache.get(key);
    if (hit && hit.refreshAt > Date.now()) return hit.token;
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.appId,
        client_secret: this.appSecret,
        scope,
      }).toString(),
    });
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`token request to ${tokenUrl}: HTTP ${res.status}: ${text}`);
    }
    const body = JSON.parse(text);
    if (typeof body.access_token !== 'string' || body.token_type !== 'Bearer') {
      throw new Error(`token request to ${tokenUrl}: unexpected answer ${text}`);
    }
    const lifetime = Number(body.expires_in) * 1000;
    this.cache.set(key, { token: body.access_token, refreshAt: Date.now() + lifetime - 5 * 60 * 1000 });
    this.onToken({ url: tokenUrl, scope, token: body.access_token, body });
    return body.access_token;
  }
}

// msalCredentialsFactory returns botbuilder's MSAL-based factory for the
// emulator, using the copy of MSAL that botframework-connector itself
// depends on. Every token MSAL hands out is recorded in tokens.
function msalCredentialsFactory(emulator, tokens) {
  const msalPath = require.resolve('@azure/msal-node', { paths: [path.dirname(require.resolve('botframework-connector'))] });
  const { ConfidentialClientApplication } = require(msalPath);
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: emulator.appId,
      clientSecret: emulator.appSecret,
      authority: emulator.loginUrl,
      knownAuthorities: [new URL(emulator.base).host],
    },
  });
  const acquire = msal.acquireTokenByClientCredential.bind(msal);
  msal.acquireTokenByClientCredential = async (request) => {
    const result = await acquire(request);
    tokens.push({ url: emulator.tokenUrl('botframework.com'), scope: request.scopes.join(' '), token: result.accessToken, result });
    return result;
  };
  return new MsalServiceClientCredentialsFactory(emulator.appId, msal);
}

// createBotbuilderBot returns a bot for the emulator: a CloudAdapter and a
// handler for its messaging endpoint. The bot records every HTTP request it
// received (with the status it answered) and every turn it ran.
function createBotbuilderBot({ emulator, outbound = 'fetch' }) {
  const tokens = [];
  const credentialsFactory =
    outbound === 'msal'
      ? msalCredentialsFactory(emulator, tokens)
      : new EmulatorCredentialsFactory({ appId: emulator.appId, appSecret: emulator.appSecret, onToken: (t) => tokens.push(t) });
  const config = {
    MicrosoftAppId: emulator.appId,
    MicrosoftAppPassword: emulator.appSecret,
    MicrosoftAppType: 'MultiTenant',
    MicrosoftAppTenantId: '',
    ChannelService: '',
    ValidateAuthority: false,
    ToChannelFromBotLoginUrl: emulator.loginUrl,
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    ToBotFromChannelOpenIdMetadataUrl: emulator.openIdMetadataUrl,
    ToBotFromEmulatorOpenIdMetadataUrl: emulator.openIdMetadataUrl,
    OAuthUrl: `${emulator.base}/oauth`,
    CallerId: 'urn:botframework:azure',
  };
  const auth = new ConfigurationBotFrameworkAuthentication(config, credentialsFactory);
  const adapter = new CloudAdapter(auth);
  const turnErrors = [];
  adapter.onTurnError = async (context, error) => {
    turnErrors.push({ activity: context.activity, error });
    throw error;
  };

  const bot = {
    adapter,
    appId: emulator.appId,
    botId: `28:${emulator.appId}`,
    credentialsFactory,
    tokens,
    turns: [],
    requests: [],
    turnErrors,
    // onMessage, when set, runs inside a message turn after it is recorded.
    onMessage: null,
  };

  // The bot's logic is a TeamsActivityHandler, so botbuilder's own
  // dispatch judges the emulator's events: each handler that fires is
  // recorded in turn.events. Like most Teams bots it handles members added,
  // so botbuilder fetches each added user's roster entry (TeamsInfo.getMember)
  // inside the turn.
  const handler = new TeamsActivityHandler();
  const current = new WeakMap();
  const event = (context, name, detail) => current.get(context).events.push({ name, ...detail });
  const copy = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  handler.onMessage(async (context, next) => {
    event(context, 'message', {});
    if (bot.onMessage) await bot.onMessage(context, current.get(context));
    await next();
  });
  handler.onTeamsMembersAddedEvent(async (members, teamInfo, context, next) => {
    event(context, 'teamsMembersAdded', { members: copy(members), teamInfo: copy(teamInfo) });
    await next();
  });
  handler.onTeamsMembersRemovedEvent(async (members, teamInfo, context, next) => {
    event(context, 'teamsMembersRemoved', { members: copy(members), teamInfo: copy(teamInfo) });
    await next();
  });
  handler.onTeamsChannelCreatedEvent(async (channelInfo, teamInfo, context, next) => {
    event(context, 'teamsChannelCreated', { channelInfo: copy(channelInfo), teamInfo: copy(teamInfo) });
    await next();
  });
  handler.onTeamsTeamRenamedEvent(async (teamInfo, context, next) => {
    event(context, 'teamsTeamRenamed', { teamInfo: copy(teamInfo) });
    await next();
  });
  handler.onInstallationUpdateAdd(async (context, next) => {
    event(context, 'installationUpdateAdd', {});
    await next();
  });
  handler.onInstallationUpdateRemove(async (context, next) => {
    event(context, 'installationUpdateRemove', {});
    await next();
  });

  const logic = async (context) => {
    const turn = {
      activity: JSON.parse(JSON.stringify(context.activity)),
      reference: TurnContext.getConversationReference(context.activity),
      replies: [],
      events: [],
    };
    bot.turns.push(turn);
    current.set(context, turn);
    await handler.run(context);
  };

  // handle serves one request to the messaging endpoint; raw is its body.
  bot.handle = (req, res, raw) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, body: null, status: null, answer: '' };
    bot.requests.push(entry);
    try {
      entry.body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      entry.body = raw;
    }
    let status = 200;
    const shim = {
      socket: req.socket,
      status(code) {
        status = code;
        return shim;
      },
      header(name, value) {
        res.setHeader(name, value);
        return shim;
      },
      send(body) {
        if (body === undefined || body === null) return shim;
        if (typeof body === 'string') {
          entry.answer += body;
        } else {
          res.setHeader('content-type', 'application/json');
          entry.answer += JSON.stringify(body);
        }
        return shim;
      },
      end() {
        entry.status = status;
        res.statusCode = status;
        res.end(entry.answer);
        return shim;
      },
    };
    const request = { method: req.method, headers: req.headers, body: entry.body };
    adapter.process(request, shim, logic).catch((err) => {
      entry.status = 500;
      entry.answer = String(err && err.message);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(entry.answer);
      }
    });
  };
  return bot;
}

// listen serves the bots on 127.0.0.1:port, each at its path (for example
// {"/api/messages": bot}), and resolves to the server once it listens.
async function listen(port, routes) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const bot = routes[req.url];
      if (!bot) {
        res.statusCode = 404;
        res.end();
        return;
      }
      bot.handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

module.exports = { createBotbuilderBot, listen, EmulatorCredentialsFactory };
