import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { TroupeError } from '../transport/errors.js';
import {
  SIGNING_ALG,
  keyFileName,
  makeKid,
  newestKid,
  parseKeyFileName,
  type JoseKey,
  type SigningKeys,
} from '../actors/auth/signing-keys.js';

/**
 * Signing keys on disk: one Ed25519 key per pair of JWK files in a folder that only the
 * server's user may read (0700; files 0600).
 *
 *   <kid>.private.jwk.json   the private key (signs; also verifies)
 *   <kid>.public.jwk.json    its public part (verifies): copy these to nodes that only verify
 *
 * The newest private key is current; every key verifies (see actors/auth/signing-keys.ts for
 * the rotation rules). A folder without any private key gets a new one. Other files are ignored.
 */

interface LoadedKeys {
  privateKeys: Map<string, JoseKey>;
  publicKeys: Map<string, JoseKey>;
}

/**
 * Loads the keys in `dir`, first creating the folder and a key when there is no private key,
 * so the first start makes a key and every later start reuses it. Rejects with `config` on an
 * unreadable or malformed key file.
 */
export async function loadOrCreateSigningKeys(dir: string): Promise<SigningKeys> {
  await ensureKeysDir(dir);
  let loaded = await loadKeys(dir);
  if (loaded.privateKeys.size === 0) {
    await createSigningKey(dir);
    // Read the folder again rather than use the new key directly: when two processes start on
    // one folder at once, both then pick the same (newest) key.
    loaded = await loadKeys(dir);
  }
  const kid = newestKid(loaded.privateKeys.keys());
  const privateKey = kid === undefined ? undefined : loaded.privateKeys.get(kid);
  if (kid === undefined || privateKey === undefined) {
    throw new TroupeError('config', `signing keys: no private key in ${dir}`);
  }
  return { current: { kid, privateKey }, publicKeys: loaded.publicKeys };
}

/**
 * Generates a new key in `dir` and returns its kid. Being the newest, it becomes current at
 * the next load: this is how keys are rotated.
 */
export async function createSigningKey(dir: string, nowMs: number = Date.now()): Promise<string> {
  await ensureKeysDir(dir);
  const kid = makeKid(nowMs, randomBytes(6).toString('base64url'));
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const privateJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d, kid, alg: SIGNING_ALG, use: 'sig' };
  const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: SIGNING_ALG, use: 'sig' };
  // Public part first: a private file is only ever seen complete and with its public beside it.
  await writeFileAtomically(join(dir, keyFileName(kid, 'public')), publicJwk);
  await writeFileAtomically(join(dir, keyFileName(kid, 'private')), privateJwk);
  return kid;
}

async function ensureKeysDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask (which can only narrow it); set it exactly on a
  // folder we made. An existing folder keeps the mode its operator chose.
  if (created !== undefined) await chmod(dir, 0o700);
}

async function writeFileAtomically(path: string, jwk: JWK): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}

async function loadKeys(dir: string): Promise<LoadedKeys> {
  const privateKeys = new Map<string, JoseKey>();
  const publicKeys = new Map<string, JoseKey>();
  const names = await readdir(dir);
  for (const name of names.sort()) {
    const parsed = parseKeyFileName(name);
    if (parsed === null) continue;
    const jwk = await readJwk(join(dir, name), parsed.kid, parsed.kind === 'private');
    if (parsed.kind === 'private') {
      privateKeys.set(parsed.kid, await importKey(jwk, name));
    }
    // The public key always comes from the public members only, whichever file held them.
    if (!publicKeys.has(parsed.kid)) {
      publicKeys.set(parsed.kid, await importKey({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, name));
    }
  }
  return { privateKeys, publicKeys };
}

async function readJwk(path: string, kid: string, isPrivate: boolean): Promise<JWK> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new TroupeError('config', `signing key ${path}: unreadable or not JSON`, { cause: err });
  }
  const jwk = value as JWK;
  const ok =
    typeof value === 'object' && value !== null &&
    jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string' &&
    (!isPrivate || typeof jwk.d === 'string') &&
    (jwk.kid === undefined || jwk.kid === kid);
  if (!ok) {
    throw new TroupeError('config', `signing key ${path}: not an Ed25519 ${isPrivate ? 'private' : 'public'} JWK for kid ${kid}`);
  }
  return jwk;
}

async function importKey(jwk: JWK, fileName: string): Promise<JoseKey> {
  try {
    const key = await importJWK(jwk, SIGNING_ALG);
    if (key instanceof Uint8Array) throw new Error('symmetric key');
    return key;
  } catch (err) {
    throw new TroupeError('config', `signing key ${fileName}: cannot be imported`, { cause: err });
  }
}
