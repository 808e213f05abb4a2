/**
 * Access tokens of the Socket.IO peer: `<payload>.<signature>`, the payload base64url JSON
 * `{sub, exp}` and the signature its HMAC-SHA256 under a secret both processes share. What a
 * small team writes instead of adopting a JWT library; verifying costs one HMAC, no lookup.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Seconds a token is good for; Troupe's default access-token lifetime (docs/protocol.md). */
export const TOKEN_TTL_SEC = 900;

export class TokenSigner {
  constructor(private readonly secret: Buffer) {}

  issue(userId: string, nowMs = Date.now()): string {
    const payload = Buffer.from(JSON.stringify({ sub: userId, exp: Math.floor(nowMs / 1000) + TOKEN_TTL_SEC })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The token's user id, or undefined when it is malformed, forged or expired. */
  verify(token: unknown, nowMs = Date.now()): string | undefined {
    if (typeof token !== 'string') return undefined;
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return undefined;
      return claims.sub;
    } catch {
      return undefined;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
