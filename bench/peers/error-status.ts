/**
 * How the peers tell a client no: over HTTP, the status docs/protocol.md gives each error code and
 * its `{"error":{"code","message"}}` body, so the load generator's setup code reads every target's
 * errors the same way; in a frame, the same code and message.
 */
import { asTroupeError, type ErrorCode } from '../../transport/errors.js';

const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

export interface ErrorAnswer {
  status: number;
  body: string;
}

/** What a client is told of a failure; anything not one of the codes above is `internal` without details. */
export function clientError(err: unknown): { code: string; message: string } {
  const error = asTroupeError(err);
  if (STATUS_OF_CODE[error.code] === undefined) return { code: 'internal', message: 'internal error' };
  return { code: error.code, message: error.message };
}

/** The HTTP answer for anything thrown by a route. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const error = clientError(err);
  return { status: STATUS_OF_CODE[error.code as ErrorCode] ?? 500, body: JSON.stringify({ error }) };
}
