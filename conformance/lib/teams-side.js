'use strict';
// An independent Teams side for `herald serve`, written from the protocol
// (teams-protocol.md §1-§3, 2026 addendum §3-§4), not from Herald's Go
// emulator. It plays the Bot Framework for one bot:
//
//   GET  /v1/.well-known/openidconfiguration   channel OpenID metadata
//   GET  /v1/.well-known/keys                  JWKS (one RSA key, endorsing msteams)
//   POST /{tenant}/oauth2/v2.0/token           client-credentials grant (Herald's outbound token)
//   /teams/v3/...                              the Connector (service URL <base>/teams/)
//
// `herald serve --emulator <base>` derives exactly these URLs. The side
// keeps a small world (one tenant, users, teams with channels, group
// chats, who installed the bot where), answers Connector calls the way
// Teams does (403 once the bot is removed from a conversation, 400
// BadSyntax for group chat creates), records every call and flags the
// ones Teams would refuse as malformed, unexpected or unauthorized.
// Activities are played at the bot by lib/teams-player.js.

const crypto = require('node:crypto');
const http = require('node:http');
const { SigningKey } = require('./jwt');

const CHANNEL_ISSUER = 'https://api.botframework.com';
const CONNECTOR_AUDIENCE = 'https://api.botframework.com';
// The tenant Microsoft issues Bot Framework connector tokens from.
const BOTFRAMEWORK_TENANT = 'd6d49420-f39b-4df7-a1dc-d59a935871db';

const hex = (n) => crypto.randomBytes(n).toString('hex');

class TeamsSide {
  constructor({ appId, appSecret, botName = 'Herald' }) {
    this.appId = appId;
    this.appSecret = appSecret;
    this.botId = `28:${appId}`;
    this.botName = botName;
    this.tenantId = crypto.randomUUID();
    this.channelKey = new SigningKey({ endorsements: ['msteams'] }); // signs channel -> bot tokens
    this.tokenKey = new SigningKey(); // signs the tokens it hands Herald
    this.users = new Map();
    this.teams = new Map();
    this.chats = new Map();
    this.conversations = new Map(); // personal, channel and group chat conversations by id
    this.entries = []; // every activity in any conversation, in order
    this.calls = []; // every Connector and token call
    this.problems = []; // calls Teams would refuse: {call, problem}
    this.tokens = []; // tokens issued to Herald
    this.seq = 0;
    this.nextActivityId = Date.now();
  }

  // --- the world ---------------------------------------------------------

