import { TroupeError } from '../../transport/errors.js';
import type { RefreshTokenRow, Store, UserRow } from '../../transport/store/port.js';
import { newId } from '../ids.js';
import { isValidUsername, parseLogin, parseRefreshRequest, parseRegistration } from './auth-requests.js';
import type { LoginLimiter } from './login-limiter.js';
import type { SharedLoginFailures } from './shared-login-failures.js';
import type { PasswordHasher } from './password-hasher.js';
import { hashRefreshToken, looksLikeRefreshToken, newRefreshToken } from './refresh-tokens.js';
import type { AccessClaims, AccessTokens } from './tokens.js';

/** A user as the protocol shows it. */
export interface UserDto {
  id: string;
  username: string;
  displayName: string;
}

/** The answer to login and refresh (docs/protocol.md, `POST /v1/sessions`). */
export interface SessionDto {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: UserDto;
}

export interface AuthServiceOptions {
  store: Store;
  hasher: PasswordHasher;
  tokens: AccessTokens;
  limiter: LoginLimiter;
  /** Failed-login counts shared with the other gateways of a cluster; absent in embedded mode. */
  sharedFailures?: SharedLoginFailures;
  /** Lifetime of each refresh token from its issue (each rotation starts a new one). */
  refreshTokenTtlSec: number;
  /** Clock in ms; injectable for tests. Default Date.now. */
  now?: () => number;
}

const WRONG_CREDENTIALS = 'wrong username or password';
/** Users remembered as existing; past it the memory starts over (costing one read per user). */
const KNOWN_USERS_MAX = 100_000;
const BAD_REFRESH_TOKEN = 'invalid refresh token';

/**
 * The auth endpoints' logic (docs/protocol.md: `POST /v1/users`, `POST /v1/sessions`,
 * `POST /v1/sessions/refresh`, `DELETE /v1/sessions`, `GET /v1/me`) and bearer-token checks.
 * Routes hand it parsed JSON bodies (`unknown`); it validates them, and every failure is a
 * TroupeError with a protocol code.
 *
 * Refresh tokens rotate on every use and each login is one family: presenting a spent or
 * revoked token revokes the family, so a stolen token is good for at most one refresh and its
 * use cuts off the thief and the victim alike (who logs in again). Concurrent refreshes with
 * one token are decided by the store's compare-and-set: one wins, the other counts as reuse.
 */
export class AuthService {
  private readonly store: Store;
  private readonly hasher: PasswordHasher;
  private readonly tokens: AccessTokens;
  private readonly limiter: LoginLimiter;
  private readonly shared: SharedLoginFailures | undefined;
  private readonly refreshTtlMs: number;
  private readonly now: () => number;
  private readonly knownUsers = new Set<string>();

  constructor(options: AuthServiceOptions) {
    this.store = options.store;
    this.hasher = options.hasher;
    this.tokens = options.tokens;
    this.limiter = options.limiter;
    this.shared = options.sharedFailures;
    this.refreshTtlMs = options.refreshTokenTtlSec * 1000;
    this.now = options.now ?? Date.now;
  }

  /** `POST /v1/users`: `invalid_argument` naming the field; `conflict` when the name is taken. */
  async register(body: unknown): Promise<UserDto> {
    const { username, password, displayName } = parseRegistration(body);
    // Saves a hash on the common case; the store's unique key still decides races.
    if ((await this.store.getUserByUsername(username)) !== null) throw usernameTaken();
    const passwordHash = await this.hasher.hash(password);
    const user: UserRow = { id: newId('u'), username, displayName, passwordHash, createdAt: this.now() };
    try {
      await this.store.createUser(user);
    } catch (err) {
      if (err instanceof TroupeError && err.code === 'conflict') throw usernameTaken();
      throw err;
    }
    return userDto(user);
  }

  /**
   * `POST /v1/sessions`. The limiter is asked before any lookup or hashing; a wrong password
   * and an unknown username get the same answer after the same work (a dummy verify), and both
   * count as failures. `unavailable` when the hashing pool is full (not a failure).
   */
  async login(body: unknown, remoteAddress: string): Promise<SessionDto> {
    const { username, password } = parseLogin(body);
    if (!isValidUsername(username)) {
      // No such user can exist, so there is nothing to hide and nothing to hash.
      this.limiter.check(username, remoteAddress);
      await this.shared?.check(null, remoteAddress);
      this.limiter.recordFailure(null, remoteAddress);
      await this.shared?.record(null, remoteAddress);
      throw new TroupeError('unauthenticated', WRONG_CREDENTIALS);
    }
    this.limiter.check(username, remoteAddress);
    await this.shared?.check(username, remoteAddress);
    this.limiter.begin(username, remoteAddress);
    let failed = false;
    try {
      const user = await this.store.getUserByUsername(username);
      const matches = user === null
        ? await this.hasher.verifyDummy(password)
        : await this.hasher.verify(user.passwordHash, password);
      if (user === null || !matches) {
        failed = true;
        throw new TroupeError('unauthenticated', WRONG_CREDENTIALS);
      }
      const refreshToken = await this.startFamily(user.id);
      return await this.session(user, refreshToken);
    } finally {
      this.limiter.end(username, remoteAddress, failed);
      if (failed) await this.shared?.record(username, remoteAddress);
    }
  }

