/**
 * The uWebSockets.js gateway server, driven over real loopback connections: Node's fetch and
 * http module for HTTP, the `ws` package for WebSockets. Every test starts its own server on a
 * free port and closes it, and every client it opened, afterwards.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { expect } from 'chai';
import WebSocket from 'ws';
import type {
  ClientSocket,
  GatewayHandlers,
  GatewayServerOptions,
  HttpRequest,
  HttpResponse,
  SocketHandler,
  UpgradeResult,
} from '../../transport/http/port.js';
import { createUwsServer, uwsIdleTimeout, type UwsGatewayServer } from '../../transport/http/uws.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

interface Context {
  user: string;
}

/** What the test handlers saw, for assertions. */
interface Seen {
  httpRequests: HttpRequest[];
  upgradeRequests: HttpRequest[];
  opened: { socket: ClientSocket; context: Context }[];
  messages: { socketId: string; text: string | null; size: number }[];
  closes: { socketId: string; code: number }[];
  handlerErrors: { err: unknown; requestId?: string }[];
}

interface Harness {
  server: UwsGatewayServer;
  port: number;
  seen: Seen;
  url(path: string): string;
  wsUrl(path?: string): string;
}

const WS_PATH = '/v1/ws';
const MAX_BODY = 1024;
const MAX_PAYLOAD = 4096;

let harness: Harness | undefined;
const clients: WebSocket[] = [];
const clientsToDestroy: net.Socket[] = [];

interface HandlerOverrides {
  http?: (req: HttpRequest) => Promise<HttpResponse>;
  upgrade?: (req: HttpRequest) => Promise<UpgradeResult<Context>>;
  open?: (socket: ClientSocket, context: Context, handler: SocketHandler) => SocketHandler;
}

async function start(overrides: HandlerOverrides = {}, options: Partial<GatewayServerOptions> = {}): Promise<Harness> {
  const seen: Seen = { httpRequests: [], upgradeRequests: [], opened: [], messages: [], closes: [], handlerErrors: [] };
  const server = createUwsServer(
    {
      host: '127.0.0.1',
      port: 0,
      wsPath: WS_PATH,
      maxBodyBytes: MAX_BODY,
      maxPayloadBytes: MAX_PAYLOAD,
      maxBackpressureBytes: 64 * 1024,
      idleTimeoutSec: 60,
      ...options,
    },
    { onHandlerError: (err, where) => seen.handlerErrors.push({ err, requestId: where.requestId }) },
  );
  const handlers: GatewayHandlers<Context> = {
    http: async (req) => {
      seen.httpRequests.push(req);
      return overrides.http ? overrides.http(req) : { status: 200, body: { ok: true } };
    },
    upgrade: async (req) => {
      seen.upgradeRequests.push(req);
      if (overrides.upgrade) return overrides.upgrade(req);
      return { accept: true, context: { user: req.query.get('token') ?? 'anonymous' } };
    },
    open: (socket, context) => {
      seen.opened.push({ socket, context });
      const handler: SocketHandler = {
        onMessage: (text, size) => seen.messages.push({ socketId: socket.id, text, size }),
        onClose: (code) => seen.closes.push({ socketId: socket.id, code }),
      };
      return overrides.open ? overrides.open(socket, context, handler) : handler;
    },
  };
  const port = await server.listen(handlers);
  harness = {
    server,
    port,
    seen,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    wsUrl: (path = `${WS_PATH}?token=alice`) => `ws://127.0.0.1:${port}${path}`,
  };
  return harness;
}

/** Opens a client and waits for the server's `open` to have run for it. */
async function connect(h: Harness, path?: string): Promise<{ client: WebSocket; socket: ClientSocket }> {
  const before = h.seen.opened.length;
  const client = new WebSocket(h.wsUrl(path));
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  await waitFor(() => h.seen.opened.length > before, { message: 'server-side open' });
  return { client, socket: (h.seen.opened[before] as { socket: ClientSocket }).socket };
}

/** Resolves with the close code and reason the client saw. */
function closedBy(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** An upgrade the server refuses: resolves with the HTTP status and body the client got. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string; opened: boolean }> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url);
    clients.push(client);
    client.once('open', () => resolve({ status: 101, body: '', opened: true }));
    client.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, opened: false }));
    });
    client.once('error', reject);
  });
}

