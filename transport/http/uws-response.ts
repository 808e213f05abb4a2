/**
 * Writing a port `HttpResponse` to a uWebSockets.js response, once, and only while the client
 * is still there.
 *
 * uWS invalidates a response object when the client goes away (`onAborted`) or once it has been
 * ended; touching it afterwards crashes the process. `PendingResponse` owns that lifecycle: it
 * registers the abort handler as soon as it is made (uWS requires one before the route handler
 * returns without answering) and turns every later write into a no-op once the response is
 * finished either way.
 */

import { STATUS_CODES } from 'node:http';

import type { HttpResponse as UwsResponse, us_socket_context_t } from 'uWebSockets.js';

import type { HttpResponse } from './port.js';

/** The protocol's error body, `{"error": {"code", "message"}}`. */
export function errorResponse(status: number, code: string, message: string): HttpResponse {
  return { status, body: { error: { code, message } } };
}

/** The 500 answer for a handler that failed: it names the request id, never the error. */
export function internalErrorResponse(requestId: string): HttpResponse {
  return errorResponse(500, 'internal', `internal error (request ${requestId})`);
}

const statusLines = new Map<number, string>();

/** `"404 Not Found"`; uWS writes the status line verbatim, so the reason text is ours to add. */
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

interface SerialisedResponse {
  status: number;
  contentType: string | undefined;
  headers: Record<string, string> | undefined;
  payload: string | undefined;
}

/** Serialises before anything is written, so a body that cannot be serialised becomes a 500. */
function serialise(response: HttpResponse): SerialisedResponse {
  const { body, headers } = response;
  if (body === undefined) {
    return { status: response.status, contentType: undefined, headers, payload: undefined };
  }
  const declared = response.contentType ?? headerValue(headers, 'content-type');
  if (typeof body === 'string') {
    const contentType = declared ?? 'text/plain; charset=utf-8';
    return { status: response.status, contentType, headers, payload: body };
  }
  const contentType = declared ?? 'application/json';
  return { status: response.status, contentType, headers, payload: JSON.stringify(body) };
}

function headerValue(headers: Record<string, string> | undefined, lowerName: string): string | undefined {
  if (headers === undefined) return undefined;
  for (const name in headers) if (name.toLowerCase() === lowerName) return headers[name];
  return undefined;
}

/** Header names uWS writes itself or that `serialise` already folded into `contentType`. */
function isManagedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'content-length' || lower === 'content-type' || lower === 'transfer-encoding';
}

export class PendingResponse {
  private aborted = false;
  private finished = false;

  constructor(
    private readonly res: UwsResponse,
    readonly requestId: string,
    private readonly isHead: boolean,
  ) {
    res.onAborted(() => {
      this.aborted = true;
    });
  }

  /** True while the response may still be written: not answered, not aborted by the client. */
  get open(): boolean {
    return !this.aborted && !this.finished;
  }

  /**
   * Answers the request. `closeConnection` ends the connection after the answer, used when the
   * rest of the request (an oversized body) is not worth reading.
   */
  send(response: HttpResponse, closeConnection = false): void {
    if (!this.open) return;
    let out: SerialisedResponse;
    try {
      out = serialise(response);
    } catch {
      out = serialise(internalErrorResponse(this.requestId));
    }
    this.finished = true;
    this.res.cork(() => this.write(out, closeConnection));
  }

  /** Completes a WebSocket upgrade; `userData` becomes the socket's user data in uWS. */
  upgrade(userData: unknown, key: string, protocol: string, extensions: string, context: us_socket_context_t): void {
    if (!this.open) return;
    this.finished = true;
    this.res.cork(() => this.res.upgrade(userData, key, protocol, extensions, context));
  }

  private write(out: SerialisedResponse, closeConnection: boolean): void {
    const res = this.res;
    res.writeStatus(statusLine(out.status));
    res.writeHeader('x-request-id', this.requestId);
    if (out.contentType !== undefined) res.writeHeader('content-type', out.contentType);
    if (out.headers !== undefined) {
      for (const name in out.headers) {
        const value = out.headers[name];
        if (value !== undefined && !isManagedHeader(name)) res.writeHeader(name, value);
      }
    }
    if (out.status === 204 || out.status === 304) {
      // No Content-Length on 204/304 (RFC 9110 §8.6): uWS omits it only for a bare endWithoutBody().
      if (closeConnection) res.endWithoutBody(0, true);
      else res.endWithoutBody();
    } else if (this.isHead) {
      res.endWithoutBody(out.payload === undefined ? 0 : Buffer.byteLength(out.payload), closeConnection);
    } else if (out.payload === undefined) {
      res.end(undefined, closeConnection);
    } else {
      res.end(out.payload, closeConnection);
    }
  }
}
