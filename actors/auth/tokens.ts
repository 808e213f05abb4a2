import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from 'jose';
import { TroupeError } from '../../transport/errors.js';
import { SIGNING_ALG, type JoseKey, type SigningKeys } from './signing-keys.js';

export interface AccessTokenOptions {
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  accessTokenTtlSec: number;
  /** Clock skew between nodes accepted on `exp`/`iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Clock in ms since the epoch; injectable for tests. Default Date.now. */
  now?: () => number;
  /** Tokens whose verified claims are remembered (0: none). Default 4096. */
  verifiedCacheSize?: number;
}

/** Who a token is for: carried in the token so gateways need no lookup to greet a socket. */
export interface TokenUser {
  id: string;
  username: string;
  displayName: string;
}

/** What a verified access token says (frozen: one object may be shared). Times are ms since the epoch. */
export interface AccessClaims {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds until it expires (the protocol's `expiresIn`). */
  expiresIn: number;
}

/** RFC 9068's media type for access tokens; required on verify so no other JWT passes as one. */
const TOKEN_TYPE = 'at+jwt';
/** Far beyond any token this class makes; longer input is refused before it is parsed. */
const MAX_TOKEN_CHARS = 4096;

/**
 * Access tokens: short-lived EdDSA JWTs (docs/architecture.md), verified locally by every
 * node that holds the public keys.
 *
 * A token carries `iss`, `aud`, `sub` (the user id), `iat`, `exp`, the user's username and
 * display name (`preferred_username`, `name`), and its signing key's `kid` in the header.
 * `verify` accepts only alg EdDSA under a known kid, the configured issuer and audience, and an
 * unexpired token; anything else is `unauthenticated` with a short message.
 *
 * It runs on every authenticated request and WebSocket upgrade, so keys are imported once (at
 * construction) and looked up by kid in a map, and the claims of recently verified tokens are
 * remembered by the token's exact text: an Ed25519 check costs about 100 µs here, a repeat
 * lookup about 1 µs. A remembered token is still refused once expired, and only a byte-identical
 * token (same signature) can hit the cache, so it accepts nothing a full check would refuse.
 */
export class AccessTokens {
  private readonly keys: SigningKeys;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly ttlSec: number;
  private readonly clockToleranceSec: number;
  private readonly now: () => number;
  private readonly resolveKey: (header: JWTHeaderParameters) => JoseKey;
  private readonly cacheSize: number;
  /** Verified tokens in insertion order; the oldest is dropped first when full. */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(keys: SigningKeys, options: AccessTokenOptions) {
    if (!keys.publicKeys.has(keys.current.kid)) {
      throw new TroupeError('config', `signing keys: current kid ${keys.current.kid} has no public key`);
    }
    this.keys = keys;
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.ttlSec = options.accessTokenTtlSec;
    this.clockToleranceSec = options.clockToleranceSec ?? 5;
    this.now = options.now ?? Date.now;
    this.cacheSize = options.verifiedCacheSize ?? 4096;
    const publicKeys = keys.publicKeys;
    // Checked here as well as by `algorithms` below, so no key is ever handed out for a
    // header that names another algorithm.
    this.resolveKey = (header) => {
      const key = header.alg === SIGNING_ALG && typeof header.kid === 'string' ? publicKeys.get(header.kid) : undefined;
      if (key === undefined) throw new TroupeError('unauthenticated', 'access token signed with an unknown key');
      return key;
    };
  }

  /** A new access token for `user`, valid for the configured lifetime from now. */
  async issue(user: TokenUser): Promise<IssuedAccessToken> {
    const nowSec = Math.floor(this.now() / 1000);
    const accessToken = await new SignJWT({ preferred_username: user.username, name: user.displayName })
      .setProtectedHeader({ alg: SIGNING_ALG, kid: this.keys.current.kid, typ: TOKEN_TYPE })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(user.id)
      .setIssuedAt(nowSec)
      .setExpirationTime(nowSec + this.ttlSec)
      .sign(this.keys.current.privateKey);
    // Remembered as verified: it is this node's own signature over exactly these claims, and the
    // client's WebSocket upgrade usually follows at once (see `remembered`).
    this.remember(accessToken, Object.freeze({ userId: user.id, username: user.username, displayName: user.displayName, issuedAt: nowSec * 1000, expiresAt: (nowSec + this.ttlSec) * 1000 }));
    return { accessToken, expiresIn: this.ttlSec };
  }

  /**
   * The claims of `token` if it is one this node issued or verified recently and it has not
   * expired; otherwise undefined (then `verify` decides). Synchronous, so a WebSocket upgrade
   * with a known token is accepted inside the server's upgrade callback (docs/architecture.md,
   * "WebSocket upgrades").
   */
  remembered(token: unknown): AccessClaims | undefined {
    if (typeof token !== 'string') return undefined;
    const cached = this.verified.get(token);
    if (cached === undefined || this.now() >= cached.expiresAt + this.clockToleranceSec * 1000) return undefined;
    return cached;
  }

  /** The claims of a valid token; `unauthenticated` for anything else (never a stack). */
  async verify(token: unknown): Promise<AccessClaims> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new TroupeError('unauthenticated', 'missing access token');
    }
    if (token.length > MAX_TOKEN_CHARS) throw invalidToken();
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (this.now() < cached.expiresAt + this.clockToleranceSec * 1000) return cached;
      this.verified.delete(token);
    }
    const claims = await this.verifyFully(token);
    this.remember(token, claims);
    return claims;
  }

  private remember(token: string, claims: AccessClaims): void {
    if (this.cacheSize <= 0) return;
    if (this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, claims);
  }

  private async verifyFully(token: string): Promise<AccessClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.resolveKey, {
        algorithms: [SIGNING_ALG],
        issuer: this.issuer,
        audience: this.audience,
        typ: TOKEN_TYPE,
        requiredClaims: ['sub', 'iat', 'exp'],
        currentDate: new Date(this.now()),
        clockTolerance: this.clockToleranceSec,
      }));
    } catch (err) {
      if (err instanceof TroupeError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TroupeError('unauthenticated', 'access token expired');
      throw invalidToken();
    }
    const { sub, iat, exp, preferred_username: username, name: displayName } = payload;
    if (
      typeof sub !== 'string' || sub.length === 0 ||
      typeof username !== 'string' || typeof displayName !== 'string' ||
      typeof iat !== 'number' || typeof exp !== 'number'
    ) {
      throw invalidToken();
    }
    return Object.freeze({ userId: sub, username, displayName, issuedAt: iat * 1000, expiresAt: exp * 1000 });
  }
}

function invalidToken(): TroupeError {
  return new TroupeError('unauthenticated', 'invalid access token');
}