  /**
   * `POST /v1/sessions/refresh`: spends the token and returns a new pair. Unknown, expired,
   * spent or revoked tokens are `unauthenticated`; spent and revoked ones also revoke their
   * family (theft: see the class comment).
   */
  async refresh(body: unknown): Promise<SessionDto> {
    const { refreshToken } = parseRefreshRequest(body);
    if (!looksLikeRefreshToken(refreshToken)) throw new TroupeError('unauthenticated', BAD_REFRESH_TOKEN);
    const tokenHash = hashRefreshToken(refreshToken);
    const row = await this.store.getRefreshToken(tokenHash);
    if (row === null) throw new TroupeError('unauthenticated', BAD_REFRESH_TOKEN);
    if (row.usedAt !== null || row.revoked) throw await this.revokeForReuse(row.familyId);
    const now = this.now();
    if (row.expiresAt <= now) throw new TroupeError('unauthenticated', 'refresh token expired');
    const user = await this.store.getUser(row.userId);
    if (user === null) {
      await this.store.revokeRefreshFamily(row.familyId);
      throw new TroupeError('unauthenticated', BAD_REFRESH_TOKEN);
    }
    const next = newRefreshToken();
    const spent = await this.store.rotateRefreshToken(tokenHash, now, this.tokenRow(next, user.id, row.familyId, now));
    // Lost the compare-and-set: someone spent it (or revoked the family) since we read it.
    if (!spent) throw await this.revokeForReuse(row.familyId);
    return this.session(user, next);
  }

  /**
   * `DELETE /v1/sessions`: revokes the family of the given refresh token. An unknown, malformed
   * or already revoked token succeeds silently as well (204), so the answer tells a caller
   * nothing about which tokens exist; only a body without a string `refreshToken` is refused.
   */
  async logout(body: unknown): Promise<void> {
    const { refreshToken } = parseRefreshRequest(body);
    if (!looksLikeRefreshToken(refreshToken)) return;
    const row = await this.store.getRefreshToken(hashRefreshToken(refreshToken));
    if (row !== null && !row.revoked) await this.store.revokeRefreshFamily(row.familyId);
  }

  /** `GET /v1/me`: `not_found` when the user no longer exists. */
  async me(userId: string): Promise<UserDto> {
    const user = await this.store.getUser(userId);
    if (user === null) throw new TroupeError('not_found', 'user not found');
    return userDto(user);
  }

  /**
   * Checks an `Authorization` header (`Bearer <token>`, scheme case-insensitive) and returns
   * the token's claims; `unauthenticated` when it is missing, malformed, or the token is bad.
   */
  verifyBearer(header: string | undefined): Promise<AccessClaims> {
    if (header === undefined) return Promise.reject(new TroupeError('unauthenticated', 'missing bearer token'));
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null) return Promise.reject(new TroupeError('unauthenticated', 'malformed authorization header'));
    return this.verifyAccessToken(match[1]);
  }

  /**
   * The claims of an access token this node already knows to be good (issued or verified here,
   * unexpired, naming a user known to exist), without waiting; undefined when only
   * `verifyAccessToken` can tell.
   */
  knownAccessToken(token: unknown): AccessClaims | undefined {
    const claims = this.tokens.remembered(token);
    return claims !== undefined && this.knownUsers.has(claims.userId) ? claims : undefined;
  }

  /** Checks a bare access token, e.g. the WebSocket upgrade's `?token=`. */
  async verifyAccessToken(token: unknown): Promise<AccessClaims> {
    const claims = await this.tokens.verify(token);
    await this.assertUserExists(claims.userId);
    return claims;
  }

  /**
   * A well-signed token names a user this database knows (keys copied to a fresh data folder
   * would otherwise admit users that do not exist). Users are never deleted, so a user seen once
   * is remembered and the check costs a read only on a user's first token in this process.
   */
  private async assertUserExists(userId: string): Promise<void> {
    if (this.knownUsers.has(userId)) return;
    if ((await this.store.getUser(userId)) === null) throw new TroupeError('unauthenticated', 'the token names no known user');
    this.rememberUser(userId);
  }

  private rememberUser(userId: string): void {
    if (this.knownUsers.size >= KNOWN_USERS_MAX) this.knownUsers.clear();
    this.knownUsers.add(userId);
  }

  private async startFamily(userId: string): Promise<string> {
    const token = newRefreshToken();
    await this.store.insertRefreshToken(this.tokenRow(token, userId, newId('f'), this.now()));
    return token;
  }

  private tokenRow(token: string, userId: string, familyId: string, now: number): RefreshTokenRow {
    return {
      tokenHash: hashRefreshToken(token),
      userId,
      familyId,
      expiresAt: now + this.refreshTtlMs,
      usedAt: null,
      revoked: false,
    };
  }

  private async session(user: UserRow, refreshToken: string): Promise<SessionDto> {
    this.rememberUser(user.id);
    const dto = userDto(user);
    const { accessToken, expiresIn } = await this.tokens.issue(dto);
    return { accessToken, refreshToken, expiresIn, user: dto };
  }

  private async revokeForReuse(familyId: string): Promise<TroupeError> {
    await this.store.revokeRefreshFamily(familyId);
    return new TroupeError('unauthenticated', 'refresh token no longer valid; please log in again');
  }
}

/** A user as the protocol shows it: never its password hash. */
export function userDto(user: UserRow): UserDto {
  return { id: user.id, username: user.username, displayName: user.displayName };
}

function usernameTaken(): TroupeError {
  return new TroupeError('conflict', 'username: already taken');
}
