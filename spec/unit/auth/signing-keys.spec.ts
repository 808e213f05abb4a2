import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isKid, keyFileName, makeKid, newestKid, parseKeyFileName } from '../../../actors/auth/signing-keys.js';
import { AccessTokens } from '../../../actors/auth/tokens.js';
import { createSigningKey, loadOrCreateSigningKeys } from '../../../bin/signing-keys.js';
import { expectRejection } from './expect-rejection.js';

const TOKEN_OPTIONS = { issuer: 'troupe-test', audience: 'troupe-test-clients', accessTokenTtlSec: 900 };
const USER = { id: 'u_keys', username: 'keys', displayName: 'Keys' };

describe('signing key rules', () => {
  it('makes kids that sort by creation time and parses key file names', () => {
    const older = makeKid(Date.UTC(2025, 0, 2, 3, 4, 5), 'zzzzzz');
    const newer = makeKid(Date.UTC(2025, 0, 2, 3, 4, 6), 'aaaaaa');
    expect(older).to.equal('20250102T030405Z-zzzzzz');
    expect(isKid(older)).to.equal(true);
    expect(newestKid([newer, older])).to.equal(newer);
    expect(newestKid([])).to.equal(undefined);
    expect(parseKeyFileName(keyFileName(older, 'private'))).to.deep.equal({ kid: older, kind: 'private' });
    expect(parseKeyFileName(keyFileName(older, 'public'))).to.deep.equal({ kid: older, kind: 'public' });
    expect(parseKeyFileName('README.md')).to.equal(null);
    expect(parseKeyFileName('../evil.private.jwk.json')).to.equal(null);
  });
});

describe('loadOrCreateSigningKeys', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'troupe-keys-'));
    dir = join(root, 'nested', 'keys');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the folder (0700) and one Ed25519 key (files 0600) on first start', async () => {
    const keys = await loadOrCreateSigningKeys(dir);
    expect((await stat(dir)).mode & 0o777).to.equal(0o700);
    const files = (await readdir(dir)).sort();
    expect(files).to.deep.equal([keyFileName(keys.current.kid, 'private'), keyFileName(keys.current.kid, 'public')]);
    for (const file of files) expect((await stat(join(dir, file))).mode & 0o777).to.equal(0o600);
    const privateJwk = JSON.parse(await readFile(join(dir, files[0] ?? ''), 'utf8'));
    expect(privateJwk).to.include({ kty: 'OKP', crv: 'Ed25519', kid: keys.current.kid, alg: 'EdDSA' });
    expect(privateJwk.d).to.be.a('string');
    const publicJwk = JSON.parse(await readFile(join(dir, files[1] ?? ''), 'utf8'));
    expect(publicJwk).to.not.have.property('d');
    expect([...keys.publicKeys.keys()]).to.deep.equal([keys.current.kid]);
  });

  it('reuses the same key after a restart: tokens from before still verify', async () => {
    const first = await loadOrCreateSigningKeys(dir);
    const { accessToken } = await new AccessTokens(first, TOKEN_OPTIONS).issue(USER);
    const second = await loadOrCreateSigningKeys(dir);
    expect(second.current.kid).to.equal(first.current.kid);
    expect(await readdir(dir)).to.have.length(2);
    const claims = await new AccessTokens(second, TOKEN_OPTIONS).verify(accessToken);
    expect(claims.userId).to.equal(USER.id);
  });

  it('after a rotation signs with the newest key and still verifies tokens of the older one', async () => {
    const before = await loadOrCreateSigningKeys(dir);
    const oldToken = (await new AccessTokens(before, TOKEN_OPTIONS).issue(USER)).accessToken;
    const newKid = await createSigningKey(dir, Date.now() + 60_000);
    const after = await loadOrCreateSigningKeys(dir);
    expect(after.current.kid).to.equal(newKid);
    expect([...after.publicKeys.keys()].sort()).to.deep.equal([before.current.kid, newKid].sort());
    const tokens = new AccessTokens(after, TOKEN_OPTIONS);
    expect((await tokens.verify(oldToken)).userId).to.equal(USER.id);
    const newToken = (await tokens.issue(USER)).accessToken;
    const header = JSON.parse(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString('utf8'));
    expect(header.kid).to.equal(newKid);
  });

  it('keeps verifying with a retired key of which only the public file is left', async () => {
    const before = await loadOrCreateSigningKeys(dir);
    const oldToken = (await new AccessTokens(before, TOKEN_OPTIONS).issue(USER)).accessToken;
    await createSigningKey(dir, Date.now() + 60_000);
    await unlink(join(dir, keyFileName(before.current.kid, 'private')));
    const after = await loadOrCreateSigningKeys(dir);
    expect(after.current.kid).to.not.equal(before.current.kid);
    expect((await new AccessTokens(after, TOKEN_OPTIONS).verify(oldToken)).userId).to.equal(USER.id);
  });

  it('ignores unrelated files and refuses a malformed key file with a config error', async () => {
    await loadOrCreateSigningKeys(dir);
    await writeFile(join(dir, 'notes.txt'), 'not a key');
    await loadOrCreateSigningKeys(dir);
    const badKid = makeKid(Date.now() - 60_000, 'broken');
    await writeFile(join(dir, keyFileName(badKid, 'public')), '{"kty":"oct","k":"c2VjcmV0"}');
    const err = await expectRejection(loadOrCreateSigningKeys(dir), 'config', badKid);
    expect(err.message).to.not.include('\n');
    await writeFile(join(dir, keyFileName(badKid, 'public')), 'not json');
    await expectRejection(loadOrCreateSigningKeys(dir), 'config', badKid);
  });

  it('refuses a key file whose kid member disagrees with its name', async () => {
    const keys = await loadOrCreateSigningKeys(dir);
    const jwk = JSON.parse(await readFile(join(dir, keyFileName(keys.current.kid, 'public')), 'utf8'));
    const otherKid = makeKid(Date.now() - 60_000, 'other1');
    await writeFile(join(dir, keyFileName(otherKid, 'public')), JSON.stringify(jwk));
    await expectRejection(loadOrCreateSigningKeys(dir), 'config', otherKid);
  });
});
