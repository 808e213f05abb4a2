/**
 * The gateway server port over uWebSockets.js (see port.ts for the guarantees).
 *
 * Runs on the native build only: the package silently swaps in a slow pure-JavaScript server
 * when its binary does not load, so construction checks for the native module and refuses.
 *
 * Mapping of the options onto uWS:
 * - `maxPayloadBytes` → `maxPayloadLength`: a larger frame makes uWS drop the connection
 *   without a close frame (the client sees 1006). Set it above the protocol's frame limit and
 *   let the handler close with 1009.
 * - `idleTimeoutSec` → `idleTimeout`: uWS takes 0 (off) or 8–960 s and counts in 4 s ticks, so
 *   the value is rounded up to a multiple of 4, and anything in 1–7 becomes 8. uWS pings an idle
 *   socket before the timeout, so only a peer that stopped answering is closed.
 * - `maxBackpressureBytes` → `maxBackpressure`, with `closeOnBackpressureLimit` off: a send over
 *   the limit is reported 'dropped' and the handler decides to close.
 * - No permessage-deflate: this build has none, and frames are small JSON.
 *
 * After `stopListening()` the listen socket is closed, and requests or upgrades that still
 * arrive on kept-alive connections are answered 503 `unavailable` and their connection closed;
 * open WebSockets are untouched.
 */


import uWS from 'uWebSockets.js';
import { randomId } from '../random-id.js';
import type {
  HttpRequest as UwsRequest,
  HttpResponse as UwsResponse,
  TemplatedApp,
  WebSocket,
  us_listen_socket,
  us_socket_context_t,
} from 'uWebSockets.js';

import { TroupeError } from '../errors.js';
import type {
  ClientSocket,
  GatewayHandlers,
  UpgradeResult,
  GatewayServer,
  GatewayServerOptions,
  HttpRequest,
} from './port.js';
import { declaredLength, readBody, readRequestHead } from './uws-request.js';
import { PendingResponse, errorResponse, internalErrorResponse } from './uws-response.js';
import { UwsClientSocket, type UwsUserData } from './uws-socket.js';

/** Where a handler failure happened; for the operator's log. */
export type UwsFailurePhase = 'http' | 'upgrade' | 'open' | 'message' | 'close';

export interface UwsServerHooks {
  /**
   * A handler threw (or rejected). The client got a 500 naming `requestId` (HTTP, upgrade) or
   * its socket was closed with 1011 (open, message); this is where the error itself is logged.
   */
  onHandlerError?(err: unknown, where: { phase: UwsFailurePhase; requestId?: string; socketId?: string }): void;
}

/** uWS's idle timeout for `idleTimeoutSec`: 0, or 8–960 in steps of 4 (see the module doc). */
export function uwsIdleTimeout(idleTimeoutSec: number): number {
  if (!Number.isFinite(idleTimeoutSec) || idleTimeoutSec < 0 || idleTimeoutSec > 960) {
    throw new TroupeError('config', `idleTimeoutSec must be 0 (off) or at most 960 seconds, got ${idleTimeoutSec}`);
  }
  if (idleTimeoutSec === 0) return 0;
  return Math.max(8, Math.ceil(idleTimeoutSec / 4) * 4);
}

/** Throws unless the package loaded its native binary (only that exports `getParts`). */
export function assertNativeUws(): void {
  if (typeof (uWS as unknown as Record<string, unknown>)['getParts'] === 'function') return;
  throw new TroupeError(
    'unavailable',
    'uWebSockets.js native binary failed to load, and its pure-JavaScript fallback is not fit to serve. ' +
      `This process is Node.js ${process.version} on ${process.platform}-${process.arch} (module ABI ` +
      `${process.versions.modules}); the installed package ships binaries for Node.js 16, 18 and 20 ` +
      '(ABI 93, 108, 115) on linux x64/arm64/arm, darwin x64/arm64 and win32 x64. Run a supported ' +
      'Node.js, unset UWS_USE_FALLBACK, and read the warning the package printed when it loaded.',
    { retriable: false },
  );
}

/** 8 random base64url characters. */
function randomRequestId(): string {
  return randomId(6);
}

function isWebSocketUpgrade(req: UwsRequest): boolean {
  const upgrade = req.getHeader('upgrade');
  return upgrade !== '' && upgrade.toLowerCase().includes('websocket');
}

/** The first subprotocol the client offered: a server must answer with one, not the list. */
function firstProtocol(offered: string | undefined): string {
  if (offered === undefined || offered === '') return '';
  const comma = offered.indexOf(',');
  return (comma === -1 ? offered : offered.slice(0, comma)).trim();
}

