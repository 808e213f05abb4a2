/**
 * The parent's side of the generator: forks the worker processes (bench/gen/worker.ts), deals
 * the connections out to them in contiguous slices, runs each phase on all of them at once and
 * gathers what they report (bench/gen/protocol.ts). Workers are pinned with `taskset` when the
 * run pins the generator, so the server and the generator do not share a core.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TroupeError } from '../../transport/errors.js';
import { pinProcess } from '../lib/pinning.js';
import type { Wire } from '../lib/wire.js';
import type { Counters, FromWorker, LoadPlan, SocketPlan, SyncPlan, Tick, ToWorker, WorkerPhaseResult, WorkerSyncResult } from './protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith('.ts');
/** How often the parent asks for counters while a phase drains. */
const STATUS_POLL_MS = 100;

type Listener = (message: FromWorker) => void;

class WorkerHandle {
  private readonly listeners = new Set<Listener>();
  private exitedWith: string | undefined;

  constructor(readonly index: number, readonly child: ChildProcess) {
    child.on('message', (message: FromWorker) => {
      for (const listener of [...this.listeners]) listener(message);
    });
    child.once('exit', (code, signal) => {
      this.exitedWith = `generator worker ${index} exited (${signal ?? code})`;
      for (const listener of [...this.listeners]) listener({ type: 'failed', message: this.exitedWith });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  post(message: ToWorker): void {
    if (this.exitedWith !== undefined) throw new TroupeError('unavailable', this.exitedWith);
    this.child.send(message);
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the next message of `type`; a `failed` message rejects. */
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const off = this.on((message) => {
        if (message.type === type) {
          off();
          resolve(message as Extract<FromWorker, { type: T }>);
        } else if (message.type === 'failed') {
          off();
          reject(new TroupeError('unavailable', `generator worker ${this.index}: ${message.message}`));
        }
      });
    });
  }
}

export interface ConnectOutcome {
  ready: number;
  failed: number;
  firstError?: string;
  /** Epoch ms when the last socket of any worker became ready. */
  lastReadyAt: number;
}

export interface LoadOutcome {
  results: WorkerPhaseResult[];
  /** Every worker's ticks, in arrival order. */
  ticks: Tick[];
  /** Whether every ack and delivery came before the drain timeout. */
  drained: boolean;
  /** ms from the end of the window until drained (or the timeout). */
  drainMs: number;
}

export interface LoadRunOptions {
  /** One plan per worker (same tag, startAt, duration). */
  plans: LoadPlan[];
  drainTimeoutMs: number;
  onTick?(tick: Tick): void;
}

export class GeneratorPool {
  private owner: Int32Array = new Int32Array(0);

  private constructor(private readonly workers: WorkerHandle[]) {}

