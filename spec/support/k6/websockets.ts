/**
 * Stand-in for `k6/websockets` (the browser-like WebSocket of k6 1.x) over the `ws` package, in
 * the VU's own event loop. Each socket holds the loop open from construction until it is closed,
 * as k6 waits for open sockets before ending an iteration. Handlers (on<event> and
 * addEventListener) run one at a time on the VU thread; one that throws ends the iteration.
 *
 * Emulated: the constructor (params.headers; protocols must be null), send of text, close(code,
 * reason), ping(), readyState, url, bufferedAmount, and the events open, message ({ data, type,
 * timestamp }), error ({ error, type, timestamp }), close, ping and pong. A failed handshake gives
 * an error event and then close. send() before the socket is open throws. Not emulated (Troupe's
 * protocol is text only): binary frames either way (sending one throws, receiving one ends the
 * iteration with an error) and binaryType; nor compression, cookie jars, tags on samples and
 * k6's built-in ws_* metrics.
 */
import NodeWebSocket from 'ws';
import { recorder, requirePhase } from './recorder.js';

type EventName = 'open' | 'close' | 'error' | 'message' | 'ping' | 'pong';

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string | number | boolean>;
}

type Listener = (event: Record<string, unknown>) => void;

export class WebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  onopen: Listener | null = null;
  onmessage: Listener | null = null;
  onerror: Listener | null = null;
  onclose: Listener | null = null;
  onping: Listener | null = null;
  onpong: Listener | null = null;

  private readonly socket: NodeWebSocket;
  private readonly listeners = new Map<EventName, Listener[]>();

  constructor(readonly url: string, protocols?: null, params?: Params | null) {
    requirePhase('opening a WebSocket', ['setup', 'iteration']);
    if (protocols !== undefined && protocols !== null) throw new Error('k6/websockets: protocols are reserved and must be null');
    const release = recorder.hold();
    this.socket = new NodeWebSocket(url, { headers: params?.headers ?? {} });
    this.socket.on('open', () => this.emit('open', {}));
    this.socket.on('message', (data: NodeWebSocket.RawData, isBinary: boolean) => {
      if (isBinary) recorder.fail(new Error('k6/websockets stand-in: a binary frame arrived, and binary frames are not emulated'));
      else this.emit('message', { data: data.toString() });
    });
    this.socket.on('error', (err: Error) => this.emit('error', { error: err.message }));
    this.socket.on('ping', () => this.emit('ping', {}));
    this.socket.on('pong', () => this.emit('pong', {}));
    this.socket.on('close', () => {
      this.emit('close', {});
      release();
    });
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.socket.readyState;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  send(data: string): void {
    if (typeof data !== 'string') throw new Error('k6/websockets stand-in: only text frames are emulated');
    if (this.socket.readyState !== NodeWebSocket.OPEN) throw new Error(`k6/websockets: send on a socket that is not open (readyState ${this.socket.readyState})`);
    this.socket.send(data);
  }

  close(code = 1000, reason?: string): void {
    if (this.socket.readyState === NodeWebSocket.CLOSED) return;
    if (this.socket.readyState === NodeWebSocket.CONNECTING) this.socket.terminate();
    else this.socket.close(code, reason);
  }

  ping(): void {
    this.socket.ping();
  }

  addEventListener(event: EventName, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  private emit(type: EventName, fields: Record<string, unknown>): void {
    const event = { type, timestamp: Date.now(), ...fields };
    const handlers = [this[`on${type}`], ...(this.listeners.get(type) ?? [])];
    for (const handler of handlers) {
      if (!handler) continue;
      try {
        handler(event);
      } catch (err) {
        recorder.fail(err);
      }
    }
  }
}

export default { WebSocket };
