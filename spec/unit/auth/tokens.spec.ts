import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SignJWT, exportJWK } from 'jose';
import type { SigningKeys } from '../../../actors/auth/signing-keys.js';
import { AccessTokens, type AccessTokenOptions } from '../../../actors/auth/tokens.js';
import { loadOrCreateSigningKeys } from '../../../bin/signing-keys.js';
import { expectRejection } from './expect-rejection.js';

const ISSUER = 'troupe-test';
const AUDIENCE = 'troupe-test-clients';
const TTL_SEC = 900;
const USER = { id: 'u_tokens', username: 'alice', displayName: 'Alice A.' };

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8'));
}

describe('AccessTokens', () => {
  let root: string;
  let keys: SigningKeys;
  let clock: number;
  const options = (extra: Partial<AccessTokenOptions> = {}): AccessTokenOptions => ({
    issuer: ISSUER, audience: AUDIENCE, accessTokenTtlSec: TTL_SEC, now: () => clock, ...extra,
  });

  /** A token with valid claims for `USER`, signed by our current key with the given header. */
  function signOwn(header: Record<string, unknown>, claims: Record<string, unknown> = {}): Promise<string> {
    const nowSec = Math.floor(clock / 1000);
    return new SignJWT({ preferred_username: USER.username, name: USER.displayName, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.current.kid, typ: 'at+jwt', ...header })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(USER.id)
      .setIssuedAt(nowSec).setExpirationTime(nowSec + TTL_SEC)
      .sign(keys.current.privateKey);
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'troupe-tokens-'));
    keys = await loadOrCreateSigningKeys(join(root, 'keys'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    clock = Date.UTC(2030, 5, 1, 12, 0, 0);
  });

  it('issues an EdDSA JWT with iss, aud, sub, iat, exp, kid and the user names, and verifies it', async () => {
    const tokens = new AccessTokens(keys, options());
    const { accessToken, expiresIn } = await tokens.issue(USER);
    expect(expiresIn).to.equal(TTL_SEC);
    expect(decodePart(accessToken, 0)).to.deep.equal({ alg: 'EdDSA', kid: keys.current.kid, typ: 'at+jwt' });
    expect(decodePart(accessToken, 1)).to.deep.equal({
      iss: ISSUER, aud: AUDIENCE, sub: USER.id, iat: clock / 1000, exp: clock / 1000 + TTL_SEC,
      preferred_username: USER.username, name: USER.displayName,
    });
    expect(await tokens.verify(accessToken)).to.deep.equal({
      userId: USER.id, username: USER.username, displayName: USER.displayName,
      issuedAt: clock, expiresAt: clock + TTL_SEC * 1000,
    });
  });

  it('refuses a token whose payload was changed', async () => {
    const tokens = new AccessTokens(keys, options());
    const token = (await tokens.issue(USER)).accessToken;
    const [header, , signature] = token.split('.');
    const forged = { ...decodePart(token, 1), sub: 'u_someone_else' };
    await expectRejection(tokens.verify(`${header}.${b64(forged)}.${signature}`), 'unauthenticated', 'invalid access token');
  });

  it('refuses a token whose signature was changed', async () => {
    const tokens = new AccessTokens(keys, options());
    const token = (await tokens.issue(USER)).accessToken;
    const signature = Buffer.from(token.split('.')[2] ?? '', 'base64url');
    signature[0] = (signature[0] ?? 0) ^ 0xff;
    const [header, payload] = token.split('.');
    await expectRejection(tokens.verify(`${header}.${payload}.${signature.toString('base64url')}`), 'unauthenticated');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const tokens = new AccessTokens(keys, options());
    const payload = decodePart((await tokens.issue(USER)).accessToken, 1);
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64({ alg, kid: keys.current.kid, typ: 'at+jwt' })}.${b64(payload)}.`;
      await expectRejection(tokens.verify(unsigned), 'unauthenticated');
    }
  });

  it('refuses an HS256 token signed with a guessed secret, the public key included', async () => {
    const tokens = new AccessTokens(keys, options());
    const nowSec = Math.floor(clock / 1000);
    const publicKey = keys.publicKeys.get(keys.current.kid);
    if (publicKey === undefined) expect.fail('no public key for the current kid');
    const publicX = Buffer.from((await exportJWK(publicKey)).x ?? '', 'base64url');
    for (const secret of [Buffer.from('secret'), publicX, Buffer.alloc(32)]) {
      const hs = await new SignJWT({ preferred_username: USER.username, name: USER.displayName })
        .setProtectedHeader({ alg: 'HS256', kid: keys.current.kid, typ: 'at+jwt' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(USER.id)
        .setIssuedAt(nowSec).setExpirationTime(nowSec + TTL_SEC)
        .sign(new Uint8Array(secret));
      await expectRejection(tokens.verify(hs), 'unauthenticated');
    }
  });

  it('accepts only the EdDSA algorithm name, even for a valid Ed25519 signature under another', async () => {
    const tokens = new AccessTokens(keys, options());
    await expectRejection(tokens.verify(await signOwn({ alg: 'Ed25519' })), 'unauthenticated');
  });

  it('refuses a token without the access-token type header', async () => {
    const tokens = new AccessTokens(keys, options());
    expect((await tokens.verify(await signOwn({}))).userId).to.equal(USER.id);
    await expectRejection(tokens.verify(await signOwn({ typ: 'JWT' })), 'unauthenticated');
  });

  it('refuses an expired token, also one it verified before', async () => {
    const tokens = new AccessTokens(keys, options({ clockToleranceSec: 5 }));
    const { accessToken } = await tokens.issue(USER);
    const issuedAt = clock;
    clock = issuedAt + (TTL_SEC + 4) * 1000; // inside the tolerance
    expect((await tokens.verify(accessToken)).userId).to.equal(USER.id);
    clock = issuedAt + (TTL_SEC + 5) * 1000;
    await expectRejection(tokens.verify(accessToken), 'unauthenticated', 'expired');
    // A fresh verifier (nothing remembered) agrees.
    await expectRejection(new AccessTokens(keys, options({ clockToleranceSec: 5 })).verify(accessToken), 'unauthenticated', 'expired');
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const tokens = new AccessTokens(keys, options());
    const otherAudience = (await new AccessTokens(keys, options({ audience: 'someone-else' })).issue(USER)).accessToken;
    const otherIssuer = (await new AccessTokens(keys, options({ issuer: 'evil-issuer' })).issue(USER)).accessToken;
    await expectRejection(tokens.verify(otherAudience), 'unauthenticated');
    await expectRejection(tokens.verify(otherIssuer), 'unauthenticated');
  });

  it('refuses a token signed by a key it does not know, under a new kid or under ours', async () => {
    const otherRoot = await mkdtemp(join(tmpdir(), 'troupe-tokens-other-'));
    try {
      const otherKeys = await loadOrCreateSigningKeys(join(otherRoot, 'keys'));
      const tokens = new AccessTokens(keys, options());
      const foreign = (await new AccessTokens(otherKeys, options()).issue(USER)).accessToken;
      await expectRejection(tokens.verify(foreign), 'unauthenticated', 'unknown key');
      const otherPublic = otherKeys.publicKeys.get(otherKeys.current.kid);
      if (otherPublic === undefined) expect.fail('no public key for the other kid');
      // Another key that claims our kid.
      const impostorKeys: SigningKeys = {
        current: { kid: keys.current.kid, privateKey: otherKeys.current.privateKey },
        publicKeys: new Map([[keys.current.kid, otherPublic]]),
      };
      const impostor = (await new AccessTokens(impostorKeys, options()).issue(USER)).accessToken;
      await expectRejection(tokens.verify(impostor), 'unauthenticated', 'invalid access token');
      const noKid = await signOwn({ kid: undefined });
      await expectRejection(tokens.verify(noKid), 'unauthenticated');
    } finally {
      await rm(otherRoot, { recursive: true, force: true });
    }
  });

  it('refuses a token without a subject or without the user names', async () => {
    const tokens = new AccessTokens(keys, options());
    const nowSec = Math.floor(clock / 1000);
    const noSub = await new SignJWT({ preferred_username: USER.username, name: USER.displayName })
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.current.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(nowSec).setExpirationTime(nowSec + TTL_SEC)
      .sign(keys.current.privateKey);
    await expectRejection(tokens.verify(noSub), 'unauthenticated');
    await expectRejection(tokens.verify(await signOwn({}, { name: 42 })), 'unauthenticated');
  });

  it('answers garbage with a short unauthenticated message and no stack', async () => {
    const tokens = new AccessTokens(keys, options());
    const garbage: unknown[] = [undefined, null, 42, {}, '', 'abc', 'a.b.c', '...', 'eyJhbGciOiJFZERTQSJ9.e30.',
      'x'.repeat(100_000), `${b64({ alg: 'EdDSA', kid: keys.current.kid })}.not-json.AAAA`];
    for (const input of garbage) {
      const err = await expectRejection(tokens.verify(input), 'unauthenticated');
      expect(err.message.length, err.message).to.be.below(60);
      expect(err.message).to.not.match(/\n|\bat\b/);
    }
  });

  it('remembers recently verified tokens, at most verifiedCacheSize of them', async () => {
    const remembering = new AccessTokens(keys, options({ verifiedCacheSize: 2 }));
    // Issued one after another: issuing remembers too, so the memory's order must not depend on
    // which signature finished first (after these, it holds t1 and t2).
    const issued: string[] = [];
    for (const i of [0, 1, 2]) issued.push((await remembering.issue({ ...USER, id: `u_${i}` })).accessToken);
    const [t0, t1, t2] = issued;
    if (t0 === undefined || t1 === undefined || t2 === undefined) expect.fail('tokens not issued');
    const first = await remembering.verify(t0);
    expect(await remembering.verify(t0), 'same remembered claims').to.equal(first);
    expect(Object.isFrozen(first)).to.equal(true);
    await remembering.verify(t1);
    await remembering.verify(t2); // the memory holds two: t0 is dropped
    const again = await remembering.verify(t0);
    expect(again).to.not.equal(first);
    expect(again).to.deep.equal(first);

    const forgetful = new AccessTokens(keys, options({ verifiedCacheSize: 0 }));
    const a = await forgetful.verify(t1);
    const b = await forgetful.verify(t1);
    expect(b).to.not.equal(a);
    expect(b).to.deep.equal(a);
  });
});
