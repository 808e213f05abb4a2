/** Mean CPU of each side over a stretch of samples, percent of one core. */
export interface MeanCpu {
  server?: number;
  generator?: number;
  /** Everything else on the machine: high means the cores were shared with someone else's work. */
  other?: number;
}

/**
 * CPU and memory of both sides of a run, once a second: the server processes (summed; a cluster
 * has several, a peer two) and the generator (this process plus its workers). On a machine with
 * few cores a figure is only honest next to these two: a generator at 100 % of its core measures
 * itself, not the server.
 */
import { CpuSum, cpuPercent, readMachineBusyMillis, readRssKiB } from './proc-stats.js';

export interface ResourceSample {
  /** Seconds since the sampler's origin. */
  t: number;
  serverCpuPct?: number;
  serverRssBytes?: number;
  generatorCpuPct: number;
  /** CPU the rest of the machine used (other processes on shared cores), percent of one core; absent when the server cannot be read. */
  otherCpuPct?: number;
}

interface Reading {
  at: number;
  server: number;
  generator: number;
  machine: number;
}

export class ResourceSampler {
  readonly samples: ResourceSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly serverCpu: CpuSum;
  private readonly workerCpu: CpuSum;
  private last: Reading | undefined;

  constructor(private readonly serverPids: readonly number[], workerPids: readonly number[], private readonly origin: number) {
    this.serverCpu = new CpuSum(serverPids);
    this.workerCpu = new CpuSum(workerPids);
  }

  /** Takes a first reading now and one every second until stop(). */
  async start(): Promise<void> {
    this.last = await this.read();
    this.timer = setInterval(() => void this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Server RSS right now (sum over its processes), or undefined when it cannot be read (--url). */
  async serverRssBytes(): Promise<number | undefined> {
    if (this.serverPids.length === 0) return undefined;
    let kib = 0;
    for (const pid of this.serverPids) kib += await readRssKiB(pid).catch(() => 0);
    return kib * 1024;
  }

  /** Mean CPU of each side between two sample times (seconds since origin); undefined when nothing was sampled. */
  meanCpu(fromT: number, toT: number): MeanCpu {
    const inside = this.samples.filter((s) => s.t > fromT && s.t <= toT);
    if (inside.length === 0) return {};
    const mean = (values: number[]): number | undefined => (values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length);
    const server = mean(inside.flatMap((s) => (s.serverCpuPct === undefined ? [] : [s.serverCpuPct])));
    const other = mean(inside.flatMap((s) => (s.otherCpuPct === undefined ? [] : [s.otherCpuPct])));
    return {
      generator: mean(inside.map((s) => s.generatorCpuPct))!,
      ...(server === undefined ? {} : { server }),
      ...(other === undefined ? {} : { other }),
    };
  }

  private async read(): Promise<Reading> {
    const own = process.cpuUsage();
    const generator = (own.user + own.system) / 1000 + (await this.workerCpu.read());
    return { at: Date.now(), server: await this.serverCpu.read(), generator, machine: await readMachineBusyMillis() };
  }

  private async sample(): Promise<void> {
    const now = await this.read();
    const last = this.last!;
    this.last = now;
    const wall = now.at - last.at;
    const hasServer = this.serverPids.length > 0;
    const rss = await this.serverRssBytes();
    const generatorCpuPct = cpuPercent(now.generator - last.generator, wall);
    const serverCpuPct = cpuPercent(now.server - last.server, wall);
    // Readings of different files at slightly different moments: a small negative remainder is noise.
    const otherCpuPct = Math.max(0, cpuPercent(now.machine - last.machine, wall) - generatorCpuPct - serverCpuPct);
    this.samples.push({
      t: Math.round(((now.at - this.origin) / 1000) * 10) / 10,
      generatorCpuPct,
      ...(hasServer ? { serverCpuPct, otherCpuPct } : {}),
      ...(rss === undefined ? {} : { serverRssBytes: rss }),
    });
  }
}
