/**
 * The least a client can do to open a WebSocket and see its first frame, for measuring many
 * idle sockets (socket-client.ts): one TCP connect, one upgrade request written at once, and a
 * parse of the 101 answer and of the first text frame that follows. The `ws` package does much
 * more per socket (an HTTP client request, event emitters, a frame receiver and sender, the
 * accept-key check), about as much CPU as the server spends, which on two cores made the client
 * half of what the time to 19,000 ready sockets measured.
 *
 * What is skipped is what a measurement can do without: the Sec-WebSocket-Accept check (the
 * server is ours), extensions, fragmented or masked server frames, and answering pings (the
 * server's idle timeout, 120 s by default, is far beyond a measurement). After its first
 * frame a socket reads and drops whatever comes, so the server never sees backpressure.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawOpenOptions {
  host: string;
  port: number;
  /** Path and query, e.g. /v1/ws?token=… */
  path: string;
  /** Source address to bind; unset, the kernel picks one at connect. */
  localAddress?: string;
}

/** A socket whose handshake and first text frame arrived: that frame's text. */
export interface RawOpened {
  socket: Socket;
  firstFrame: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The payload of the unmasked text frame at the start of `data`, or null until it is whole. */
function firstTextFrame(data: Buffer): string | null {
  if (data.length < 2) return null;
  let length = (data[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return null;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return null;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  if (data.length < offset + length) return null;
  if (((data[0] as number) & 0x0f) !== 0x1) throw new Error(`first frame has opcode ${(data[0] as number) & 0x0f}, not text`);
  return data.toString('utf8', offset, offset + length);
}

/** Opens a WebSocket; resolves once its first frame is in, rejects on any failure before. */
export function openRawWebSocket(options: RawOpenOptions): Promise<RawOpened> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port, noDelay: true, ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) });
    let received: Buffer = Buffer.alloc(0);
    let upgraded = false;
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      try {
        if (!upgraded) {
          const end = received.indexOf(HEADER_END);
          if (end === -1) return;
          const statusLine = received.toString('latin1', 0, received.indexOf('\r\n'));
          if (!statusLine.startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${received.toString('utf8', 0, Math.min(received.length, 300))}`));
          upgraded = true;
          received = received.subarray(end + HEADER_END.length);
        }
        const text = firstTextFrame(received);
        if (text === null) return;
        socket.off('data', onData);
        socket.off('error', fail);
        socket.off('close', onClose);
        socket.on('data', () => undefined); // keep reading: the server's buffer never fills
        socket.on('error', () => undefined);
        resolve({ socket, firstFrame: text });
      } catch (err) {
        fail(err as Error);
      }
    };
    const onClose = (): void => fail(new Error(upgraded ? 'closed before its first frame' : 'closed before the upgrade answer'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.write(
      `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}
