/**
 * A client process of spec/perf/measure-memory.ts: opens one idle WebSocket per access token
 * (raw-websocket.ts: as little client work as a socket allows) and reports when every one has
 * had its `ready` frame. Run as a forked child, since one process holds at most about 20,000
 * descriptors here and the server needs its own share.
 *
 * IPC in: a `SocketClientTask`. IPC out: a `SocketClientReport` once every socket is ready or
 * failed; the sockets then stay open, silent, until `{ close: true }`.
 */
import type { Socket } from 'node:net';
import { openRawWebSocket } from './raw-websocket.js';

export interface SocketClientTask {
  /** The server's WebSocket address without the token, e.g. ws://127.0.0.1:1234/v1/ws */
  url: string;
  tokens: string[];
  /**
   * Source address to bind (127.0.0.2, …) when one address's ports (about 28,000 here) are not
   * enough; unset, the kernel picks address and port at connect, which is far cheaper than a
   * bind per socket once thousands of ports are taken.
   */
  localAddress?: string;
  /** Opening handshakes in progress at once. */
  concurrency: number;
}

export interface SocketClientReport {
  ready: number;
  failed: number;
  /** From the first connect to the last `ready`. */
  ms: number;
  /** This process's CPU time meanwhile (user + system), in ms. */
  cpuMs: number;
  /** The first failure's reason, if any. */
  firstError?: string;
}

export type SocketClientMessage = SocketClientTask | { close: true };

const sockets: Socket[] = [];

/** Opens one socket; resolves null once it is ready, or why it is not. */
async function openOne(url: URL, token: string, localAddress: string | undefined): Promise<string | null> {
  try {
    const path = `${url.pathname}?token=${encodeURIComponent(token)}`;
    const { socket, firstFrame } = await openRawWebSocket({ host: url.hostname, port: Number(url.port), path, ...(localAddress !== undefined ? { localAddress } : {}) });
    sockets.push(socket);
    return firstFrame.startsWith('{"type":"ready"') ? null : `first frame was not ready: ${firstFrame.slice(0, 100)}`;
  } catch (err) {
    return (err as Error).message;
  }
}

async function run(task: SocketClientTask): Promise<SocketClientReport> {
  const url = new URL(task.url);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let next = 0;
  let ready = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < task.tokens.length) {
      const token = task.tokens[next++] as string;
      const error = await openOne(url, token, task.localAddress);
      if (error === null) ready++;
      else {
        failed++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  return { ready, failed, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, ...(firstError !== undefined ? { firstError } : {}) };
}

process.on('message', (message: SocketClientMessage) => {
  if ('close' in message) {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  }
  void run(message).then((report) => process.send?.(report));
});
