'use strict';
// A small client of Herald's HTTP API (/v1, bearer API key): what the
// herald-serve tests ask of Herald besides playing Teams events.

const { setTimeout: sleep } = require('node:timers/promises');

// poll calls cond (which may be async) every everyMs until it returns a
// truthy value, which it returns, or throws once the deadline passes. The
// deadlines are generous: Herald's work runs in the background on a
// machine that may be busy.
async function poll(what, cond, { timeoutMs = 60000, everyMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

class HeraldAPI {
  constructor(base, apiKey) {
    this.base = base.replace(/\/+$/, '');
    this.apiKey = apiKey;
  }

  async request(method, path, body) {
    const init = { method, headers: { authorization: `Bearer ${this.apiKey}` } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(`${this.base}${path}`, init);
    const text = await res.text();
    let parsed = text;
    if ((res.headers.get('content-type') || '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed };
  }

  async ready(timeoutMs = 60000) {
    await poll(`herald serve at ${this.base} to be ready`, async () => {
      try {
        return (await this.request('GET', '/readyz')).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs });
  }

  // notify sends POST /v1/notifications and returns {status, body}.
  notify(request) {
    return this.request('POST', '/v1/notifications', request);
  }

  // completed polls a notification until it is completed (or cancelled)
  // and returns it with its deliveries.
  async completed(id, timeoutMs = 60000) {
    const n = await poll(`notification ${id} to complete`, async () => {
      const res = await this.request('GET', `/v1/notifications/${encodeURIComponent(id)}`);
      if (res.status !== 200) throw new Error(`GET /v1/notifications/${id}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return ['completed', 'cancelled'].includes(res.body.state) ? res.body : null;
    }, { timeoutMs });
    n.deliveries = await this.deliveries(id);
    return n;
  }

  async deliveries(id) {
    const out = [];
    let cursor = '';
    for (;;) {
      const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await this.request('GET', `/v1/notifications/${encodeURIComponent(id)}/deliveries?${q}`);
      if (res.status !== 200) throw new Error(`GET deliveries of ${id}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      const list = res.body.deliveries || [];
      out.push(...list);
      cursor = res.body.next || '';
      if (!cursor || list.length === 0) return out;
    }
  }
}

module.exports = { HeraldAPI, poll };
