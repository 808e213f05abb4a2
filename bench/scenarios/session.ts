/**
 * The machinery a scenario drives, in one place: the users it registers through the target's
 * entry points, the generator workers holding their sockets (bench/gen/pool.ts), and the sampler
 * of both sides' CPU and memory (bench/lib/resource-sampler.ts).
 */
import { cpus } from 'node:os';
import { GeneratorPool, type ConnectOutcome } from '../gen/pool.js';
import type { SocketPlan } from '../gen/protocol.js';
import { HttpApi, type Session } from '../lib/http-api.js';
import { registerUsers, type ApiFor } from '../lib/population.js';
import { cpuListSize, pinProcess } from '../lib/pinning.js';
import { ResourceSampler } from '../lib/resource-sampler.js';
import { workerCount, type ScenarioContext } from './context.js';

/** Connections per 127.0.0.x source address, below the ~28,000 ephemeral ports each has. */
const PER_SOURCE_ADDRESS = 25_000;
/** Sockets being set up at once, per worker. */
const CONNECT_CONCURRENCY = 1000;
/** Longest wait for the sockets' polite close at the end. */
const CLOSE_TIMEOUT_MS = 10_000;

export class ScenarioSession {
  readonly apiFor: ApiFor;
  sampler: ResourceSampler | undefined;

  private constructor(readonly ctx: ScenarioContext, readonly pool: GeneratorPool, private readonly users: number) {
    const apis = ctx.target.baseUrls.map((url) => new HttpApi(url));
    this.apiFor = (user) => apis[user % apis.length]!;
  }

  /** Forks the generator workers for `users` connections. */
  static async open(ctx: ScenarioContext, users: number): Promise<ScenarioSession> {
    const workers = workerCount(ctx.options.workers, users);
    const pool = await GeneratorPool.start(workers, ctx.options.pinGenerator);
    // This process merges and samples for the generator: it shares the generator's CPUs while a
    // scenario runs, and gets every CPU back after it (servers started later must not inherit them).
    if (ctx.options.pinGenerator !== undefined) {
      try {
        await pinProcess(process.pid, ctx.options.pinGenerator);
      } catch (err) {
        await pool.stop();
        throw err;
      }
    }
    ctx.progress(`  generator: ${workers} worker process${workers === 1 ? '' : 'es'}${ctx.options.pinGenerator === undefined ? '' : ` pinned to CPU ${ctx.options.pinGenerator}`}`);
    return new ScenarioSession(ctx, pool, users);
  }

  async register(): Promise<Session[]> {
    this.ctx.progress(`  registering ${this.users} users on ${this.ctx.target.label}`);
    return registerUsers(this.apiFor, this.ctx.prefix, this.users, this.ctx.progress);
  }

  /** Starts sampling CPU and RSS once a second; `origin` is the epoch ms that timeline t counts from. */
  async startSampling(origin: number): Promise<ResourceSampler> {
    this.sampler?.stop();
    this.sampler = new ResourceSampler(this.ctx.target.serverPids(), this.pool.pids(), origin);
    await this.sampler.start();
    return this.sampler;
  }

  /** Opens one socket per session (user i on entry point i mod n); `onProgress` gets ready counts. */
  connect(sessions: readonly Session[], onProgress?: (ready: number, failed: number) => void): Promise<ConnectOutcome> {
    const { baseUrls } = this.ctx.target;
    // Extra source addresses exist on loopback only: a remote target gets the kernel's choice.
    const bind = sessions.length > PER_SOURCE_ADDRESS && baseUrls.every((url) => /^https?:\/\/(127\.|localhost[:/])/.test(url));
    const plans: SocketPlan[] = sessions.map((s, user) => ({
      user,
      baseUrl: baseUrls[user % baseUrls.length]!,
      token: s.accessToken,
      ...(bind ? { localAddress: `127.0.0.${1 + Math.floor(user / PER_SOURCE_ADDRESS)}` } : {}),
    }));
    return this.pool.connect(this.ctx.target.wire.name, plans, CONNECT_CONCURRENCY, onProgress);
  }

  /** Connects every session and fails the scenario when any socket cannot open. */
  async connectAll(sessions: readonly Session[]): Promise<void> {
    let shown = 0;
    const outcome = await this.connect(sessions, (ready) => {
      if (ready - shown >= 5000) {
        shown = ready;
        this.ctx.progress(`  ${ready}/${sessions.length} sockets ready`);
      }
    });
    if (outcome.failed > 0) throw new Error(`${outcome.failed} of ${sessions.length} sockets did not open: ${outcome.firstError ?? ''}`);
    this.ctx.progress(`  ${outcome.ready} sockets ready`);
  }

  /**
   * The CPU the generator can use, in percent of one core: one core per worker process, at most
   * the CPUs it is pinned to (or the machine's). A generator near it measures itself.
   */
  generatorCapacityPct(): number {
    const pinned = this.ctx.options.pinGenerator === undefined ? undefined : cpuListSize(this.ctx.options.pinGenerator);
    return 100 * Math.min(this.pool.size + 1, pinned ?? cpus().length);
  }

  /** Closes every socket politely (so the server is not stopped amid a wave of drops), then ends the workers. */
  async close(): Promise<void> {
    this.sampler?.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pool.disconnect().catch(() => 0), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
    await this.pool.stop();
    if (this.ctx.options.pinGenerator !== undefined) await pinProcess(process.pid, `0-${cpus().length - 1}`);
  }
}
