import { createHash, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are 32 random bytes, base64url (43 characters). Only their SHA-256 is stored
 * (Store.RefreshTokenRow.tokenHash), so a leaked database holds no usable token; a fast hash is
 * enough because the token carries 256 bits of entropy (no guessing to slow down).
 */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a refresh token: SHA-256, lower-case hex. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Tokens of another shape cannot have been made here: refused without a database read. */
export function looksLikeRefreshToken(token: string): boolean {
  return token.length === 43 && /^[A-Za-z0-9_-]+$/.test(token);
}
