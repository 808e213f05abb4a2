/**
 * The `troupe` wire: docs/protocol.md's JSON text frames over the `ws` package, for Troupe in any
 * mode and for the raw uWebSockets.js bound (which speaks the same subset).
 *
 * The hot path is one JSON.parse per received frame and one template string per send: the client
 * ids and conversation ids of a run are [A-Za-z0-9_-] and the texts plain ASCII, so nothing needs
 * escaping. A socket is ready on the `ready` frame. A close the run did not ask for is reported,
 * never hidden.
 */
import WebSocket from 'ws';
import { TroupeError } from '../../transport/errors.js';
import type { ServerFrame, Wire, WireCallbacks, WireConnectOptions, WireSocket } from './wire.js';

const CONNECT_TIMEOUT_MS = 60_000;

class TroupeWireSocket implements WireSocket {
  readonly ready: Promise<void>;
  private readonly ws: WebSocket;
  private closing = false;

  constructor(readonly index: number, options: WireConnectOptions, callbacks: WireCallbacks) {
    const url = `${options.baseUrl.replace(/^http/, 'ws')}/v1/ws?token=${encodeURIComponent(options.token)}`;
    this.ws = new WebSocket(url, { perMessageDeflate: false, localAddress: options.localAddress });
    this.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new TroupeError('timeout', `socket ${index}: not ready within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (err: TroupeError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      this.ws.on('error', (err) => fail(new TroupeError('unavailable', `socket ${index}: ${err.message}`, { cause: err })));
      this.ws.once('unexpected-response', (_req, res) => fail(new TroupeError('unavailable', `socket ${index}: upgrade refused with HTTP ${res.statusCode}`)));
      this.ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (!settled && frame.type === 'ready') {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
        callbacks.onFrame(this, frame);
      });
      this.ws.once('close', (code) => {
        fail(new TroupeError('unavailable', `socket ${index}: closed with ${code} before it was ready`));
        if (!this.closing) callbacks.onUnexpectedClose(this, code);
      });
    });
    // Rejections surface through whoever awaits `ready`; an unawaited one must not crash the run.
    this.ready.catch(() => undefined);
  }

  sendMessage(conv: string, id: string, text: string): void {
    this.ws.send(`{"type":"send","id":"${id}","conv":"${conv}","body":{"text":"${text}"}}`);
  }

  sync(conv: string, after: number, limit: number): void {
    this.ws.send(`{"type":"sync","conv":"${conv}","after":${after},"limit":${limit}}`);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      else this.ws.close(1000);
    });
  }
}

export const troupeWire: Wire = {
  name: 'troupe',
  connect: (index, options, callbacks) => new TroupeWireSocket(index, options, callbacks),
};
