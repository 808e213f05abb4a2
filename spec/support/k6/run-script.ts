/**
 * A small stand-in of k6 that runs a k6 script's setup() and one VU iteration in Node, so specs
 * can execute the scripts in bench/k6/ against a live server without k6 (which cannot be installed
 * on these machines). It is a test double: it speaks the same network protocol as the script
 * would under k6, but it is not k6, and a script passing here can still meet a difference there.
 *
 * How it runs a script, like k6 does:
 * - setup() runs on one worker thread (VU 0), the default function on another (VU 1, iteration 0):
 *   separate module instances, so module state set in setup() does not leak into the VU. setup()'s
 *   return value reaches the VU as JSON, as in k6.
 * - `k6`, `k6/http`, `k6/metrics`, `k6/timers` and `k6/websockets` resolve to this folder
 *   (module-hooks.ts); any other k6 module is refused by name.
 * - k6/http is synchronous: the VU thread blocks in Atomics.wait while a helper thread makes the
 *   request (http.ts). Its sockets get no events meanwhile, as in k6.
 * - An iteration (and setup) ends when its function has returned (promises awaited) and no
 *   socket or k6 timer is left open; an exception in an event handler or timer callback, or a
 *   promise rejected with nobody to handle it, ends it with that error. A function that awaits
 *   something that never settles, with nothing left open, is reported as not finished within
 *   the run's timeout (k6 would end the iteration without a word).
 * - Metrics must be declared in the init context, requests and sockets are refused there.
 * - __ENV holds exactly the `env` given (k6 also passes the system environment by default);
 *   __VU and __ITER are set as above.
 *
 * What it records and reports: every check's passes and fails (and the `checks` Rate), every
 * sample of the script's custom metrics plus http_reqs, http_req_duration and http_req_failed,
 * the errors that ended or disturbed a phase, the threads' console output, and the script's
 * thresholds evaluated over those samples (thresholds.ts).
 *
 * What it does not emulate: executors, scenarios, stages and VU scheduling (one iteration of one
 * VU, whatever `options` says), teardown() and handleSummary(), k6's other built-in metrics
 * (ws_*, iteration_duration, data_*), tags on samples, and the limits per module listed in
 * each stand-in's header.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import type { CheckTally, MetricRecord } from './recorder.js';
import { evaluateThresholds, type ThresholdResult } from './thresholds.js';
import { startTsWorker } from './ts-worker.js';
import type { VuResult, VuTask } from './vu-worker.js';

export interface K6RunOptions {
  /** __ENV of the script. */
  env?: Record<string, string>;
  /** Longest setup or iteration, event loop included (an error past it); default 30 s. */
  timeoutMs?: number;
}

export interface K6Run {
  /** The script's exported options, as JSON. */
  options: unknown;
  /** setup()'s return value, parsed. */
  setupData: unknown;
  checks: Record<string, CheckTally>;
  /** Samples of setup and the iteration together. */
  metrics: Record<string, MetricRecord>;
  /** Exceptions that ended or disturbed a phase, prefixed with the phase. */
  errors: string[];
  thresholds: ThresholdResult[];
  /** What the script printed (console.*), line by line. */
  logs: string[];
}

function collect(stream: Readable, into: string[]): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    into.push(...lines);
  });
  stream.on('end', () => {
    if (rest !== '') into.push(rest);
  });
}

async function runPhase(task: VuTask, logs: string[]): Promise<VuResult> {
  const worker = startTsWorker(new URL('./vu-worker.ts', import.meta.url), { workerData: task, stdout: true, stderr: true });
  collect(worker.stdout, logs);
  collect(worker.stderr, logs);
  try {
    return await new Promise<VuResult>((resolve, reject) => {
      // The worker enforces timeoutMs itself; this is the backstop for a thread stuck in a sync call.
      const backstop = setTimeout(() => reject(new Error(`the ${task.phase} thread did not report within ${task.timeoutMs + 10_000} ms`)), task.timeoutMs + 10_000);
      worker.once('message', (result: VuResult) => {
        clearTimeout(backstop);
        resolve(result);
      });
      worker.once('error', (err) => {
        clearTimeout(backstop);
        reject(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(backstop);
        reject(new Error(`the ${task.phase} thread exited (code ${code}) without a report`));
      });
    });
  } finally {
    await worker.terminate();
  }
}

function merge(into: Record<string, MetricRecord>, from: Record<string, MetricRecord>): void {
  for (const [name, metric] of Object.entries(from)) {
    const existing = into[name];
    if (existing) existing.values.push(...metric.values);
    else into[name] = { ...metric, values: [...metric.values] };
  }
}

/** Runs `script`'s setup() and then one iteration of its default function as VU 1. */
export async function runK6Script(script: string, options: K6RunOptions = {}): Promise<K6Run> {
  const base = {
    scriptUrl: pathToFileURL(script).href,
    env: options.env ?? {},
    vu: 1,
    iteration: 0,
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  const logs: string[] = [];
  const setup = await runPhase({ ...base, phase: 'setup', setupJson: undefined }, logs);
  const errors = setup.report.errors.map((e) => `setup: ${e}`);
  const metrics: Record<string, MetricRecord> = {};
  merge(metrics, setup.report.metrics);
  const checks: Record<string, CheckTally> = { ...setup.report.checks };
  // k6 does not start VUs after a failed setup().
  if (errors.length === 0) {
    const iteration = await runPhase({ ...base, phase: 'iteration', setupJson: setup.setupJson }, logs);
    errors.push(...iteration.report.errors.map((e) => `iteration: ${e}`));
    merge(metrics, iteration.report.metrics);
    for (const [name, tally] of Object.entries(iteration.report.checks)) {
      const sum = checks[name] ?? { passes: 0, fails: 0 };
      checks[name] = { passes: sum.passes + tally.passes, fails: sum.fails + tally.fails };
    }
  }
  const thresholds = (setup.options as { thresholds?: Parameters<typeof evaluateThresholds>[0] } | null)?.thresholds;
  return {
    options: setup.options,
    setupData: setup.setupJson === undefined ? undefined : JSON.parse(setup.setupJson),
    checks,
    metrics,
    errors,
    thresholds: evaluateThresholds(thresholds, metrics),
    logs,
  };
}

/** The path of a script in bench/k6/. */
export function k6Script(name: string): string {
  return fileURLToPath(new URL(`../../../bench/k6/${name}`, import.meta.url));
}
