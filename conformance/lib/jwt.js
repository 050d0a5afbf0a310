'use strict';
// RS256 JSON Web Tokens with Node's crypto: the signing keys of the
// independent Teams side (lib/teams-side.js). No JWT library: the point of
// the side is to be independent of Herald's code, and Node's crypto is
// independent of everyone's.

const crypto = require('node:crypto');

// SigningKey is an RSA key with a key id. Its JWK carries Microsoft's
// extra "endorsements" member when endorsements are given.
class SigningKey {
  constructor({ kid, endorsements } = {}) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = publicKey;
    this.privateKey = privateKey;
    // Like Microsoft's keys: the id is a SHA-1 thumbprint, base64url.
    this.kid = kid || crypto.createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
    this.endorsements = endorsements;
  }

  jwk() {
    const { kty, n, e } = this.publicKey.export({ format: 'jwk' });
    const key = { kty, use: 'sig', kid: this.kid, x5t: this.kid, n, e };
    if (this.endorsements) key.endorsements = this.endorsements;
    return key;
  }

  // sign returns payload signed RS256, with kid and x5t headers naming
  // this key (or, to forge, the kid given).
  sign(payload, { kid = this.kid } = {}) {
    const header = { alg: 'RS256', typ: 'JWT', kid, x5t: kid };
    const input = `${b64(header)}.${b64(payload)}`;
    const signature = crypto.sign('sha256', Buffer.from(input), this.privateKey).toString('base64url');
    return `${input}.${signature}`;
  }

  // verify returns the payload of a token this key signed, or throws
  // saying why not. It checks the algorithm, the signature and exp/nbf
  // (with five minutes of leeway, as the Bot Framework does).
  verify(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) throw new Error(`not a compact JWT (${parts.length} parts)`);
    const header = parse(parts[0], 'header');
    if (header.alg !== 'RS256') throw new Error(`alg ${header.alg}, want RS256`);
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.publicKey, Buffer.from(parts[2], 'base64url'));
    if (!ok) throw new Error('bad signature');
    const payload = parse(parts[1], 'payload');
    const now = Date.now() / 1000;
    if (typeof payload.exp !== 'number' || payload.exp < now - 300) throw new Error('expired or no exp');
    if (typeof payload.nbf === 'number' && payload.nbf > now + 300) throw new Error('not yet valid');
    return payload;
  }
}

function b64(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

function parse(part, what) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new Error(`${what} is not base64url JSON`);
  }
}

module.exports = { SigningKey };