  /** Forks `count` workers, pinned to `pinCpus` (a taskset list) when given. */
  static async start(count: number, pinCpus: string | undefined): Promise<GeneratorPool> {
    const script = join(HERE, FROM_SOURCES ? 'worker.ts' : 'worker.js');
    const workers = Array.from({ length: count }, (_, i) =>
      new WorkerHandle(i, fork(script, [], { execArgv: FROM_SOURCES ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
    );
    const pool = new GeneratorPool(workers);
    if (pinCpus !== undefined) {
      try {
        for (const w of workers) await pinProcess(w.pid, pinCpus);
      } catch (err) {
        await pool.stop();
        throw err;
      }
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** The worker that owns user `user`'s connection (after connect()). */
  workerOf(user: number): number {
    return this.owner[user] ?? 0;
  }

  /**
   * Opens every socket of `plans` (users 0..n−1 in order), each worker its contiguous slice, at
   * most `concurrency` connecting at once per worker; `onProgress` gets the sums as they come.
   */
  async connect(wire: Wire['name'], plans: SocketPlan[], concurrency: number, onProgress?: (ready: number, failed: number) => void): Promise<ConnectOutcome> {
    const users = plans.reduce((max, p) => Math.max(max, p.user + 1), 0);
    this.owner = new Int32Array(users);
    const slices: SocketPlan[][] = this.workers.map(() => []);
    for (const plan of plans) {
      const w = Math.min(this.workers.length - 1, Math.floor((plan.user * this.workers.length) / users));
      this.owner[plan.user] = w;
      slices[w]!.push(plan);
    }
    const progress = this.workers.map(() => ({ ready: 0, failed: 0 }));
    const offs = this.workers.map((w) => w.on((message) => {
      if (message.type !== 'connecting' && message.type !== 'connected') return;
      progress[w.index] = { ready: message.ready, failed: message.failed };
      onProgress?.(progress.reduce((s, p) => s + p.ready, 0), progress.reduce((s, p) => s + p.failed, 0));
    }));
    try {
      const done = this.workers.map((w) => w.next('connected'));
      this.workers.forEach((w, i) => w.post({ type: 'connect', wire, sockets: slices[i]!, concurrency }));
      const outcomes = await Promise.all(done);
      const firstError = outcomes.find((o) => o.firstError !== undefined)?.firstError;
      return {
        ready: outcomes.reduce((s, o) => s + o.ready, 0),
        failed: outcomes.reduce((s, o) => s + o.failed, 0),
        lastReadyAt: Math.max(...outcomes.map((o) => o.lastReadyAt)),
        ...(firstError === undefined ? {} : { firstError }),
      };
    } finally {
      for (const off of offs) off();
    }
  }

  /** Runs one timed-load phase on every worker, waits for the drain, and collects the results. */
  async runLoad(options: LoadRunOptions): Promise<LoadOutcome> {
    const ticks: Tick[] = [];
    const offs = this.workers.map((w) => w.on((message) => {
      if (message.type !== 'tick') return;
      ticks.push(message.tick);
      options.onTick?.(message.tick);
    }));
    try {
      this.workers.forEach((w, i) => w.post({ type: 'load', plan: options.plans[i]! }));
      const plan = options.plans[0]!;
      const windowEnd = plan.startAt + plan.durationSec * 1000;
      await sleepUntil(windowEnd);
      const drainDeadline = Date.now() + options.drainTimeoutMs;
      let drained = false;
      for (;;) {
        const statuses = await Promise.all(this.workers.map((w) => {
          const reply = w.next('status');
          w.post({ type: 'status' });
          return reply;
        }));
        const sum = sumCounters(statuses.map((s) => s.counters));
        if (statuses.every((s) => s.windowDone) && sum.acked + sum.refused >= sum.sent && sum.delivered >= sum.expectedDeliveries) {
          drained = true;
          break;
        }
        if (Date.now() >= drainDeadline) break;
        await sleep(STATUS_POLL_MS);
      }
      const drainMs = Date.now() - windowEnd;
      const results = await Promise.all(this.workers.map((w) => {
        const reply = w.next('finished');
        w.post({ type: 'finish' });
        return reply;
      }));
      return { results: results.map((r) => r.result), ticks, drained, drainMs };
    } finally {
      for (const off of offs) off();
    }
  }

  /** Runs the history pulls, each worker those of its own users. */
  async sync(plan: SyncPlan): Promise<WorkerSyncResult[]> {
    const perWorker: SyncPlan[] = this.workers.map(() => ({ ...plan, pulls: [] }));
    for (const pull of plan.pulls) perWorker[this.workerOf(pull[0])]!.pulls.push(pull);
    const replies = await Promise.all(this.workers.map((w, i) => {
      const reply = w.next('synced');
      w.post({ type: 'sync', plan: perWorker[i]! });
      return reply;
    }));
    return replies.map((r) => r.result);
  }

  /** Closes every socket; resolves with the count of sockets the server closed meanwhile. */
  async disconnect(): Promise<number> {
    const replies = await Promise.all(this.workers.map((w) => {
      const reply = w.next('disconnected');
      w.post({ type: 'disconnect' });
      return reply;
    }));
    return replies.reduce((s, r) => s + r.unexpectedCloses, 0);
  }

  /** Ends every worker (their sockets close with them). Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) {
        resolve();
        return;
      }
      const killer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
      w.child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      if (w.child.connected) w.child.disconnect();
      else w.child.kill('SIGTERM');
    })));
  }
}

export function sumCounters(all: readonly Counters[]): Counters {
  return all.reduce(
    (s, c) => ({ sent: s.sent + c.sent, acked: s.acked + c.acked, refused: s.refused + c.refused, delivered: s.delivered + c.delivered, expectedDeliveries: s.expectedDeliveries + c.expectedDeliveries }),
    { sent: 0, acked: 0, refused: 0, delivered: 0, expectedDeliveries: 0 },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function sleepUntil(epochMs: number): Promise<void> {
  const wait = epochMs - Date.now();
  if (wait > 0) await sleep(wait);
}
