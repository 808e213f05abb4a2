/**
 * The `socketio` wire: socket.io-client against the Socket.IO peer, its events mapped onto the
 * Troupe server frames the load generator reads (bench/lib/wire.ts):
 *
 * - connected (the handshake's token accepted, the socket already in its rooms) → `ready`;
 * - a `send` emit's acknowledgement → `ack` {id, conv, seq}, or `error` {ref: id, code, message};
 * - `msg` → `msg`, `history` → `history`, `refused` (a refused sync) → `error`.
 *
 * WebSocket transport only (no long-polling first), no reconnection (a close the run did not ask
 * for is reported, never papered over), and no compression (the peer's server offers none), as
 * the Troupe wire. `localAddress`
 * reaches the WebSocket: engine.io-client hands it to `ws` with its other socket options.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { TroupeError } from '../../../transport/errors.js';
import type { ServerFrame, Wire, WireCallbacks, WireConnectOptions, WireSocket } from '../../lib/wire.js';
import type { ClientEvents, SendAnswer, ServerEvents } from './events.js';

const CONNECT_TIMEOUT_MS = 60_000;

/** Close code reported when the transport gives none (no close frame). */
const ABNORMAL_CLOSURE = 1006;

type ClientSocket = Socket<ServerEvents, ClientEvents>;

/** socket.io-client's options plus the `ws` option engine.io-client passes through but does not declare. */
type ConnectOptions = Partial<ManagerOptions & SocketOptions> & { localAddress?: string };

class SocketIoWireSocket implements WireSocket {
  readonly ready: Promise<void>;
  private readonly socket: ClientSocket;
  private closing = false;

  constructor(readonly index: number, options: WireConnectOptions, private readonly callbacks: WireCallbacks) {
    const connectOptions: ConnectOptions = {
      transports: ['websocket'],
      auth: { token: options.token },
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
      localAddress: options.localAddress,
    };
    this.socket = io(options.baseUrl, connectOptions);
    this.ready = new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => {
        resolve();
        callbacks.onFrame(this, { type: 'ready' });
      });
      this.socket.once('connect_error', (err) => {
        const code = err.message.startsWith('unauthenticated') ? 'unauthenticated' : 'unavailable';
        reject(new TroupeError(code, `socket ${index}: ${err.message}`, { cause: err }));
      });
      this.socket.on('disconnect', (reason, details) => {
        reject(new TroupeError('unavailable', `socket ${index}: disconnected (${reason}) before it was ready`));
        if (!this.closing) callbacks.onUnexpectedClose(this, closeCode(details));
      });
    });
    // Rejections surface through whoever awaits `ready`; an unawaited one must not crash the run.
    this.ready.catch(() => undefined);
    this.socket.on('msg', (m) => callbacks.onFrame(this, { type: 'msg', conv: m.conv, seq: m.seq, id: m.id, from: m.from }));
    this.socket.on('history', (page) => callbacks.onFrame(this, { type: 'history', conv: page.conv, messages: page.messages, more: page.more }));
    this.socket.on('refused', (error) => callbacks.onFrame(this, { type: 'error', code: error.code, message: error.message }));
  }

  sendMessage(conv: string, id: string, text: string): void {
    this.socket.emit('send', { id, conv, body: { text } }, (answer: SendAnswer) => {
      const frame: ServerFrame = 'error' in answer
        ? { type: 'error', ref: id, code: answer.error.code, message: answer.error.message }
        : { type: 'ack', id: answer.id, conv, seq: answer.seq };
      this.callbacks.onFrame(this, frame);
    });
  }

  sync(conv: string, after: number, limit: number): void {
    this.socket.emit('sync', { conv, after, limit });
  }

  /** Packets engine.io still holds (their characters) plus what the WebSocket has not handed to the kernel. */
  get bufferedAmount(): number {
    const engine = this.socket.io.engine as ClientEngine | undefined;
    if (engine === undefined) return 0;
    let queued = 0;
    for (const packet of engine.writeBuffer) if (typeof packet.data === 'string') queued += packet.data.length;
    return queued + (engine.transport?.ws?.bufferedAmount ?? 0);
  }

  close(): Promise<void> {
    this.closing = true;
    const engine = this.socket.io.engine as ClientEngine | undefined;
    if (engine === undefined || engine.readyState === 'closed') {
      this.socket.disconnect();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      engine.once('close', () => resolve());
      this.socket.disconnect();
    });
  }
}

/** The parts of engine.io-client's socket read here (its transport's `ws` is not in the typings). */
interface ClientEngine {
  readyState: string;
  writeBuffer: ReadonlyArray<{ data?: unknown }>;
  transport?: { ws?: { bufferedAmount?: number } };
  once(event: 'close', listener: () => void): void;
}

/** The WebSocket close code, when the transport closed with one. */
function closeCode(details: unknown): number {
  const code = (details as { context?: { code?: unknown } } | undefined)?.context?.code;
  return typeof code === 'number' ? code : ABNORMAL_CLOSURE;
}

export const socketIoWire: Wire = {
  name: 'socketio',
  connect: (index, options, callbacks) => new SocketIoWireSocket(index, options, callbacks),
};