  addUser(name) {
    const [givenName, surname = ''] = name.split(' ');
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@fabrikam.example`;
    const u = { id: `29:1${crypto.randomBytes(18).toString('base64url')}`, aadObjectId: crypto.randomUUID(), name, givenName, surname,
      email, upn: email, tenantId: this.tenantId, personalInstalled: false, personalConversationId: null };
    this.users.set(u.id, u);
    return u;
  }

  addTeam(name, channelNames, members) {
    const id = `19:${hex(16)}@thread.tacv2`;
    const t = { id, name, aadGroupId: crypto.randomUUID(), tenantId: this.tenantId, members: members.map((m) => m.id), installed: false,
      channels: [{ id, name: null }, ...channelNames.map((n) => ({ id: `19:${hex(16)}@thread.tacv2`, name: n }))] };
    this.teams.set(id, t);
    for (const ch of t.channels) this.conversations.set(ch.id, { id: ch.id, kind: 'channel', teamId: id });
    return t;
  }

  addGroupChat(members) {
    const c = { id: `19:${hex(16)}@thread.v2`, tenantId: this.tenantId, members: members.map((m) => m.id), installed: false };
    this.chats.set(c.id, c);
    this.conversations.set(c.id, { id: c.id, kind: 'groupChat', chatId: c.id });
    return c;
  }

  // personalConversation returns the id of the 1:1 chat between the bot
  // and the user, making it on first use (Teams keeps one per pair).
  personalConversation(user) {
    if (!user.personalConversationId) {
      user.personalConversationId = `a:1${crypto.randomBytes(24).toString('base64url')}`;
      this.conversations.set(user.personalConversationId, { id: user.personalConversationId, kind: 'personal', userId: user.id });
    }
    return user.personalConversationId;
  }

  // reachable reports whether the bot may talk to the user in a 1:1 chat:
  // Microsoft's proactive-messaging guide names two ways, the app
  // installed for the user or a team of theirs that has it; a group chat
  // with the app is not one of them.
  reachable(user) {
    if (user.personalInstalled) return true;
    for (const t of this.teams.values()) if (t.installed && t.members.includes(user.id)) return true;
    return false;
  }

  // botIn reports whether the bot is part of the conversation.
  botIn(conv) {
    switch (conv.kind) {
      case 'personal':
        return this.reachable(this.users.get(conv.userId));
      case 'channel':
        return this.teams.get(conv.teamId).installed;
      case 'groupChat':
        return this.chats.get(conv.chatId).installed;
    }
    return false;
  }

  // resolve splits a conversation id as Teams accepts it (a channel thread
  // is "<channel>;messageid=<root>") into the conversation and the root.
  resolve(rawId) {
    const [base, root] = String(rawId).split(';messageid=');
    const conv = this.conversations.get(base);
    if (!conv || (root !== undefined && conv.kind !== 'channel')) return null;
    return { conv, root };
  }

  newActivityId() {
    this.nextActivityId += 1;
    return String(this.nextActivityId);
  }

  // record adds an activity to a conversation's record and returns the entry.
  record({ conv, id, threadId, postedTo, route, from, activity }) {
    const entry = { seq: ++this.seq, id, conversationId: conv.id, threadId, postedTo, route, from,
      replyToId: activity.replyToId, activity, updates: [], deleted: false };
    this.entries.push(entry);
    return entry;
  }

  // mark is a point in the record: entries and calls after it have a
  // larger seq.
  mark() {
    return this.seq;
  }

  // botActivities returns the bot's messages in a conversation (channel
  // threads included), optionally only those after a mark.
  botActivities(conversationId, since = 0) {
    return this.entries.filter((e) => e.from === 'bot' && e.conversationId === conversationId && e.seq > since);
  }

  // channelToken signs a channel -> bot token for an activity bound for
  // serviceUrl, the way the Bot Framework does (teams-protocol.md §3.2).
  channelToken(serviceUrl, key = this.channelKey, kid) {
    const now = Math.floor(Date.now() / 1000);
    return key.sign({ iss: CHANNEL_ISSUER, aud: this.appId, serviceurl: serviceUrl, nbf: now - 5, iat: now - 5, exp: now + 3600 }, { kid });
  }

  // --- HTTP --------------------------------------------------------------

  async listen(port = 0) {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => this.serve(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    this.base = `http://127.0.0.1:${this.server.address().port}`;
    this.serviceUrl = `${this.base}/teams/`;
    this.openIdMetadataUrl = `${this.base}/v1/.well-known/openidconfiguration`;
    return this;
  }

