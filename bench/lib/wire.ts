/**
 * How the load generator talks to one system under test over WebSocket: its "wire".
 *
 * Every target is set up over the same HTTP calls (docs/protocol.md: POST /v1/users,
 * /v1/sessions, /v1/conversations, GET /readyz; the peers in bench/peers/ answer that subset),
 * and every wire reports what the server pushes as Troupe server frames, so the load step, the
 * ledger and the histograms are written once. Wires:
 *
 * - `troupe`: JSON text frames of docs/protocol.md over `ws` (Troupe itself, any mode, and the
 *   raw uWebSockets.js bound, which speaks that subset);
 * - `socketio`: socket.io-client against the Socket.IO peer (bench/peers/socketio/), whose
 *   events map one to one onto the frames below (an emit's acknowledgement becomes `ack`).
 *
 * A wire's hot path is one message per send and one callback per server frame: no per-frame
 * promise, no timer.
 */

/** A server frame as received; only the fields the benchmark reads. */
export interface ServerFrame {
  type: string;
  id?: string;
  conv?: string;
  seq?: number;
  from?: string;
  code?: string;
  ref?: string;
  message?: string;
  /** `history` frames: the messages returned by a sync. */
  messages?: ReadonlyArray<{ seq: number; id: string; from: string }>;
  more?: boolean;
}

export interface WireCallbacks {
  /** Every frame the server sends to this connection, in arrival order. */
  onFrame(socket: WireSocket, frame: ServerFrame): void;
  /** The connection closed without `close()` being called (server, network or backpressure). */
  onUnexpectedClose(socket: WireSocket, code: number): void;
}

export interface WireConnectOptions {
  /** The target's base URL, `http://host:port` (the wire derives its WebSocket URL). */
  baseUrl: string;
  /** The user's access token from POST /v1/sessions. */
  token: string;
  /** Source address to bind (127.0.0.x): each gives about 28,000 ephemeral ports towards one server. */
  localAddress?: string;
}

/** One user's connection. */
export interface WireSocket {
  readonly index: number;
  /** Resolves once the server has accepted the connection as this user (Troupe: the `ready` frame). */
  readonly ready: Promise<void>;
  /** Posts a message with client id `id` to conversation `conv`; answered by an `ack` (or `error` with ref `id`). */
  sendMessage(conv: string, id: string, text: string): void;
  /** Asks for messages after `after`; answered by a `history` frame. */
  sync(conv: string, after: number, limit: number): void;
  /** Bytes queued in the generator, not yet handed to the kernel: a generator falling behind shows here. */
  readonly bufferedAmount: number;
  /** Closes politely; resolves when closed. */
  close(): Promise<void>;
}

export interface Wire {
  readonly name: 'troupe' | 'socketio';
  connect(index: number, options: WireConnectOptions, callbacks: WireCallbacks): WireSocket;
}
