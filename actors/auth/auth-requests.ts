import { TroupeError } from '../../transport/errors.js';

/**
 * Validation of the auth endpoints' bodies (docs/protocol.md). Bodies arrive as parsed JSON
 * of unknown shape; each parser returns typed values or throws `invalid_argument` whose message
 * starts with the field's name.
 */

export const USERNAME_RULE = 'username: 3–32 characters of a-z 0-9 _ . -';
export const PASSWORD_RULE = 'password: 8–128 characters';
export const DISPLAY_NAME_RULE = 'displayName: 1–64 characters';

const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;
const DISPLAY_NAME_MAX = 64;

export interface RegistrationRequest {
  username: string;
  password: string;
  displayName: string;
}

export interface LoginRequest {
  username: string;
  password: string;
}

/** True when `username` follows the protocol's rule, i.e. could name a user. */
export function isValidUsername(username: string): boolean {
  return USERNAME_PATTERN.test(username);
}

/**
 * Whether `text` has between `min` and `max` characters (Unicode code points, so an emoji is
 * one). Decided from the UTF-16 length alone when it can be (a code point takes 1 or 2 units),
 * so that an oversized input is refused without walking it.
 */
export function hasCharCountBetween(text: string, min: number, max: number): boolean {
  if (text.length < min || text.length > 2 * max) return false;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const nextUnit = text.charCodeAt(i + 1);
      if (nextUnit >= 0xdc00 && nextUnit <= 0xdfff) i++;
    }
    count++;
    if (count > max) return false;
  }
  return count >= min;
}

/** `POST /v1/users`. `displayName` absent or null means "same as the username". */
export function parseRegistration(body: unknown): RegistrationRequest {
  const fields = asObject(body);
  const username = requireString(fields, 'username');
  if (!isValidUsername(username)) invalid(USERNAME_RULE);
  const password = requireString(fields, 'password');
  if (!hasCharCountBetween(password, PASSWORD_MIN, PASSWORD_MAX)) invalid(PASSWORD_RULE);
  const rawDisplayName = fields.displayName;
  let displayName = username;
  if (rawDisplayName !== undefined && rawDisplayName !== null) {
    if (typeof rawDisplayName !== 'string') invalid('displayName: must be a string');
    if (!hasCharCountBetween(rawDisplayName, 1, DISPLAY_NAME_MAX)) invalid(DISPLAY_NAME_RULE);
    displayName = rawDisplayName;
  }
  return { username, password, displayName };
}

/**
 * `POST /v1/sessions`. Only shapes are checked, plus the password's upper bound (refused here,
 * before any hashing, so a huge password costs nothing). A username or password that breaks the
 * registration rules otherwise is just a wrong login, not a malformed request.
 */
export function parseLogin(body: unknown): LoginRequest {
  const fields = asObject(body);
  const username = requireString(fields, 'username');
  const password = requireString(fields, 'password');
  if (!hasCharCountBetween(password, 0, PASSWORD_MAX)) invalid('password: at most 128 characters');
  return { username, password };
}

/** `POST /v1/sessions/refresh` and `DELETE /v1/sessions`. */
export function parseRefreshRequest(body: unknown): { refreshToken: string } {
  const fields = asObject(body);
  return { refreshToken: requireString(fields, 'refreshToken') };
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('body: must be a JSON object');
  return body as Record<string, unknown>;
}

function requireString(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (value === undefined || value === null) invalid(`${name}: required`);
  if (typeof value !== 'string') invalid(`${name}: must be a string`);
  return value;
}

function invalid(message: string): never {
  throw new TroupeError('invalid_argument', message);
}
