'use strict';
// Emulator talks to a running `herald emulator`: its scenario API (the test
// director's side) and its Connector API (the bot's side, with a bot token
// from the emulator's token endpoint).

class Emulator {
  constructor(baseURL, { appId, appSecret }) {
    this.base = baseURL.replace(/\/+$/, '');
    this.appId = appId;
    this.appSecret = appSecret;
    this.token = null;
  }

  async request(method, path, { body, headers = {}, want = [200, 201], retry429 = 0 } = {}) {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(this.base + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status === 429 && attempt < retry429) {
        // Teams' rate limits: wait as long as Retry-After says, as a bot must.
        const seconds = Math.min(Number(res.headers.get('retry-after')) || 1, 5);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        continue;
      }
      if (!want.includes(res.status)) {
        throw new Error(`${method} ${path}: HTTP ${res.status} (want ${want.join(' or ')}): ${text.slice(0, 300)}`);
      }
      if (text === '') return null;
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${method} ${path}: answer is not JSON: ${text.slice(0, 300)}`);
      }
    }
  }

  state() {
    return this.request('GET', '/scenario/state');
  }

  installPersonal(userId) {
    return this.request('POST', '/scenario/install/personal', { body: { userId } });
  }

  // botToken gets (once) an access token with the client credentials grant,
  // as a bot does from Entra ID.
  async botToken() {
    if (this.token) return this.token;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.appId,
      client_secret: this.appSecret,
      scope: 'https://api.botframework.com/.default',
    });
    const res = await fetch(`${this.base}/botframework.com/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`token: HTTP ${res.status}: ${text.slice(0, 300)}`);
    const tok = JSON.parse(text);
    if (tok.token_type !== 'Bearer' || !tok.access_token) throw new Error(`token: unexpected answer ${text.slice(0, 300)}`);
    this.token = tok.access_token;
    return this.token;
  }

  async connector(method, path, body, want) {
    const auth = { authorization: `Bearer ${await this.botToken()}` };
    return this.request(method, `/teams/v3${path}`, { body, headers: auth, want, retry429: 4 });
  }

  // send posts an activity into a conversation and returns its id.
  async send(conversationId, activity) {
    const res = await this.connector('POST', `/conversations/${encodeURIComponent(conversationId)}/activities`, activity);
    if (!res || !res.id) throw new Error(`send: no activity id in ${JSON.stringify(res)}`);
    return res.id;
  }

  update(conversationId, activityId, activity) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(activityId)}`;
    return this.connector('PUT', path, { ...activity, id: activityId });
  }

  remove(conversationId, activityId) {
    const path = `/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(activityId)}`;
    return this.connector('DELETE', path, undefined, [200, 202, 204]);
  }
}

module.exports = { Emulator };
