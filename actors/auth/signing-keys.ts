import type { CryptoKey, KeyObject } from 'jose';

/**
 * Signing keys of access tokens: their shape and the pure rules about them. Reading and writing
 * key files is bin/signing-keys.ts's job (bin/ owns file I/O).
 *
 * Rotation: several keys may exist at once. The newest one with a private part signs (it is
 * `current`); every key, old or new, still verifies, so tokens signed before a rotation stay
 * valid until they expire. A key is retired by deleting its files once no unexpired token can
 * carry its kid (one access-token lifetime after it stopped being current).
 */

/** A key as jose takes it (jose 6 on Node makes CryptoKeys; KeyObjects work too). */
export type JoseKey = CryptoKey | KeyObject;

export interface SigningKeys {
  /** The key that signs new tokens; its kid goes into each token's header. */
  current: { kid: string; privateKey: JoseKey };
  /** Every key that verifies, current included, by kid. */
  publicKeys: ReadonlyMap<string, JoseKey>;
}

/** The JWS algorithm of every Troupe access token (Ed25519 signatures). */
export const SIGNING_ALG = 'EdDSA';

/**
 * A kid is the key's creation time (UTC, to the second) and a random suffix, e.g.
 * `20250301T120000Z-x1Yb2c`. Sorting kids as strings orders them by age, so the newest key is
 * found without any metadata beside the files.
 */
const KID_PATTERN = /^\d{8}T\d{6}Z-[A-Za-z0-9_-]{6,32}$/;

export function makeKid(createdAtMs: number, randomSuffix: string): string {
  const stamp = new Date(createdAtMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomSuffix}`;
}

export function isKid(value: string): boolean {
  return KID_PATTERN.test(value);
}

/** The newest of `kids` (by the creation time written in them), or undefined when empty. */
export function newestKid(kids: Iterable<string>): string | undefined {
  let newest: string | undefined;
  for (const kid of kids) {
    if (newest === undefined || kid > newest) newest = kid;
  }
  return newest;
}

export type KeyFileKind = 'private' | 'public';

const PRIVATE_SUFFIX = '.private.jwk.json';
const PUBLIC_SUFFIX = '.public.jwk.json';

/** File name of a key's private JWK (which also holds its public part) or public-only JWK. */
export function keyFileName(kid: string, kind: KeyFileKind): string {
  return kid + (kind === 'private' ? PRIVATE_SUFFIX : PUBLIC_SUFFIX);
}

/** The kid and kind of a key file name; null for any other file (ignored). */
export function parseKeyFileName(name: string): { kid: string; kind: KeyFileKind } | null {
  let kind: KeyFileKind;
  let kid: string;
  if (name.endsWith(PRIVATE_SUFFIX)) {
    kind = 'private';
    kid = name.slice(0, -PRIVATE_SUFFIX.length);
  } else if (name.endsWith(PUBLIC_SUFFIX)) {
    kind = 'public';
    kid = name.slice(0, -PUBLIC_SUFFIX.length);
  } else {
    return null;
  }
  return isKid(kid) ? { kid, kind } : null;
}
