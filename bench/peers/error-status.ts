/**
 * How the peers tell a client no: over HTTP, the status docs/protocol.md gives each error code and
 * its `{"error":{"code","message"}}` body, so the load generator's setup code reads every target's
 * errors the same way; in a frame, the same code and message.
 */
import { frameMessage, httpStatus } from '../../actors/gateway/error-map.js';

export interface ErrorAnswer {
  status: number;
  body: string;
}

/** What a client is told of a failure: Troupe's own table (actors/gateway/error-map.ts), so internal details never leave. */
export function clientError(err: unknown): { code: string; message: string } {
  return frameMessage(err);
}

/** The HTTP answer for anything thrown by a route. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const error = frameMessage(err);
  return { status: httpStatus(error.code), body: JSON.stringify({ error }) };
}
