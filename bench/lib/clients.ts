/**
 * The load generator's WebSocket clients, over the `ws` package.
 *
 * A BenchSocket is one connection: it hands every parsed server frame to the run's `onFrame`
 * (the load step's bookkeeping) and nothing else, so the hot path is one JSON.parse per frame.
 * It is "ready" on Troupe's `ready` frame, or on the upgrade for a server that sends nothing
 * (the raw uWS peer). A close the run did not ask for is counted, never hidden.
 */
import WebSocket from 'ws';
import { TroupeError } from '../../transport/errors.js';

/** A server frame as received (docs/protocol.md); only the fields the benchmark reads. */
export interface ServerFrame {
  type: string;
  id?: string;
  conv?: string;
  seq?: number;
  from?: string;
  code?: string;
  ref?: string;
  message?: string;
}

export type ReadySignal = 'ready-frame' | 'open';

export interface BenchSocketOptions {
  url: string;
  readyOn: ReadySignal;
  /** Source address to bind (127.0.0.x): each gives about 28,000 ephemeral ports towards one server. */
  localAddress?: string;
  onFrame?: (socket: BenchSocket, frame: ServerFrame) => void;
  onUnexpectedClose?: (socket: BenchSocket, code: number) => void;
}

const CONNECT_TIMEOUT_MS = 30_000;

export class BenchSocket {
  readonly ready: Promise<void>;
  private readonly ws: WebSocket;
  private closing = false;

  constructor(readonly index: number, options: BenchSocketOptions) {
    this.ws = new WebSocket(options.url, { perMessageDeflate: false, localAddress: options.localAddress });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new TroupeError('timeout', `socket ${index}: not ready within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (err: TroupeError): void => {
        clearTimeout(timer);
        reject(err);
      };
      const succeed = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (options.readyOn === 'open') this.ws.once('open', succeed);
      this.ws.on('error', (err) => fail(new TroupeError('unavailable', `socket ${index}: ${err.message}`, { cause: err })));
      this.ws.once('unexpected-response', (_req, res) => fail(new TroupeError('unavailable', `socket ${index}: upgrade refused with HTTP ${res.statusCode}`)));
      this.ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'ready') succeed();
        options.onFrame?.(this, frame);
      });
      this.ws.once('close', (code) => {
        fail(new TroupeError('unavailable', `socket ${index}: closed with ${code} before it was ready`));
        if (!this.closing) options.onUnexpectedClose?.(this, code);
      });
    });
    // Rejections surface through whoever awaits `ready`; an unawaited one must not crash the run.
    this.ready.catch(() => undefined);
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** Bytes queued in this process, not yet handed to the kernel: a generator falling behind shows here. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Closes politely and resolves when the socket is closed. */
  close(): Promise<void> {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

/** The source address of the i-th connection: 127.0.0.1 for the first `perAddress`, then 127.0.0.2, … */
export function sourceAddressFor(i: number, perAddress: number): string {
  return `127.0.0.${1 + Math.floor(i / perAddress)}`;
}

export interface OpenManyOptions {
  count: number;
  /** The URL of connection i (e.g. with that user's token). */
  urlOf(i: number): string;
  readyOn: ReadySignal;
  /** Connections being set up at once. */
  concurrency: number;
  /** Connections per source address; beyond it the next 127.0.0.x is used. */
  perSourceAddress: number;
  onFrame?: BenchSocketOptions['onFrame'];
  onUnexpectedClose?: BenchSocketOptions['onUnexpectedClose'];
  /** Called every `progressEvery` ready connections. */
  onProgress?(ready: number): void;
  progressEvery?: number;
}

/** Opens `count` sockets, at most `concurrency` connecting at once; resolves when every one is ready. */
export async function openMany(options: OpenManyOptions): Promise<BenchSocket[]> {
  const sockets: BenchSocket[] = [];
  let next = 0;
  let ready = 0;
  const every = options.progressEvery ?? Number.POSITIVE_INFINITY;
  const bindSource = options.count > options.perSourceAddress;
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const i = next++;
      const socket = new BenchSocket(i, {
        url: options.urlOf(i),
        readyOn: options.readyOn,
        localAddress: bindSource ? sourceAddressFor(i, options.perSourceAddress) : undefined,
        onFrame: options.onFrame,
        onUnexpectedClose: options.onUnexpectedClose,
      });
      sockets[i] = socket;
      await socket.ready;
      ready += 1;
      if (ready % every === 0) options.onProgress?.(ready);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  } catch (err) {
    await closeAll(sockets);
    throw err;
  }
  return sockets;
}

export async function closeAll(sockets: readonly (BenchSocket | undefined)[]): Promise<void> {
  await Promise.all(sockets.map((socket) => socket?.close()));
}
