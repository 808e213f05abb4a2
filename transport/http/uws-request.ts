/**
 * Reading a uWebSockets.js request into the port's `HttpRequest`.
 *
 * A uWS request object is valid only until its route handler returns or first awaits, so
 * `readRequestHead` copies everything out synchronously. The body arrives later through
 * `onData`, in chunks whose ArrayBuffers uWS reuses (neuters) after each call: every chunk is
 * copied once, into a buffer sized from Content-Length when the client announced one, or into a
 * list joined once at the end, so a large body costs linear time, never quadratic.
 */

import type { HttpRequest as UwsRequest, HttpResponse as UwsResponse } from 'uWebSockets.js';

import type { HttpRequest } from './port.js';

/** Shared by every request without a body; a zero-length Buffer cannot be written to. */
export const EMPTY_BODY: Buffer = Buffer.alloc(0);

/** Copies method, path, query, headers and remote address; the body is `EMPTY_BODY` for now. */
export function readRequestHead(req: UwsRequest, res: UwsResponse, requestId: string): HttpRequest {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  req.forEach((name, value) => {
    // uWS gives names lower-cased; a repeated header is folded as RFC 9110 §5.3 allows.
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  });
  return {
    method: req.getCaseSensitiveMethod(),
    path: req.getUrl(),
    // getQuery() returns undefined, not '', when the URL has no query string.
    query: new URLSearchParams(req.getQuery() ?? ''),
    headers,
    body: EMPTY_BODY,
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'),
    requestId,
  };
}

/**
 * The announced Content-Length, or undefined without one (no body, or a chunked body).
 * uWS itself refuses a malformed value before the handler runs.
 */
export function declaredLength(headers: Record<string, string>): number | undefined {
  const value = headers['content-length'];
  if (value === undefined || value === '') return undefined;
  const length = Number(value);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Streams the body of `res` and hands it to `done` once complete, or `null` as soon as more than
 * `maxBytes` have arrived (nothing more is kept after that). `declared` is the Content-Length,
 * already checked to be within `maxBytes`.
 */
export function readBody(
  res: UwsResponse,
  maxBytes: number,
  declared: number | undefined,
  done: (body: Buffer | null) => void,
): void {
  let received = 0;
  let refused = false;
  // With a declared length the body is copied straight into its final buffer.
  const whole = declared !== undefined && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const parts: Buffer[] = [];
  res.onData((chunk, isLast) => {
    if (refused) return;
    const size = chunk.byteLength;
    if (received + size > maxBytes || (whole !== undefined && received + size > whole.length)) {
      refused = true;
      done(null);
      return;
    }
    if (size > 0) {
      if (whole !== undefined) whole.set(new Uint8Array(chunk), received);
      else parts.push(Buffer.from(new Uint8Array(chunk))); // Buffer.from(Uint8Array) copies.
    }
    received += size;
    if (!isLast) return;
    if (whole !== undefined) done(received === whole.length ? whole : whole.subarray(0, received));
    else if (parts.length === 0) done(EMPTY_BODY);
    else done(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, received));
  });
}
