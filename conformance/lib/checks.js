'use strict';
// Assertions shared by the botbuilder and Teams SDK suites.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');

// Forge kinds a bot must refuse. The contract names the first six; the
// emulator also offers the last four (the peer-sdks table's HS256 and
// missing-header rows among them).
const FORGED_KINDS = [
  'wrong-key',
  'wrong-audience',
  'wrong-issuer',
  'serviceurl-mismatch',
  'expired',
  'no-endorsement',
  'not-yet-valid',
  'hs256',
  'none',
  'no-token',
];

function nonce(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

function is2xx(status) {
  return Number.isInteger(status) && status >= 200 && status <= 299;
}

// assertBotStatus checks a scenario answer's botStatus: at least one
// activity was posted and the bot answered every one with 2xx.
function assertBotStatus(answer, what) {
  assert.ok(Array.isArray(answer.botStatus), `${what}: answer has no botStatus list: ${JSON.stringify(answer)}`);
  assert.ok(answer.botStatus.length > 0, `${what}: the emulator posted no activity to the bot`);
  for (const s of answer.botStatus) {
    assert.ok(is2xx(s), `${what}: bot answered ${s} (botStatus ${JSON.stringify(answer.botStatus)})`);
  }
}

// connectorPath turns a recorded request path into its Connector part
// (/v3/...), decoding percent-escapes so ids compare as ids.
function connectorPath(p) {
  let path = String(p).split('?')[0];
  const i = path.indexOf('/v3/');
  if (i >= 0) path = path.slice(i);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

// findRequest returns the first successful Connector call recorded after
// index `since` with the method and decoded path given (a string, or a
// RegExp matched against the decoded path), or throws listing what was seen.
function findRequest(requests, since, method, path) {
  const fresh = requests.slice(since);
  const matches = (p) => (path instanceof RegExp ? path.test(p) : p === path);
  const hits = fresh.filter((r) => String(r.method).toUpperCase() === method && matches(connectorPath(r.path)));
  assert.ok(
    hits.length > 0,
    `emulator recorded no ${method} ${path} (new requests: ${JSON.stringify(fresh.map((r) => `${r.method} ${r.path} ${r.status}`))})`
  );
  // An SDK may retry (for example after a 429); one attempt must succeed.
  const ok = hits.find((r) => is2xx(Number(r.status)));
  assert.ok(ok, `${method} ${path} recorded with statuses ${JSON.stringify(hits.map((r) => r.status))}, want a 2xx`);
  return ok;
}

// sendPath matches both ways botbuilder posts into a conversation:
// "send to conversation" and "reply to activity" (botbuilder replies to the
// synthetic activity of a proactive turn, whose id Teams never issued).
function sendPath(conversationId) {
  const escaped = conversationId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^/v3/conversations/${escaped}/activities(/[^/]+)?$`);
}

// findActivity returns the record entry ({id, activity, deleted, ...}) of
// the activity with the id given.
function findActivity(records, id, what) {
  const hit = records.find((r) => r.id === id || (r.activity && r.activity.id === id));
  assert.ok(hit, `${what}: no activity with id ${id} in the emulator's record (ids: ${JSON.stringify(records.map((r) => r.id))})`);
  return hit;
}

module.exports = { FORGED_KINDS, nonce, is2xx, assertBotStatus, connectorPath, findRequest, sendPath, findActivity };
