/**
 * Measures the embedded server's memory per active conversation and per idle authenticated
 * WebSocket, and the time for many sockets to log in and be ready (issue 9's memory targets).
 *
 *   node --import tsx spec/perf/measure-memory.ts conversations [--conversations 200] [--messages 1000] [--sets 2]
 *   node --import tsx spec/perf/measure-memory.ts sockets [--sockets 19000] [--clients 2] [--waves 1]
 *
 * Common options: `--set key=value` (repeatable) overrides a server setting, e.g.
 * `--set actors.dedupeWindow=1000`; the environment variable MEASURE_HEAP_SNAPSHOT=<prefix>
 * writes heap snapshots of the server before and after (`<prefix>-before|after.heapsnapshot`;
 * RSS figures of such a run are not meaningful), MEASURE_CPU_PROF_DIR=<dir> a CPU profile.
 *
 * The server runs in its own process (server-process.ts) on a fresh data folder holding the
 * users, conversations and tokens (fixture.ts). Figures are read after full GCs: heap is the
 * JavaScript heap, RSS also counts native memory (uWebSockets.js's sockets, SQLite's caches)
 * and pages the allocators keep.
 *
 * - conversations: one socket per user, two users per direct conversation, every socket ready
 *   before the baseline. Then, `--sets` times (at least 2), a new set of `--conversations`
 *   conversations each gets `--messages` messages from its first member (64 unacked per socket
 *   at most). The first set also fills what is filled once whatever the count (SQLite's page
 *   caches, V8's and malloc's spare pages), so the figure per conversation is the growth over
 *   the later sets: the cost of one more active conversation. The first set's is printed too.
 * - sockets: baseline with no socket; then `--clients` client processes (socket-client.ts) open
 *   the sockets, 128 handshakes at a time each; the time is from the first connect to the last
 *   `ready`, and the server's CPU time is what it spent meanwhile. With `--waves N` the sockets
 *   open in N waves, measured after each: the later waves' growth is the cost of one more
 *   socket, without what the first wave grows once (V8's young generation, malloc's arenas).
 */
import { rm } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { prepareFixture, type FixtureConversation } from './fixture.js';
import { MeasuredServer, NODE_ARGS } from './measured-server.js';
import type { MemoryFigures } from './server-process.js';
import type { SocketClientMessage, SocketClientReport, SocketClientTask } from './socket-client.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const snapshotPrefix = process.env.MEASURE_HEAP_SNAPSHOT;
const cpuProfileDir = process.env.MEASURE_CPU_PROF_DIR;
/** Loopback ports one source address offers here (32768–60999), less some slack. */
const PORTS_PER_ADDRESS = 25_000;
/** Every frame counts against the rate limit: the measuring clients are ours, lift it. */
const NO_RATE_LIMIT = { 'gateway.rateLimit.burst': 100_000, 'gateway.rateLimit.perSecond': 100_000 };

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** `--set key=value` options; values that read as JSON (numbers, booleans) are taken as such. */
function settings(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  process.argv.forEach((arg, i) => {
    if (arg !== '--set') return;
    const pair = process.argv[i + 1] ?? '';
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--set takes key=value, got ${JSON.stringify(pair)}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    out[pair.slice(0, eq)] = value;
  });
  return out;
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(2);
const mb = (f: MemoryFigures): string => `RSS ${(f.rss / 2 ** 20).toFixed(1)} MB, heap used ${(f.heapUsed / 2 ** 20).toFixed(1)} MB of ${(f.heapTotal / 2 ** 20).toFixed(1)} MB`;

function perItem(before: MemoryFigures, after: MemoryFigures, count: number): string {
  const per = (field: keyof MemoryFigures): string => kb((after[field] - before[field]) / count);
  return `RSS ${per('rss')} KB, heap used ${per('heapUsed')} KB (V8 heap committed ${per('heapTotal')} KB)`;
}

// ---- conversations

/** Opens a socket and waits for its `ready` frame. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('message', (data) => (String(data).startsWith('{"type":"ready"') ? resolve(ws) : reject(new Error(String(data).slice(0, 200)))));
    ws.once('error', reject);
  });
}

/** Sends `count` messages into `conv` on `ws`, at most `window` unacked; resolves on the last ack. */
function sendMessages(ws: WebSocket, conv: string, prefix: string, count: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const sendNext = (): void => {
      while (sent < count && sent - acked < window) {
        ws.send(JSON.stringify({ type: 'send', id: `${prefix}-${sent}`, conv, body: { text: `message ${sent} of ${prefix}` } }));
        sent++;
      }
    };
    const onMessage = (data: WebSocket.RawData): void => {
      const frame = JSON.parse(String(data)) as { type: string; conv?: string; code?: string; message?: string };
      if (frame.type === 'ack' && frame.conv === conv) {
        if (++acked === count) {
          ws.off('message', onMessage);
          resolve();
        } else sendNext();
      } else if (frame.type === 'error') reject(new Error(`${frame.code}: ${frame.message}`));
    };
    ws.on('message', onMessage);
    sendNext();
  });
}

