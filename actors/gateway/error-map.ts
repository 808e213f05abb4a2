/**
 * The one table from error codes to what a client sees: an HTTP status for requests, a
 * protocol code for error frames. Internal codes never reach a client as themselves.
 */
import { asTroupeError, type ErrorCode, type ProtocolErrorCode } from '../../transport/errors.js';
import type { HttpResponse } from '../../transport/http/port.js';

const HTTP_STATUS: Record<ProtocolErrorCode, number> = {
  invalid_argument: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** What an internal code means to a client. */
const CLIENT_CODE: Record<Exclude<ErrorCode, ProtocolErrorCode>, ProtocolErrorCode> = {
  not_owner: 'unavailable',
  stale_epoch: 'unavailable',
  timeout: 'unavailable',
  closed: 'unavailable',
  config: 'internal',
};

export function clientCode(code: ErrorCode): ProtocolErrorCode {
  return code in HTTP_STATUS ? (code as ProtocolErrorCode) : CLIENT_CODE[code as keyof typeof CLIENT_CODE];
}

export function httpStatus(code: ProtocolErrorCode): number {
  return HTTP_STATUS[code];
}

/**
 * The HTTP answer for a failure. `internal` errors carry only the request id: their own text
 * may hold details no client should see.
 */
export function errorResponse(raw: unknown, requestId: string): HttpResponse {
  const err = asTroupeError(raw);
  const code = clientCode(err.code);
  const message = code === 'internal' ? `internal error (request ${requestId})` : code !== err.code ? 'temporarily unavailable; try again' : err.message;
  const response: HttpResponse = { status: HTTP_STATUS[code], body: { error: { code, message } } };
  if (code === 'rate_limited') response.headers = { 'retry-after': String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000))) };
  return response;
}

/** The `message` of an error frame for a failure (internal details never leave). */
export function frameMessage(raw: unknown): { code: ProtocolErrorCode; message: string } {
  const err = asTroupeError(raw);
  const code = clientCode(err.code);
  if (code === 'internal') return { code, message: 'internal error' };
  return { code, message: code !== err.code ? 'temporarily unavailable; try again' : err.message };
}