export class UwsGatewayServer implements GatewayServer {
  private readonly options: GatewayServerOptions;
  private readonly hooks: UwsServerHooks;
  private readonly idleTimeout: number;
  /** Socket ids are `<random per server>.<counter>`: unique across restarts of a gateway. */
  private readonly socketIdPrefix = `${randomRequestId()}.`;
  private socketCounter = 0;
  private readonly openSockets = new Set<UwsClientSocket>();
  private handlers: GatewayHandlers<unknown> | null = null;
  private app: TemplatedApp | null = null;
  private listenSocket: us_listen_socket | null = null;
  private stopped = false;

  constructor(options: GatewayServerOptions, hooks: UwsServerHooks = {}) {
    assertNativeUws();
    this.options = { ...options };
    this.hooks = hooks;
    this.idleTimeout = uwsIdleTimeout(options.idleTimeoutSec);
  }

  listen<C>(handlers: GatewayHandlers<C>): Promise<number> {
    if (this.handlers !== null) {
      return Promise.reject(new TroupeError('internal', 'gateway server: listen() called twice'));
    }
    this.handlers = handlers as GatewayHandlers<unknown>;
    const app = uWS.App();
    this.app = app;
    app.ws<UwsUserData>(this.options.wsPath, {
      maxPayloadLength: this.options.maxPayloadBytes,
      idleTimeout: this.idleTimeout,
      maxBackpressure: this.options.maxBackpressureBytes,
      closeOnBackpressureLimit: 0, // typed as a number by the package; read as a boolean
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws, code) => this.onClose(ws, code),
    });
    app.any('/*', (res, req) => this.onHttp(res, req));

