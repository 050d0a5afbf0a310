'use strict';
// Client for the herald emulator: its scenario API (how a test plays the
// Teams side) and its token endpoint (how a bot gets an outbound token).

const { setTimeout: sleep } = require('node:timers/promises');

class HttpError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url}: HTTP ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

class Emulator {
  // base is the emulator's root URL without a trailing slash.
  constructor(base, { appId, appSecret }) {
    this.base = base.replace(/\/+$/, '');
    this.appId = appId;
    this.appSecret = appSecret;
    this.serviceUrl = `${this.base}/teams/`;
    this.openIdMetadataUrl = `${this.base}/v1/.well-known/openidconfiguration`;
    this.keysUrl = `${this.base}/v1/.well-known/keys`;
    this.loginUrl = `${this.base}/botframework.com`;
  }

  tokenUrl(tenant = 'botframework.com') {
    return `${this.base}/${tenant}/oauth2/v2.0/token`;
  }

  // request sends one call and returns {status, body, headers}; body is
  // parsed JSON when the answer says it is JSON.
  async request(method, path, body) {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    const text = await res.text();
    let parsed = text;
    if ((res.headers.get('content-type') || '').includes('json') && text !== '') {
      parsed = JSON.parse(text);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  // call is request() that insists on a 2xx answer.
  async call(method, path, body) {
    const res = await this.request(method, path, body);
    if (res.status < 200 || res.status > 299) {
      throw new HttpError(method, path, res.status, res.body);
    }
    return res.body;
  }

  state() {
    return this.call('GET', '/scenario/state');
  }

  // activities returns the emulator's record of one conversation: one
  // entry per activity, in order, each {id, activity, deleted, updatedAt,
  // history, ...}. (The emulator wraps each activity in a record; a bare
  // activity is wrapped here so both shapes read the same.)
  async activities(conversationId) {
    const body = await this.call('GET', `/scenario/conversations/${encodeURIComponent(conversationId)}/activities`);
    const list = Array.isArray(body) ? body : body && Array.isArray(body.activities) ? body.activities : null;
    if (!list) {
      throw new Error(`GET /scenario/conversations/{id}/activities: want a list of activities, got ${JSON.stringify(body).slice(0, 300)}`);
    }
    return list.map((r) => (r && r.activity && typeof r.activity === 'object' ? r : { ...r, activity: r }));
  }

  async conversations() {
    const body = await this.call('GET', '/scenario/conversations');
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.conversations)) return body.conversations;
    throw new Error(`GET /scenario/conversations: want a list, got ${JSON.stringify(body).slice(0, 300)}`);
  }

  async requests() {
    const body = await this.call('GET', '/scenario/requests');
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.requests)) return body.requests;
    throw new Error(`GET /scenario/requests: want a list, got ${JSON.stringify(body).slice(0, 300)}`);
  }

  // token runs the client-credentials grant against the emulator over plain
  // HTTP, the way the Bot Framework token service is called in production.
  async token({ tenant = 'botframework.com', scope = 'https://api.botframework.com/.default', clientId = this.appId, clientSecret = this.appSecret } = {}) {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope,
    });
    const res = await fetch(this.tokenUrl(tenant), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const text = await res.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the raw text for the error message
    }
    return { status: res.status, body };
  }

  // accessToken returns a bearer token or throws.
  async accessToken(opts) {
    const { status, body } = await this.token(opts);
    if (status !== 200 || !body || typeof body.access_token !== 'string') {
      throw new HttpError('POST', this.tokenUrl(opts && opts.tenant), status, body);
    }
    return body;
  }

  // waitReady polls /scenario/state until it answers or the deadline passes.
  async waitReady(timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        const res = await this.request('GET', '/scenario/state');
        if (res.status === 200) return;
        last = new Error(`HTTP ${res.status}`);
      } catch (err) {
        last = err;
      }
      await sleep(100);
    }
    throw new Error(`emulator at ${this.base} not ready: ${last && last.message}`);
  }
}

// decodeJwt returns the header and payload of a compact JWT without
// checking its signature.
function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWT: ${parts.length} parts`);
  const part = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: part(parts[0]), payload: part(parts[1]) };
}

// waitFor polls cond (which may be async) until it returns a truthy value or
// the deadline passes. Only used where the other side is another process.
async function waitFor(what, cond, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

module.exports = { Emulator, HttpError, decodeJwt, waitFor };