  close() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  serve(req, res, raw) {
    const url = new URL(req.url, 'http://side');
    const call = { seq: ++this.seq, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: undefined, status: 0 };
    this.calls.push(call);
    const send = (status, body) => {
      call.status = status;
      call.answer = body;
      if (body === undefined) {
        res.statusCode = status;
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
        return send(200, { issuer: CHANNEL_ISSUER, authorization_endpoint: `${this.base}/v1/botframework/authorize`,
          jwks_uri: `${this.base}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'] });
      }
      if (req.method === 'GET' && url.pathname === '/v1/.well-known/keys') {
        return send(200, { keys: [this.channelKey.jwk()] });
      }
      const token = url.pathname.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/);
      if (token && req.method === 'POST') return send(...this.tokenGrant(call, decodeURIComponent(token[1]), raw, req.headers));
      if (url.pathname.startsWith('/teams/v3/')) {
        if (raw !== '') call.body = JSON.parse(raw);
        const denied = this.checkBearer(req.headers.authorization);
        if (denied) {
          this.flag(call, `unauthorized: ${denied}`);
          return send(401, { message: 'Authorization has been denied for this request.' });
        }
        return send(...this.connector(call, url.pathname.slice('/teams'.length)));
      }
      this.flag(call, 'unexpected: no such endpoint');
      return send(404, { error: { code: 'NotFound', message: 'no such endpoint' } });
    } catch (err) {
      this.flag(call, `malformed: ${err.message}`);
      return send(400, { error: { code: 'BadSyntax', message: String(err.message) } });
    }
  }

  flag(call, problem) {
    this.problems.push({ call: `${call.method} ${call.path}`, problem });
  }

  // tokenGrant is the client-credentials grant (teams-protocol.md §3.1).
  tokenGrant(call, tenant, raw, headers) {
    const form = new URLSearchParams(raw);
    call.body = { grant_type: form.get('grant_type'), client_id: form.get('client_id'), scope: form.get('scope'), tenant };
    if (!String(headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
      this.flag(call, 'malformed: token request is not form-encoded');
      return [400, { error: 'invalid_request', error_description: 'want application/x-www-form-urlencoded' }];
    }
    if (form.get('client_id') !== this.appId || form.get('client_secret') !== this.appSecret) {
      this.flag(call, 'unauthorized: wrong client id or secret');
      return [401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }];
    }
    if (form.get('grant_type') !== 'client_credentials') {
      this.flag(call, `malformed: grant_type ${form.get('grant_type')}`);
      return [400, { error: 'unsupported_grant_type' }];
    }
    if (form.get('scope') !== `${CONNECTOR_AUDIENCE}/.default` || tenant !== 'botframework.com') {
      this.flag(call, `malformed: scope ${form.get('scope')} from tenant ${tenant}`);
      return [400, { error: 'invalid_scope' }];
    }
    const now = Math.floor(Date.now() / 1000);
    const accessToken = this.tokenKey.sign({ aud: CONNECTOR_AUDIENCE, iss: `https://sts.windows.net/${BOTFRAMEWORK_TENANT}/`,
      iat: now - 5, nbf: now - 5, exp: now + 3600, appid: this.appId, tid: BOTFRAMEWORK_TENANT, ver: '1.0' });
    this.tokens.push(accessToken);
    return [200, { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: accessToken }];
  }

  // checkBearer returns why an Authorization header is not a token this
  // side issued (null when it is).
  checkBearer(header) {
    const m = String(header || '').match(/^Bearer (\S+)$/);
    if (!m) return 'no bearer token';
    try {
      const claims = this.tokenKey.verify(m[1]);
      if (claims.aud !== CONNECTOR_AUDIENCE) return `aud ${claims.aud}`;
      if (claims.appid !== this.appId) return `appid ${claims.appid}`;
    } catch (err) {
      return err.message;
    }
    return null;
  }

  // connector routes one Connector call (path starting /v3/) and returns
  // [status, body].
  connector(call, path) {
    const seg = path.split('/').slice(2).map(decodeURIComponent); // after "/v3"
    const m = call.method;
    if (seg[0] === 'conversations' && seg.length === 1 && m === 'POST') return this.createConversation(call);
    if (seg[0] === 'conversations' && seg.length >= 3) {
      const at = this.resolve(seg[1]);
      if (!at) return notFound('ConversationNotFound', 'Conversation not found.');
      if (seg[2] === 'activities' && seg.length <= 4 && m === 'POST') return this.postActivity(call, at, seg[1], seg[3]);
      if (seg[2] === 'activities' && seg.length === 4 && (m === 'PUT' || m === 'DELETE')) return this.changeActivity(call, at, seg[3]);
      if (seg[2] === 'pagedmembers' && seg.length === 3 && m === 'GET') return this.pagedMembers(call, at.conv);
      if (seg[2] === 'members' && seg.length === 3 && m === 'GET') return this.members(at.conv, null);
      if (seg[2] === 'members' && seg.length === 4 && m === 'GET') return this.members(at.conv, seg[3]);
    }
    if (seg[0] === 'teams' && seg.length >= 2 && m === 'GET') {
      const t = this.teams.get(seg[1]);
      if (!t) return notFound('NotFound', 'Team not found.');
      if (!t.installed) return notInRoster();
      if (seg.length === 2) return [200, { id: t.id, name: t.name, aadGroupId: t.aadGroupId, type: 'standard',
        memberCount: t.members.length, channelCount: t.channels.length }];
      if (seg.length === 3 && seg[2] === 'conversations') return [200, { conversations: t.channels.map((c) => ({ id: c.id, name: c.name })) }];
    }
    this.flag(call, 'unexpected: Teams has no such Connector route');
    return [404, { error: { code: 'NotFound', message: 'no such route' } }];
  }

  // createConversation: Teams creates 1:1 chats and channel threads only
  // (2026 addendum §3); any group chat variant is 400 BadSyntax.
  createConversation(call) {
    const p = call.body || {};
    const tenantId = p.tenantId || (p.channelData && p.channelData.tenant && p.channelData.tenant.id);
    const badSyntax = (message) => {
      this.flag(call, `malformed: ${message}`);
      return [400, { error: { code: 'BadSyntax', message } }];
    };
    if (p.isGroup) {
      const channelId = p.channelData && p.channelData.channel && p.channelData.channel.id;
      if (!channelId || !p.activity) return badSyntax('Incorrect conversation creation parameters');
      const conv = this.conversations.get(channelId);
      if (!conv || conv.kind !== 'channel') return notFound('ConversationNotFound', 'Conversation not found.');
      if (!this.botIn(conv)) return notInRoster();
      const id = this.newActivityId();
      this.record({ conv, id, threadId: id, postedTo: channelId, route: 'create', from: 'bot', activity: p.activity });
      return [201, { id: `${channelId};messageid=${id}`, activityId: id }];
    }
    if (!tenantId) return badSyntax('Could not parse tenant id');
    if (!Array.isArray(p.members) || p.members.length !== 1) return badSyntax('Incorrect conversation creation parameters');
    const member = p.members[0] || {};
    const user = this.users.get(member.id) || [...this.users.values()].find((u) => u.aadObjectId === member.id);
    if (!user || tenantId !== user.tenantId) {
      this.flag(call, `unexpected: create a 1:1 chat with unknown user ${member.id} in tenant ${tenantId}`);
      return notFound('MemberNotFoundInConversation', 'The member is not found.');
    }
    if (!this.reachable(user)) return [403, { error: { code: 'ForbiddenOperationException', message: "Bot isn't installed in user's personal scope" } }];
    return [201, { id: this.personalConversation(user) }];
  }

  // postActivity is "send to conversation" (no activityId) and "reply to
  // activity". In a channel a post to the channel starts a thread; a post
  // to "<channel>;messageid=<root>", or a reply, goes into a thread.
  postActivity(call, at, rawId, replyTo) {
    const a = call.body;
    if (!a || typeof a !== 'object' || typeof a.type !== 'string' || a.type === '') throw new Error('activity without type');
    if (a.type === 'message' && !a.text && !(Array.isArray(a.attachments) && a.attachments.length > 0)) throw new Error('message without text or attachments');
    if (!this.botIn(at.conv)) return notInRoster();
    const id = this.newActivityId();
    let threadId;
    if (at.conv.kind === 'channel') {
      const parent = replyTo && this.entries.find((e) => e.conversationId === at.conv.id && e.id === replyTo);
      threadId = at.root || (parent ? parent.threadId : replyTo) || id;
    }
    const activity = replyTo && !a.replyToId ? { ...a, replyToId: replyTo } : a;
    this.record({ conv: at.conv, id, threadId, postedTo: rawId, route: replyTo ? 'reply' : 'post', from: 'bot', activity });
    return [201, { id }];
  }

  changeActivity(call, at, activityId) {
    const e = this.entries.find((x) => x.conversationId === at.conv.id && x.id === activityId && !x.deleted);
    if (!e) return notFound('ActivityNotFoundInConversation', 'Activity not found.');
    if (!this.botIn(at.conv)) return notInRoster();
    if (call.method === 'DELETE') {
      e.deleted = true;
      return [200, undefined];
    }
    if (!call.body || typeof call.body.type !== 'string') throw new Error('activity without type');
    e.updates.push(e.activity);
    e.activity = call.body;
    return [200, { id: activityId }];
  }

  roster(conv) {
    switch (conv.kind) {
      case 'channel':
        return this.teams.get(conv.teamId).members;
      case 'groupChat':
        return this.chats.get(conv.chatId).members;
      default:
        return [conv.userId];
    }
  }

  // pagedMembers: page size below 50 counts as 50, above 500 as 500; the
  // last page has no continuationToken (teams-protocol.md §2.4).
  pagedMembers(call, conv) {
    if (!this.botIn(conv)) return notInRoster();
    const size = Math.min(500, Math.max(50, Number(call.query.pageSize) || 0));
    const from = Number(call.query.continuationToken || 0);
    const ids = this.roster(conv);
    const page = ids.slice(from, from + size).map((id) => this.member(this.users.get(id)));
    const body = { members: page };
    if (from + size < ids.length) body.continuationToken = String(from + size);
    return [200, body];
  }

  members(conv, memberId) {
    if (!this.botIn(conv)) return notInRoster();
    const ids = this.roster(conv);
    if (memberId === null) return [200, ids.map((id) => this.member(this.users.get(id)))];
    const u = ids.map((id) => this.users.get(id)).find((x) => [x.id, x.aadObjectId, x.upn].includes(memberId));
    if (!u) return notFound('MemberNotFoundInConversation', 'The member is not found.');
    return [200, this.member(u)];
  }

  // member is a roster entry as Teams sends it: objectId, not aadObjectId.
  member(u) {
    return { id: u.id, name: u.name, objectId: u.aadObjectId, givenName: u.givenName, surname: u.surname, email: u.email,
      userPrincipalName: u.upn, tenantId: u.tenantId, userRole: 'user' };
  }
}

function notFound(code, message) {
  return [404, { error: { code, message } }];
}

function notInRoster() {
  return [403, { error: { code: 'BotNotInConversationRoster', message: "The bot isn't part of the conversation roster." } }];
}

module.exports = { TeamsSide, CHANNEL_ISSUER };