    const { host, port } = this.options;
    return new Promise<number>((resolve, reject) => {
      // Exclusive: uSockets sets SO_REUSEPORT by default, so a second server on the same port
      // would silently share its connections (and a port-0 bind could even land on a port in
      // use). Without it, "address in use" is an error as everywhere else.
      // (The package's typings lack the host + options overload that the native module has.)
      const listen = app.listen.bind(app) as unknown as (h: string, p: number, o: number, cb: (s: uWS.us_listen_socket | false) => void) => void;
      const exclusive = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
      listen(host, port, exclusive, (listenSocket) => {
        if (listenSocket === false) {
          reject(new TroupeError('unavailable', `cannot listen on ${host}:${port} (address in use or not available)`));
          return;
        }
        this.listenSocket = listenSocket;
        resolve(uWS.us_socket_local_port(listenSocket as unknown as Parameters<typeof uWS.us_socket_local_port>[0]));
      });
    });
  }

  stopListening(): void {
    this.stopped = true;
    if (this.listenSocket !== null) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
  }

  /**
   * Stops listening and drops every connection, WebSockets (each still gets its `onClose`) and
   * kept-alive HTTP alike. For the end of a shutdown, after the sockets were closed politely.
   */
  close(): void {
    this.stopListening();
    for (const socket of [...this.openSockets]) socket.close(1001, 'server closing');
    (this.app as unknown as { close?: () => void } | null)?.close?.();
  }

  sockets(): Iterable<ClientSocket> {
    return this.openSockets.values();
  }

  private report(err: unknown, where: { phase: UwsFailurePhase; requestId?: string; socketId?: string }): void {
    try {
      this.hooks.onHandlerError?.(err, where);
    } catch {
      // A failing error hook must not take the server down with it.
    }
  }

  private onHttp(res: UwsResponse, req: UwsRequest): void {
    const requestId = randomRequestId();
    const method = req.getCaseSensitiveMethod();
    const pending = new PendingResponse(res, requestId, method === 'HEAD');
    if (this.stopped) {
      pending.send(errorResponse(503, 'unavailable', 'server is shutting down'), true);
      return;
    }
    if (isWebSocketUpgrade(req)) {
      pending.send(errorResponse(404, 'not_found', `no WebSocket endpoint at ${req.getUrl()}`));
      return;
    }
    const request = readRequestHead(req, res, requestId);
    const maxBytes = this.options.maxBodyBytes;
    const tooLarge = errorResponse(413, 'too_large', `request body over ${maxBytes} bytes`);
    const declared = declaredLength(request.headers);
    if (declared !== undefined && declared > maxBytes) {
      pending.send(tooLarge, true);
      return;
    }
    readBody(res, maxBytes, declared, (body) => {
      if (body === null) {
        pending.send(tooLarge, true);
        return;
      }
      request.body = body;
      void this.answer(pending, request);
    });
  }

  private async answer(pending: PendingResponse, request: HttpRequest): Promise<void> {
    const handlers = this.handlers as GatewayHandlers<unknown>;
    try {
      const response = await handlers.http(request);
      pending.send(response);
    } catch (err) {
      this.report(err, { phase: 'http', requestId: request.requestId });
      pending.send(internalErrorResponse(request.requestId));
    }
  }

  /**
   * A decision the handler returns at once is carried out here, inside uWS's upgrade callback.
   * One that must be awaited completes later under `res.cork()`, and there this uWS build has a
   * bug: when the socket's memory is reused in place for the WebSocket, cork() afterwards reads
   * leftover bytes as HTTP state and may close the new WebSocket without a close frame (the
   * client sees 1006 just after the handshake; about 1 in 100 async upgrades here). So the
   * gateway answers known tokens synchronously and only a first connect with a token this node
   * has not yet seen takes the async path (docs/architecture.md, "WebSocket upgrades").
   */
  private onUpgrade(res: UwsResponse, req: UwsRequest, context: us_socket_context_t): void {
    const requestId = randomRequestId();
    const pending = new PendingResponse(res, requestId, false);
    if (this.stopped) {
      pending.send(errorResponse(503, 'unavailable', 'server is shutting down'), true);
      return;
    }
    const request = readRequestHead(req, res, requestId);
    let decision: UpgradeResult<unknown> | Promise<UpgradeResult<unknown>>;
    try {
      decision = (this.handlers as GatewayHandlers<unknown>).upgrade(request);
    } catch (err) {
      this.report(err, { phase: 'upgrade', requestId });
      pending.send(internalErrorResponse(requestId));
      return;
    }
    if (decision instanceof Promise) void this.awaitUpgrade(pending, request, context, decision);
    else this.carryOutUpgrade(pending, request, context, decision);
  }

  private async awaitUpgrade(
    pending: PendingResponse,
    request: HttpRequest,
    context: us_socket_context_t,
    decision: Promise<UpgradeResult<unknown>>,
  ): Promise<void> {
    let result: UpgradeResult<unknown>;
    try {
      result = await decision;
    } catch (err) {
      this.report(err, { phase: 'upgrade', requestId: request.requestId });
      pending.send(internalErrorResponse(request.requestId));
      return;
    }
    this.carryOutUpgrade(pending, request, context, result);
  }

  private carryOutUpgrade(pending: PendingResponse, request: HttpRequest, context: us_socket_context_t, result: UpgradeResult<unknown>): void {
    try {
      if (!result.accept) {
        pending.send(result.response);
        return;
      }
      if (!pending.open) return; // the client left while we decided
      const socket = new UwsClientSocket(
        this.socketIdPrefix + (++this.socketCounter).toString(36),
        request.remoteAddress,
        result.context,
      );
      const { headers } = request;
      const userData: UwsUserData = { socket };
      pending.upgrade(
        userData,
        headers['sec-websocket-key'] ?? '',
        firstProtocol(headers['sec-websocket-protocol']),
        headers['sec-websocket-extensions'] ?? '',
        context,
      );
    } catch (err) {
      this.report(err, { phase: 'upgrade', requestId: request.requestId });
      pending.send(internalErrorResponse(request.requestId));
    }
  }

  private onOpen(ws: WebSocket<UwsUserData>): void {
    const socket = ws.getUserData().socket;
    socket.attach(ws);
    this.openSockets.add(socket);
    const context = socket.context;
    socket.context = undefined;
    socket.opening = true;
    let handler;
    try {
      handler = (this.handlers as GatewayHandlers<unknown>).open(socket, context);
    } catch (err) {
      socket.opening = false;
      this.report(err, { phase: 'open', socketId: socket.id });
      socket.close(1011, 'internal error');
      return;
    }
    socket.opening = false;
    socket.handler = handler;
    // open() closed its own socket: the close event found no handler yet, so deliver it now.
    if (socket.closedDuringOpen !== undefined) this.deliverClose(socket, socket.closedDuringOpen);
  }

  private onMessage(ws: WebSocket<UwsUserData>, message: ArrayBuffer, isBinary: boolean): void {
    const socket = ws.getUserData().socket;
    const handler = socket.handler;
    if (handler === null || socket.closed) return;
    try {
      // The ArrayBuffer is valid only during this call; decoding copies what the handler keeps.
      handler.onMessage(isBinary ? null : Buffer.from(message).toString('utf8'), message.byteLength);
    } catch (err) {
      this.report(err, { phase: 'message', socketId: socket.id });
      socket.close(1011, 'internal error');
    }
  }

  private onClose(ws: WebSocket<UwsUserData>, code: number): void {
    const socket = ws.getUserData().socket;
    socket.markClosed();
    this.openSockets.delete(socket);
    if (socket.opening) socket.closedDuringOpen = code;
    else this.deliverClose(socket, code);
  }

  private deliverClose(socket: UwsClientSocket, code: number): void {
    const handler = socket.handler;
    if (handler === null) return;
    socket.handler = null; // exactly once
    try {
      handler.onClose(code);
    } catch (err) {
      this.report(err, { phase: 'close', socketId: socket.id });
    }
  }
}

/** The gateway server over uWebSockets.js; throws `unavailable` without the native binary. */
export function createUwsServer(options: GatewayServerOptions, hooks: UwsServerHooks = {}): UwsGatewayServer {
  return new UwsGatewayServer(options, hooks);
}
