/**
 * Clients for the protocol specs: JSON over HTTP with `fetch`, and a WebSocket client over the
 * `ws` package that records every frame it receives so a spec can await one, or prove that one
 * does not come.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

/**
 * Arbitrary JSON as received from the server. Specs assert its shape with chai, so it is left
 * untyped on purpose rather than cast at every property access.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: Json;
  /** The raw body text. */
  text: string;
}

export interface RawRequest {
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Api {
  /** A JSON request; `token` becomes `Authorization: Bearer <token>`. */
  (method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** A request whose body and headers are sent exactly as given (e.g. malformed JSON). */
  raw(method: string, path: string, request?: RawRequest): Promise<ApiResponse>;
}

export function api(baseUrl: string): Api {
  const raw = async (method: string, path: string, request: RawRequest = {}): Promise<ApiResponse> => {
    const res = await fetch(baseUrl + path, { method, headers: request.headers, body: request.body });
    const text = await res.text();
    let body: Json;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  };
  const call = (method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return raw(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  return Object.assign(call, { raw });
}

/** A username no other spec uses: `<prefix>_<random>`, within the protocol's 3–32 of [a-z0-9_.-]. */
export function uniqueName(prefix = 'u'): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_.-]/g, '').slice(0, 18) || 'u';
  return `${clean}_${randomBytes(6).toString('hex')}`;
}

export interface UserView {
  id: string;
  username: string;
  displayName: unknown;
}

export interface LoggedIn {
  user: UserView;
  accessToken: string;
  refreshToken: string;
  password: string;
}

export const SPEC_PASSWORD = 'correct horse battery';

/** Registers a new user (unique name unless given) and logs it in; throws on any other answer. */
export async function registerAndLogin(baseUrl: string, name?: string): Promise<LoggedIn> {
  const http = api(baseUrl);
  const username = name ?? uniqueName();
  const reg = await http('POST', '/v1/users', { username, password: SPEC_PASSWORD, displayName: `Spec ${username}` });
  if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
  const login = await http('POST', '/v1/sessions', { username, password: SPEC_PASSWORD });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`);
  return {
    user: login.body.user as UserView,
    accessToken: login.body.accessToken as string,
    refreshToken: login.body.refreshToken as string,
    password: SPEC_PASSWORD,
  };
}

export type FramePredicate = (frame: Json) => boolean;

/** A predicate matching frames whose listed fields are strictly equal to `fields`. */
export function frameWith(fields: Record<string, unknown>): FramePredicate {
  return (frame) => frame !== null && typeof frame === 'object' && Object.entries(fields).every(([k, v]) => frame[k] === v);
}

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Waiter {
  predicate: FramePredicate;
  resolve(frame: Json): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Every client still open, so a spec's `afterEach(closeAllClients)` leaves nothing behind. */
const openClients = new Set<WsClient>();

/**
 * A recording WebSocket client.
 *
 * Every frame received is kept in `frames` (text frames parsed as JSON; anything else is
 * recorded as `{type: '<raw>', data}`). `next()` hands out each frame at most once: it takes
 * the oldest not-yet-taken frame that matches, whether it arrived before the call or after.
 */
export class WsClient {
  readonly frames: Json[] = [];
  readonly closed: Promise<CloseInfo>;
  private readonly taken = new Set<number>();
  private readonly waiters = new Set<Waiter>();
  private closeInfo: CloseInfo | undefined;
  private lastError: string | undefined;

  private constructor(readonly socket: WebSocket) {
    openClients.add(this);
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        openClients.delete(this);
        for (const waiter of this.waiters) {
          clearTimeout(waiter.timer);
          const why = this.lastError === undefined ? '' : ` (${this.lastError})`;
          waiter.reject(new Error(`socket closed with ${code}${why} while waiting for a frame; got ${this.describeFrames()}`));
        }
        this.waiters.clear();
        resolve(this.closeInfo);
      });
    });
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    // Errors after open surface as a close (1006); keep them for its message, not as a crash.
    socket.on('error', (err) => (this.lastError = err.message));
  }

  /** Opens a socket and resolves once it is open (before `ready`). Rejects if it is refused. */
  static open(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const client = new WsClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => {
        openClients.delete(client);
        reject(new Error(`upgrade refused with HTTP ${res.statusCode}`));
        socket.terminate();
      });
      socket.once('error', (err) => reject(err));
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** The close code and reason once closed, else undefined. */
  get closeState(): CloseInfo | undefined {
    return this.closeInfo;
  }

  /** The oldest untaken frame matching `predicate` (already received or still to come). */
  next(predicate: FramePredicate, timeoutMs = 5000): Promise<Json> {
    const index = this.frames.findIndex((frame, i) => !this.taken.has(i) && predicate(frame));
    if (index >= 0) {
      this.taken.add(index);
      return Promise.resolve(this.frames[index]);
    }
    if (this.closeInfo) {
      return Promise.reject(new Error(`socket already closed with ${this.closeInfo.code}; got ${this.describeFrames()}`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.describeFrames()}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Shorthand: the next untaken frame of a type. */
  nextOf(type: string, timeoutMs = 5000): Promise<Json> {
    return this.next((f) => f?.type === type, timeoutMs);
  }

  /**
   * Proves that no untaken frame matching `predicate` is present now or arrives within `ms`.
   * Taken frames are not looked at, so a spec takes the frames it expected before calling this.
   */
  async assertNoFrame(predicate: FramePredicate, ms = 200): Promise<void> {
    const firstIndex = this.frames.length;
    const offending = (from: number): Json | undefined =>
      this.frames.find((frame, i) => i >= from && !this.taken.has(i) && predicate(frame));
    const early = offending(0);
    if (early !== undefined) throw new Error(`unexpected frame: ${JSON.stringify(early)}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const late = offending(firstIndex);
    if (late !== undefined) throw new Error(`unexpected frame: ${JSON.stringify(late)}`);
  }