/** A POST through node's http module with a chunked body (no Content-Length). */
function postChunked(url: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

afterEach(function () {
  for (const client of clients.splice(0)) client.terminate();
  for (const client of clientsToDestroy.splice(0)) client.destroy();
  harness?.server.close();
  harness = undefined;
});

describe('uWebSockets.js gateway server', function () {
  describe('start-up', function () {
    it('refuses to run on the pure-JavaScript fallback with an unavailable error that says what to do', async function () {
      const script = [
        "import { createUwsServer } from './transport/http/uws.ts';",
        'try {',
        "  createUwsServer({ host: '127.0.0.1', port: 0, wsPath: '/ws', maxBodyBytes: 1, maxPayloadBytes: 1, maxBackpressureBytes: 1, idleTimeoutSec: 0 });",
        "  console.log('started');",
        '} catch (err) {',
        '  console.log(JSON.stringify({ code: err.code, retriable: err.retriable, message: err.message }));',
        '}',
      ].join('\n');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: process.cwd(),
        env: { ...process.env, UWS_USE_FALLBACK: '1' },
        timeout: 15_000,
      });
      const line = stdout.trim().split('\n').pop() ?? '';
      const result = JSON.parse(line) as { code: string; retriable: boolean; message: string };
      expect(result.code).to.equal('unavailable');
      expect(result.retriable).to.equal(false);
      expect(result.message).to.match(/native binary failed to load/);
      expect(result.message).to.match(/UWS_USE_FALLBACK/);
    });

    it('rounds the idle timeout up to what uWS accepts: 0, or 8 to 960 in steps of 4', function () {
      expect(uwsIdleTimeout(0)).to.equal(0);
      expect(uwsIdleTimeout(1)).to.equal(8);
      expect(uwsIdleTimeout(8)).to.equal(8);
      expect(uwsIdleTimeout(9)).to.equal(12);
      expect(uwsIdleTimeout(60)).to.equal(60);
      expect(uwsIdleTimeout(959)).to.equal(960);
      expect(() => uwsIdleTimeout(961)).to.throw(/at most 960/);
    });

    it('resolves listen with the bound port and fails with unavailable when the port is taken', async function () {
      const h = await start();
      expect(h.port).to.be.greaterThan(0);
      const second = createUwsServer({
        host: '127.0.0.1',
        port: h.port,
        wsPath: WS_PATH,
        maxBodyBytes: MAX_BODY,
        maxPayloadBytes: MAX_PAYLOAD,
        maxBackpressureBytes: 1024,
        idleTimeoutSec: 0,
      });
      try {
        await expectTroupeRejection(second.listen({} as GatewayHandlers<unknown>), 'unavailable');
      } finally {
        second.close();
      }
    });
  });

  describe('port ownership', function () {
    it('holds its port exclusively: another process cannot listen on it too (no SO_REUSEPORT sharing)', async function () {
      const h = await start();
      const script = [
        "const uWS = require('uWebSockets.js');",
        `uWS.App().listen('127.0.0.1', ${h.port}, (s) => { process.stdout.write(s ? 'shared' : 'refused'); process.exit(0); });`,
      ].join('\n');
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: process.cwd(), timeout: 15_000 });
      expect(stdout).to.equal('refused');
    });
  });

  describe('HTTP', function () {
    it('hands method, path, query, lower-cased headers, body and address to the handler and sends its JSON answer', async function () {
      const h = await start({
        http: async (req) => ({
          status: 201,
          body: { echoed: JSON.parse(req.body.toString('utf8')) as unknown },
          headers: { 'X-Extra': 'yes' },
        }),
      });
      const res = await fetch(h.url('/v1/things?a=1&b=two%20words'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Custom-Header': 'Value' },
        body: JSON.stringify({ hello: 'wörld' }),
      });
      expect(res.status).to.equal(201);
      expect(res.statusText).to.equal('Created');
      expect(res.headers.get('content-type')).to.equal('application/json');
      expect(res.headers.get('x-extra')).to.equal('yes');
      expect(await res.json()).to.deep.equal({ echoed: { hello: 'wörld' } });

      const req = h.seen.httpRequests[0] as HttpRequest;
      expect(req.method).to.equal('POST');
      expect(req.path).to.equal('/v1/things');
      expect(req.query.get('a')).to.equal('1');
      expect(req.query.get('b')).to.equal('two words');
      expect(req.headers['x-custom-header']).to.equal('Value');
      expect(req.headers['content-type']).to.equal('application/json');
      expect(req.body.toString('utf8')).to.equal('{"hello":"wörld"}');
      expect(req.remoteAddress).to.equal('127.0.0.1');
      expect(req.requestId).to.match(/^[A-Za-z0-9_-]{8}$/);
      expect(res.headers.get('x-request-id')).to.equal(req.requestId);
    });

    it('sends a string body as is with its content type, and 204 without a body', async function () {
      const h = await start({
        http: async (req) =>
          req.path === '/metrics'
            ? { status: 200, body: 'up 1\n', contentType: 'text/plain; version=0.0.4' }
            : { status: 204 },
      });
      const metrics = await fetch(h.url('/metrics'));
      expect(metrics.headers.get('content-type')).to.equal('text/plain; version=0.0.4');
      expect(await metrics.text()).to.equal('up 1\n');
      const head = await fetch(h.url('/metrics'), { method: 'HEAD' });
      expect(head.headers.get('content-length')).to.equal('5');
      expect(await head.text()).to.equal('');
      const empty = await fetch(h.url('/v1/sessions'), { method: 'DELETE' });
      expect(empty.status).to.equal(204);
      expect(empty.headers.get('content-length')).to.equal(null);
      expect(await empty.text()).to.equal('');
      expect(h.seen.httpRequests.map((r) => r.method)).to.deep.equal(['GET', 'HEAD', 'DELETE']);
    });

    it('answers 413 too_large without calling the handler when Content-Length is over the limit', async function () {
      const h = await start();
      const res = await fetch(h.url('/v1/users'), { method: 'POST', body: Buffer.alloc(MAX_BODY + 1, 0x61) });
      expect(res.status).to.equal(413);
      expect(await res.json()).to.deep.equal({
        error: { code: 'too_large', message: `request body over ${MAX_BODY} bytes` },
      });
      expect(h.seen.httpRequests).to.have.length(0);
    });

    it('answers 413 too_large without calling the handler when a chunked body grows over the limit', async function () {
      const h = await start();
      const chunks = [Buffer.alloc(600, 0x61), Buffer.alloc(600, 0x62)];
      const res = await postChunked(h.url('/v1/users'), chunks);
      expect(res.status).to.equal(413);
      expect(JSON.parse(res.body)).to.deep.equal({
        error: { code: 'too_large', message: `request body over ${MAX_BODY} bytes` },
      });
      expect(h.seen.httpRequests).to.have.length(0);
    });

    it('assembles a chunked body within the limit in order, and accepts a body of exactly the limit', async function () {
      const h = await start({ http: async (req) => ({ status: 200, body: { size: req.body.length } }) });
      const chunks = [Buffer.from('first-'), Buffer.from('second-'), Buffer.from('third')];
      const res = await postChunked(h.url('/v1/chunks'), chunks);
      expect(res.status).to.equal(200);
      expect(h.seen.httpRequests[0]?.body.toString()).to.equal('first-second-third');
      const exact = await fetch(h.url('/v1/exact'), { method: 'POST', body: Buffer.alloc(MAX_BODY, 0x63) });
      expect(await exact.json()).to.deep.equal({ size: MAX_BODY });
    });

    it('answers 500 internal naming the request id, never the error text, when the handler throws', async function () {
      const h = await start({
        http: async () => {
          throw new Error('secret database detail');
        },
      });
      const res = await fetch(h.url('/v1/me'));
      expect(res.status).to.equal(500);
      const requestId = res.headers.get('x-request-id') as string;
      const text = await res.text();
      expect(JSON.parse(text)).to.deep.equal({
        error: { code: 'internal', message: `internal error (request ${requestId})` },
      });
      expect(text).not.to.contain('secret');
      expect(text).not.to.contain(' at ');
      expect(h.seen.handlerErrors).to.have.length(1);
      expect(h.seen.handlerErrors[0]?.requestId).to.equal(requestId);
    });

    it('answers 500 when the response body cannot be serialised', async function () {
      const h = await start({ http: async () => ({ status: 200, body: { n: 1n } }) });
      const res = await fetch(h.url('/v1/bigint'));
      expect(res.status).to.equal(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('internal');
    });

    it('survives a client that leaves before its answer is ready and keeps serving', async function () {
      let release: () => void = () => undefined;
      const answered = new Promise<void>((resolve) => (release = resolve));
      let handlerFinished = false;
      const h = await start({
        http: async (req) => {
          if (req.path === '/slow') {
            await answered;
            handlerFinished = true;
          }
          return { status: 200, body: { path: req.path } };
        },
      });
      const client = net.connect(h.port, '127.0.0.1');
      clientsToDestroy.push(client);
      client.on('error', () => undefined);
      client.write('GET /slow HTTP/1.1\r\nHost: test\r\n\r\n');
      await waitFor(() => h.seen.httpRequests.length === 1, { message: 'slow request to reach the handler' });
      client.destroy();
      // The abort reaches the server through the event loop; an HTTP round trip lets it run.
      expect((await fetch(h.url('/between'))).status).to.equal(200);
      release();
      await waitFor(() => handlerFinished, { message: 'slow handler to finish' });
      const next = await fetch(h.url('/next'));
      expect(await next.json()).to.deep.equal({ path: '/next' });
      expect(h.seen.handlerErrors).to.have.length(0);
    });
  });

  describe('WebSocket upgrade', function () {
    it('answers a refused upgrade with its status and JSON body and opens no socket', async function () {
      const h = await start({
        upgrade: async () => ({
          accept: false,
          response: { status: 401, body: { error: { code: 'unauthenticated', message: 'bad token' } } },
        }),
      });
      const result = await refusedUpgrade(h.wsUrl(`${WS_PATH}?token=bad`));
      expect(result.status).to.equal(401);
      expect(JSON.parse(result.body)).to.deep.equal({ error: { code: 'unauthenticated', message: 'bad token' } });
      expect(result.opened).to.equal(false);
      expect(h.seen.upgradeRequests[0]?.query.get('token')).to.equal('bad');
      expect(h.seen.opened).to.have.length(0);
      expect([...h.server.sockets()]).to.have.length(0);
    });

    it('answers 404 to an upgrade on any other path without asking the upgrade handler', async function () {
      const h = await start();
      const result = await refusedUpgrade(h.wsUrl('/elsewhere'));
      expect(result.status).to.equal(404);
      expect((JSON.parse(result.body) as { error: { code: string } }).error.code).to.equal('not_found');
      expect(h.seen.upgradeRequests).to.have.length(0);
      expect(h.seen.httpRequests).to.have.length(0);
    });

    it('answers 500 internal when the upgrade handler throws', async function () {
      const h = await start({
        upgrade: async () => {
          throw new Error('boom');
        },
      });
      const result = await refusedUpgrade(h.wsUrl());
      expect(result.status).to.equal(500);
      expect(result.body).to.match(/"code":"internal"/);
      expect(result.body).not.to.contain('boom');
      expect(h.seen.opened).to.have.length(0);
    });

    it('opens an accepted socket with the context the upgrade returned', async function () {
      const h = await start();
      const { socket } = await connect(h, `${WS_PATH}?token=carol`);
      expect(h.seen.opened[0]?.context).to.deep.equal({ user: 'carol' });
      expect(h.seen.upgradeRequests[0]?.path).to.equal(WS_PATH);
      expect(socket.remoteAddress).to.equal('127.0.0.1');
      expect(socket.closed).to.equal(false);
      const second = await connect(h);
      expect(second.socket.id).not.to.equal(socket.id);
      expect([...h.server.sockets()]).to.have.members([socket, second.socket]);
    });

    it('opens nothing when the client leaves while the upgrade is being decided', async function () {
      let release: () => void = () => undefined;
      const decided = new Promise<void>((resolve) => (release = resolve));
      const h = await start({
        upgrade: async () => {
          await decided;
          return { accept: true, context: { user: 'late' } };
        },
      });
      const client = new WebSocket(h.wsUrl());
      clients.push(client);
      client.on('error', () => undefined);
      await waitFor(() => h.seen.upgradeRequests.length === 1, { message: 'upgrade to reach the handler' });
      client.terminate();
      await waitFor(() => client.readyState === WebSocket.CLOSED, { message: 'client to close' });
      // The abort reaches the server through the event loop; an HTTP round trip lets it run.
      await fetch(h.url('/healthz'));
      release();
      await decided;
      await fetch(h.url('/healthz'));
      expect(h.seen.opened).to.have.length(0);
      expect([...h.server.sockets()]).to.have.length(0);
      expect(h.seen.handlerErrors).to.have.length(0);
    });
  });

  describe('WebSocket frames and closing', function () {
    it('delivers text frames as strings in order with their byte size, and binary frames as null', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      client.send('one');
      client.send('zwei – 二');
      client.send(Buffer.from([1, 2, 3, 4, 5]), { binary: true });
      client.send('three');
      await waitFor(() => h.seen.messages.length === 4, { message: 'four frames' });
      expect(h.seen.messages).to.deep.equal([
        { socketId: socket.id, text: 'one', size: 3 },
        { socketId: socket.id, text: 'zwei – 二', size: Buffer.byteLength('zwei – 二') },
        { socketId: socket.id, text: null, size: 5 },
        { socketId: socket.id, text: 'three', size: 5 },
      ]);
    });

    it('delivers a frame of exactly maxPayloadBytes, and drops the socket on a larger one', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      client.send('x'.repeat(MAX_PAYLOAD));
      await waitFor(() => h.seen.messages.length === 1, { message: 'the frame at the limit' });
      const closed = closedBy(client);
      client.send('x'.repeat(MAX_PAYLOAD + 1));
      expect((await closed).code).to.equal(1006);
      await waitFor(() => h.seen.closes.length === 1, { message: 'onClose' });
      expect(h.seen.messages).to.have.length(1);
      expect(socket.closed).to.equal(true);
    });

    it('sends text frames to the client and reports them sent', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      const received: string[] = [];
      client.on('message', (data: Buffer) => received.push(data.toString()));
      expect(socket.send('hello')).to.equal('sent');
      expect(socket.send('world')).to.equal('sent');
      expect(socket.bufferedAmount()).to.equal(0);
      await waitFor(() => received.length === 2, { message: 'two frames at the client' });
      expect(received).to.deep.equal(['hello', 'world']);
    });

    it('reports sends as buffered under backpressure and dropped over maxBackpressureBytes', async function () {
      const h = await start({}, { maxBackpressureBytes: 64 * 1024 });
      const { client, socket } = await connect(h);
      // The client stops reading, so the kernel buffers fill and uWS starts to queue.
      (client as unknown as { _socket: net.Socket })._socket.pause();
      const frame = 'y'.repeat(16 * 1024);
      const results = new Set<string>();
      for (let i = 0; i < 4000 && !results.has('dropped'); i++) results.add(socket.send(frame));
      expect([...results]).to.include.members(['sent', 'buffered', 'dropped']);
      expect(socket.bufferedAmount()).to.be.greaterThan(64 * 1024);
      expect(socket.closed, 'the handler decides whether to close').to.equal(false);
    });

    it('closes with the given code and reason, calls onClose once, and drops later sends', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      const closed = closedBy(client);
      socket.close(1008, 'x');
      socket.close(1000, 'again'); // idempotent
      expect(await closed).to.deep.equal({ code: 1008, reason: 'x' });
      expect(socket.closed).to.equal(true);
      expect(h.seen.closes).to.deep.equal([{ socketId: socket.id, code: 1008 }]);
      expect(socket.send('late')).to.equal('dropped');
      expect(socket.bufferedAmount()).to.equal(0);
      expect([...h.server.sockets()]).to.have.length(0);
    });

    it('calls onClose exactly once when the client disconnects, and send afterwards is dropped', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      client.close(1000, 'bye');
      await waitFor(() => h.seen.closes.length > 0, { message: 'onClose' });
      // A later round trip gives a second close event the chance to show up.
      await fetch(h.url('/healthz'));
      expect(h.seen.closes).to.deep.equal([{ socketId: socket.id, code: 1000 }]);
      expect(socket.closed).to.equal(true);
      expect(() => socket.send('after close')).not.to.throw();
      expect(socket.send('after close')).to.equal('dropped');
      expect(() => socket.close(1000, 'again')).not.to.throw();
    });

    it('delivers onClose once after open() returns when open() closes its own socket', async function () {
      const h = await start({
        open: (socket, _context, handler) => {
          socket.close(4001, 'not today');
          return handler;
        },
      });
      const client = new WebSocket(h.wsUrl());
      clients.push(client);
      expect((await closedBy(client)).code).to.equal(4001);
      await waitFor(() => h.seen.closes.length > 0, { message: 'onClose' });
      await fetch(h.url('/healthz'));
      expect(h.seen.closes.map((c) => c.code)).to.deep.equal([4001]);
    });

    it('closes the socket with 1011 when the message handler throws', async function () {
      const h = await start({
        open: (_socket, _context, handler) => ({
          onMessage: () => {
            throw new Error('handler bug');
          },
          onClose: handler.onClose,
        }),
      });
      const { client } = await connect(h);
      const closed = closedBy(client);
      client.send('hi');
      expect((await closed).code).to.equal(1011);
      await waitFor(() => h.seen.closes.length === 1, { message: 'onClose' });
      expect(h.seen.handlerErrors).to.have.length(1);
    });
  });

  describe('stopListening', function () {
    it('refuses new connections while an open socket keeps working', async function () {
      const h = await start();
      const { client, socket } = await connect(h);
      h.server.stopListening();

      const refused = await fetch(h.url('/v1/me'), { headers: { connection: 'close' } }).then(
        () => 'answered',
        (err: Error & { cause?: { code?: string } }) => err.cause?.code,
      );
      expect(refused).to.equal('ECONNREFUSED');
      const lateClient = new WebSocket(h.wsUrl());
      clients.push(lateClient);
      const lateError = await new Promise<string | undefined>((resolve) => {
        lateClient.once('open', () => resolve('opened'));
        lateClient.once('error', (err: Error & { code?: string }) => resolve(err.code));
      });
      expect(lateError).to.equal('ECONNREFUSED');

      const received: string[] = [];
      client.on('message', (data: Buffer) => received.push(data.toString()));
      client.send('still here');
      await waitFor(() => h.seen.messages.some((m) => m.text === 'still here'), { message: 'frame after stop' });
      expect(socket.send('and so am I')).to.equal('sent');
      await waitFor(() => received.includes('and so am I'), { message: 'frame to the client after stop' });
      expect([...h.server.sockets()]).to.deep.equal([socket]);
    });

    it('answers 503 unavailable to a request on a kept-alive connection and closes it', async function () {
      const h = await start();
      const client = net.connect(h.port, '127.0.0.1');
      clientsToDestroy.push(client);
      let received = '';
      let ended = false;
      client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      client.on('close', () => (ended = true));
      client.write('GET /before HTTP/1.1\r\nHost: test\r\n\r\n');
      await waitFor(() => received.includes('"ok":true'), { message: 'the answer before stopping' });
      h.server.stopListening();
      client.write('GET /after HTTP/1.1\r\nHost: test\r\n\r\n');
      await waitFor(() => ended, { message: 'the server to close the connection' });
      expect(received).to.match(/HTTP\/1\.1 503 Service Unavailable/);
      expect(received).to.contain('"code":"unavailable"');
      expect(h.seen.httpRequests.map((r) => r.path)).to.deep.equal(['/before']);
    });
  });

  describe('close', function () {
    it('closes every open socket with 1001 and delivers each onClose', async function () {
      const h = await start();
      const first = await connect(h);
      const second = await connect(h);
      const closes = [closedBy(first.client), closedBy(second.client)];
      h.server.close();
      expect((await Promise.all(closes)).map((c) => c.code)).to.deep.equal([1001, 1001]);
      expect(h.seen.closes.map((c) => c.code)).to.deep.equal([1001, 1001]);
      expect([...h.server.sockets()]).to.have.length(0);
    });
  });
});