async function activate(sockets: WebSocket[], conversations: FixtureConversation[], messages: number, tag: string): Promise<number> {
  const started = performance.now();
  await Promise.all(conversations.map((c, i) => sendMessages(sockets[c.first]!, c.id, `${tag}${i}`, messages, 64)));
  return (performance.now() - started) / 1000;
}

async function measureConversations(): Promise<void> {
  const count = option('conversations', 200);
  const messages = option('messages', 1000);
  const setCount = Math.max(2, option('sets', 2));
  const fixture = await prepareFixture(2 * setCount * count, setCount * count);
  const server = await MeasuredServer.start({ dataDir: fixture.dataDir, overrides: { ...NO_RATE_LIMIT, ...settings() }, cpuProfileDir });
  const sockets: WebSocket[] = [];
  try {
    const url = (token: string): string => `ws://127.0.0.1:${server.port}/v1/ws?token=${encodeURIComponent(token)}`;
    for (const user of fixture.users) sockets.push(await connect(url(user.token)));
    const baseline = await server.measure();
    if (snapshotPrefix !== undefined) await server.snapshot(`${snapshotPrefix}-before.heapsnapshot`);
    console.log(`baseline (${sockets.length} sockets ready, no messages): ${mb(baseline)}`);
    const sets = Array.from({ length: setCount }, (_, i) => fixture.conversations.slice(i * count, (i + 1) * count));
    const figures = [baseline];
    for (const [i, set] of sets.entries()) {
      const seconds = await activate(sockets, set, messages, `s${i}c`);
      const after = await server.measure();
      figures.push(after);
      const before = figures[figures.length - 2] as MemoryFigures;
      console.log(`set ${i + 1}: ${count} conversations × ${messages} messages in ${seconds.toFixed(1)} s (${Math.round((count * messages) / seconds)}/s); then ${mb(after)}; growth per conversation ${perItem(before, after, count)}`);
    }
    if (snapshotPrefix !== undefined) await server.snapshot(`${snapshotPrefix}-after.heapsnapshot`);
    const [base, first] = figures as [MemoryFigures, MemoryFigures];
    const last = figures[figures.length - 1] as MemoryFigures;
    console.log(`first set, per conversation (with one-time growth): ${perItem(base, first, count)}`);
    console.log(`per active conversation (sets 2–${setCount}, ${count} × ${messages} messages each): ${perItem(first, last, (setCount - 1) * count)}`);
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.stop();
    await rm(fixture.dataDir, { recursive: true, force: true });
  }
}

// ---- sockets

function runClient(task: SocketClientTask): { report: Promise<SocketClientReport>; close(): void } {
  const child = fork(join(HERE, 'socket-client.ts'), [], { execArgv: NODE_ARGS });
  const report = new Promise<SocketClientReport>((resolve, reject) => {
    child.once('message', (m: SocketClientReport) => resolve(m));
    child.once('exit', (code) => reject(new Error(`a socket client exited with ${code}`)));
  });
  child.send(task satisfies SocketClientMessage);
  return { report, close: () => child.send({ close: true } satisfies SocketClientMessage) };
}

