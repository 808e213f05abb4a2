/**
 * The gateway server port: HTTP requests and WebSockets as plain values, so the gateway's
 * logic (actors/gateway/) never touches a server library.
 *
 * Implementation: `uws.ts` over uWebSockets.js (native build only).
 *
 * Guarantees:
 * - **Bodies.** A request reaches `http()` with its whole body, or not at all: a body over
 *   `maxBodyBytes` is answered 413 `too_large` by the server without calling the handler, and a
 *   request aborted by the client is dropped.
 * - **Errors.** A handler that throws gets a 500 `internal` answer carrying the request id,
 *   never the error's text.
 * - **Upgrade.** A WebSocket is opened only if `upgrade()` accepted the request; its context is
 *   handed to `open()`. Every opened socket gets exactly one `onClose`.
 * - **Frames.** `onMessage` gets text frames as strings and binary frames as `null`, with the
 *   frame's size in bytes, in arrival order. Frames up to `maxPayloadBytes` are delivered; the
 *   size check against the protocol's limit is the handler's (so it can close with 1009).
 * - **Sending.** `send` never throws; it reports how the frame was taken. A socket over
 *   `maxBackpressureBytes` is the handler's to close.
 */

export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
  remoteAddress: string;
  requestId: string;
}

export interface HttpResponse {
  status: number;
  /** Serialised as JSON unless it is a string (sent as is, with `contentType`). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export type SendResult = 'sent' | 'buffered' | 'dropped';

export interface ClientSocket {
  readonly id: string;
  readonly remoteAddress: string;
  /** Sends one text frame. 'buffered': queued under backpressure; 'dropped': not sent. */
  send(text: string): SendResult;
  /** Bytes queued and not yet written to the network. */
  bufferedAmount(): number;
  /** Closes with a close frame; later sends are dropped. Idempotent. */
  close(code: number, reason: string): void;
  readonly closed: boolean;
}

export interface SocketHandler {
  onMessage(text: string | null, sizeBytes: number): void;
  onClose(code: number): void;
}

export type UpgradeResult<C> = { accept: true; context: C } | { accept: false; response: HttpResponse };

export interface GatewayHandlers<C> {
  http(req: HttpRequest): Promise<HttpResponse>;
  /**
   * Decides a WebSocket upgrade on `wsPath` before it happens. A decision returned at once (not
   * a promise) is carried out inside the server's own upgrade callback; return one whenever
   * nothing needs waiting for (uws.ts explains why that matters on uWebSockets.js).
   */
  upgrade(req: HttpRequest): UpgradeResult<C> | Promise<UpgradeResult<C>>;
  open(socket: ClientSocket, context: C): SocketHandler;
}

export interface GatewayServerOptions {
  host: string;
  port: number;
  /** Path on which WebSocket upgrades are taken, e.g. `/v1/ws`. */
  wsPath: string;
  maxBodyBytes: number;
  /** Transport limit of a frame; larger frames are dropped by the library. */
  maxPayloadBytes: number;
  maxBackpressureBytes: number;
  /** Seconds of silence after which a socket is closed. */
  idleTimeoutSec: number;
}

export interface GatewayServer {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen<C>(handlers: GatewayHandlers<C>): Promise<number>;
  /** Stops accepting connections and requests; open sockets stay. */
  stopListening(): void;
  /**
   * Stops listening and drops every remaining connection (WebSockets still get `onClose`); the
   * end of a shutdown, after sockets were closed politely.
   */
  close(): void;
  /** Every open socket. */
  sockets(): Iterable<ClientSocket>;
}
