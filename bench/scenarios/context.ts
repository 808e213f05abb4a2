/**
 * What every scenario gets: the target it runs against, the run's options, a progress printer and
 * a prefix that makes its usernames and message tags unique (a server given with --url may have
 * run the benchmark before).
 */
import type { BenchOptions } from '../lib/bench-options.js';
import type { RunningTarget } from '../lib/running-target.js';

export interface ScenarioContext {
  target: RunningTarget;
  options: BenchOptions;
  progress(line: string): void;
  /** [a-z0-9], unique per scenario run. */
  prefix: string;
}

/** Connections one generator worker holds at most: the per-process file limit here is 20,000. */
export const SOCKETS_PER_WORKER = 18_000;

/** Generator workers for `sockets` connections: --workers, raised so that none holds too many. */
export function workerCount(requested: number, sockets: number): number {
  return Math.max(requested, Math.ceil(sockets / SOCKETS_PER_WORKER));
}
