/**
 * A uWebSockets.js WebSocket behind the port's `ClientSocket`.
 *
 * One object per connection, made when the upgrade is accepted and carried in the socket's user
 * data, so a connection costs uWS's WebSocket object and this one on the JavaScript side. uWS
 * throws on any call to a socket after its close event; `closed` is set first thing in every
 * path that ends the socket, and every call checks it, so `send` after close is 'dropped' and
 * never throws.
 *
 * `close()` runs the socket's close event — and so the handler's `onClose` — before it returns,
 * as uWS does: a handler must not assume `onClose` comes later.
 */

import type { WebSocket } from 'uWebSockets.js';

import type { ClientSocket, SendResult, SocketHandler } from './port.js';

/** Close reasons travel in a control frame: at most 123 bytes after the 2-byte code. */
const MAX_REASON_BYTES = 123;

function fitReason(reason: string): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no measuring.
  if (reason.length * 3 <= MAX_REASON_BYTES) return reason;
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  let end = MAX_REASON_BYTES;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // not inside a character
  return bytes.toString('utf8', 0, end);
}

/**
 * What the socket carries in uWS. uWS copies the properties of the object given to `upgrade()`
 * onto its own WebSocket object, so the wrapper travels as a property, not as the object.
 */
export interface UwsUserData {
  socket: UwsClientSocket;
}

export class UwsClientSocket implements ClientSocket {
  private ws: WebSocket<UwsUserData> | null = null;
  private isClosed = false;
  /** The gateway's handler; null until `open()` returns (or when it threw). */
  handler: SocketHandler | null = null;
  /** Held from the upgrade until `open()` consumes it. */
  context: unknown;
  /** True while `open()` runs, so a close inside it is delivered once `open()` returned. */
  opening = false;
  /** Close code seen while `opening`. */
  closedDuringOpen: number | undefined;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    context: unknown,
  ) {
    this.context = context;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  attach(ws: WebSocket<UwsUserData>): void {
    this.ws = ws;
  }

  /** Called from uWS's close event: the native socket is gone from here on. */
  markClosed(): void {
    this.isClosed = true;
    this.ws = null;
  }

  send(text: string): SendResult {
    const ws = this.ws;
    if (this.isClosed || ws === null) return 'dropped';
    try {
      const status = ws.send(text, false, false);
      return status === 1 ? 'sent' : status === 0 ? 'buffered' : 'dropped';
    } catch {
      return 'dropped';
    }
  }

  bufferedAmount(): number {
    const ws = this.ws;
    if (this.isClosed || ws === null) return 0;
    try {
      return ws.getBufferedAmount();
    } catch {
      return 0;
    }
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (this.isClosed || ws === null) return;
    this.isClosed = true; // before end(): onClose runs inside it and may send
    try {
      ws.end(code, fitReason(reason));
    } catch {
      // Already gone natively; its close event has run or will run.
    }
  }
}