  /** How many frames received so far match (taken or not). */
  count(predicate: FramePredicate): number {
    return this.frames.filter(predicate).length;
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends bytes as they are: a string as a text frame, a Buffer as a binary frame. */
  sendRaw(data: string | Buffer): void {
    this.socket.send(data, { binary: Buffer.isBuffer(data) });
  }

  /** Sends a ping frame and waits for its pong: proof that the connection still serves. */
  async expectAlive(timeoutMs = 5000): Promise<void> {
    this.send({ type: 'ping' });
    await this.nextOf('pong', timeoutMs);
  }

  /** Closes normally and waits for the close to complete. */
  async close(): Promise<void> {
    await closeSocket(this.socket, this.closed);
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = bytes.toString('utf8');
    let frame: Json;
    if (isBinary) {
      frame = { type: '<raw>', binary: true, data: text };
    } else {
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { type: '<raw>', data: text };
      }
    }
    const index = this.frames.push(frame) - 1;
    for (const waiter of this.waiters) {
      if (waiter.predicate(frame)) {
        this.taken.add(index);
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
        return;
      }
    }
  }

  private describeFrames(): string {
    const recent = this.frames.slice(-8).map((f) => JSON.stringify(f).slice(0, 200));
    return `${this.frames.length} frames, last: [${recent.join(', ')}]`;
  }
}

/** Closes every client a spec opened and did not close. */
export async function closeAllClients(): Promise<void> {
  await Promise.all([...openClients].map((client) => client.close()));
}

/** Opens a client and waits for its `ready` frame (taken, and returned beside the client). */
export async function connect(url: string, timeoutMs = 5000): Promise<{ client: WsClient; ready: Json }> {
  const client = await WsClient.open(url);
  const ready = await client.nextOf('ready', timeoutMs);
  return { client, ready };
}

/**
 * Tries to open a socket that the server should refuse before the upgrade; resolves with the
 * HTTP status of the refusal, or rejects if the socket opened.
 */
export function upgradeRefusal(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    // terminate() during the handshake emits an error too: keep listening so it is not unhandled.
    socket.on('error', (err) => reject(err));
  });
}

/**
 * Closes `socket` normally and waits until `closed` settles; a peer that does not answer the
 * close within 2 s is cut off.
 */
export async function closeSocket(socket: WebSocket, closed: Promise<unknown>): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  if (socket.readyState !== WebSocket.CLOSING) socket.close(1000, 'spec done');
  const timer = setTimeout(() => socket.terminate(), 2000);
  await closed;
  clearTimeout(timer);
}