/** Opens `tokens` as idle sockets from `clientCount` client processes; resolves on their reports. */
async function openWave(url: string, tokens: string[], clientCount: number, firstClient: number, clients: Array<ReturnType<typeof runClient>>): Promise<SocketClientReport[]> {
  const share = Math.ceil(tokens.length / clientCount);
  const wave: Array<ReturnType<typeof runClient>> = [];
  for (let i = 0; i < clientCount; i++) {
    const mine = tokens.slice(i * share, (i + 1) * share);
    if (mine.length === 0) continue;
    // One source address serves every client while its ports last; beyond, one per client.
    const localAddress = tokens.length > PORTS_PER_ADDRESS || firstClient > 0 ? `127.0.0.${firstClient + i + 1}` : undefined;
    wave.push(runClient({ url, tokens: mine, concurrency: 128, ...(localAddress !== undefined ? { localAddress } : {}) }));
  }
  clients.push(...wave);
  return Promise.all(wave.map((c) => c.report));
}

async function measureSockets(): Promise<void> {
  const count = option('sockets', 19_000);
  const clientCount = option('clients', 2);
  const waveCount = option('waves', 1);
  const fixture = await prepareFixture(count, 0);
  const server = await MeasuredServer.start({ dataDir: fixture.dataDir, overrides: settings(), cpuProfileDir });
  const clients: Array<ReturnType<typeof runClient>> = [];
  try {
    const baseline = await server.measure();
    if (snapshotPrefix !== undefined) await server.snapshot(`${snapshotPrefix}-before.heapsnapshot`);
    console.log(`baseline (no socket): ${mb(baseline)}`);
    const url = `ws://127.0.0.1:${server.port}/v1/ws`;
    const perWave = Math.ceil(count / waveCount);
    const figures = [baseline];
    let open = 0;
    for (let w = 0; w < waveCount; w++) {
      const tokens = fixture.users.slice(w * perWave, (w + 1) * perWave).map((u) => u.token);
      const reports = await openWave(url, tokens, clientCount, w * clientCount, clients);
      const after = await server.measure();
      const previous = figures[figures.length - 1] as MemoryFigures;
      figures.push(after);
      const ready = reports.reduce((n, r) => n + r.ready, 0);
      const failed = reports.reduce((n, r) => n + r.failed, 0);
      const ms = Math.max(...reports.map((r) => r.ms));
      const clientCpuMs = reports.reduce((n, r) => n + r.cpuMs, 0);
      const serverCpuMs = (after.cpuMicros - previous.cpuMicros) / 1000;
      const firstError = reports.find((r) => r.firstError !== undefined)?.firstError;
      open += ready;
      const label = waveCount === 1 ? '' : `wave ${w + 1}: `;
      console.log(`${label}${ready} sockets ready in ${(ms / 1000).toFixed(2)} s, ${Math.round(ready / (ms / 1000))}/s (${failed} failed${firstError !== undefined ? `: ${firstError}` : ''})`);
      console.log(`${label}CPU meanwhile: server ${(serverCpuMs / 1000).toFixed(1)} s (${((serverCpuMs * 1000) / Math.max(1, ready)).toFixed(0)} µs per socket), clients ${(clientCpuMs / 1000).toFixed(1)} s`);
      console.log(`${label}then ${mb(after)}`);
      if (waveCount > 1 && w > 0) console.log(`${label}per idle authenticated socket of this wave (${ready}): ${perItem(previous, after, ready)}`);
    }
    if (snapshotPrefix !== undefined) await server.snapshot(`${snapshotPrefix}-after.heapsnapshot`);
    console.log(`per idle authenticated socket (${open}, one-time growth included): ${perItem(baseline, figures[figures.length - 1] as MemoryFigures, open)}`);
  } finally {
    for (const client of clients) client.close();
    await server.stop();
    await rm(fixture.dataDir, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (mode === 'conversations') await measureConversations();
else if (mode === 'sockets') await measureSockets();
else {
  console.error('usage: measure-memory.ts conversations|sockets [--conversations N] [--messages N] [--sets N] [--sockets N] [--clients N] [--waves N] [--clients N] [--set key=value]...');
  process.exit(2);
}
