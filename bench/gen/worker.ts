/**
 * A generator worker: a child process of `troupe bench` (forked by bench/gen/pool.ts) that owns a
 * slice of the run's connections. Spreading the sockets over processes lifts the per-process file
 * limit (about 19,000 sockets here) and the one-core ceiling of a single event loop; the parent
 * tells each worker what to do over IPC (bench/gen/protocol.ts) and merges what they find.
 */
import { TroupeError } from '../../transport/errors.js';
import { troupeWire } from '../lib/troupe-wire.js';
import type { ServerFrame, Wire, WireSocket } from '../lib/wire.js';
import { LoadPhase } from './load-phase.js';
import type { FromWorker, SocketPlan, ToWorker } from './protocol.js';
import { SyncPhase } from './sync-phase.js';

/** How often a worker reports connection progress while connecting. */
const CONNECT_PROGRESS_MS = 500;

const sockets = new Map<number, WireSocket>();
let load: LoadPhase | undefined;
let sync: SyncPhase | undefined;
let unexpectedCloses = 0;
let disconnecting = false;

function send(message: FromWorker): void {
  process.send?.(message);
}

async function wireNamed(name: Wire['name']): Promise<Wire> {
  if (name === 'troupe') return troupeWire;
  try {
    // A variable specifier: the type check does not need the peer's module (its shape is Wire).
    const specifier = '../peers/socketio/wire.js';
    const module = (await import(specifier)) as { socketIoWire: Wire };
    return module.socketIoWire;
  } catch (err) {
    throw new TroupeError('config', `the socketio peer needs the dev dependencies: run npm install in a checkout (${(err as Error).message})`);
  }
}

const callbacks = {
  onFrame(socket: WireSocket, frame: ServerFrame): void {
    const user = socket.index;
    if (load !== undefined) load.onFrame(user, frame);
    else if (sync !== undefined) sync.onFrame(user, frame);
  },
  onUnexpectedClose(socket: WireSocket): void {
    // A socket that never became ready is counted once, as failing to open.
    if (disconnecting || sockets.get(socket.index) !== socket) return;
    unexpectedCloses += 1;
    sockets.delete(socket.index);
    sync?.onClose(socket.index);
  },
};

async function connect(wireName: Wire['name'], plans: SocketPlan[], concurrency: number): Promise<void> {
  const wire = await wireNamed(wireName);
  disconnecting = false;
  let ready = 0;
  let failed = 0;
  let firstError: string | undefined;
  let lastReadyAt = Date.now();
  let next = 0;
  const progress = setInterval(() => send({ type: 'connecting', ready, failed }), CONNECT_PROGRESS_MS);
  const lane = async (): Promise<void> => {
    while (next < plans.length) {
      const plan = plans[next++]!;
      const socket = wire.connect(plan.user, { baseUrl: plan.baseUrl, token: plan.token, localAddress: plan.localAddress }, callbacks);
      try {
        await socket.ready;
        sockets.set(plan.user, socket);
        ready += 1;
        lastReadyAt = Date.now();
      } catch (err) {
        failed += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, plans.length)) }, lane));
  clearInterval(progress);
  send({ type: 'connected', ready, failed, lastReadyAt, ...(firstError === undefined ? {} : { firstError }) });
}

async function disconnect(): Promise<void> {
  disconnecting = true;
  await Promise.all([...sockets.values()].map((s) => s.close()));
  sockets.clear();
  send({ type: 'disconnected', unexpectedCloses });
  unexpectedCloses = 0;
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'connect':
      await connect(message.wire, message.sockets, message.concurrency);
      break;
    case 'load': {
      unexpectedCloses = 0;
      load = new LoadPhase(message.plan, (user) => sockets.get(user), (tick) => send({ type: 'tick', tick }));
      load.start();
      break;
    }
    case 'status':
      if (load !== undefined) send({ type: 'status', counters: load.status(), windowDone: load.windowDone });
      break;
    case 'finish': {
      const phase = load;
      load = undefined;
      if (phase !== undefined) send({ type: 'finished', result: phase.finish(unexpectedCloses) });
      break;
    }
    case 'sync': {
      unexpectedCloses = 0;
      const phase = new SyncPhase(message.plan, (user) => sockets.get(user));
      sync = phase;
      await phase.run();
      sync = undefined;
      send({ type: 'synced', result: phase.finish() });
      break;
    }
    case 'disconnect':
      await disconnect();
      break;
    case 'exit':
      await disconnect();
      process.disconnect();
      break;
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }));
});
// The parent going away (Ctrl-C, a crash) ends the worker too: nothing else would close its sockets.
process.on('disconnect', () => process.exit(0));
