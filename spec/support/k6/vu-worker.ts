/**
 * The entry of one stand-in VU thread (see run-script.ts): maps the k6 modules to the stand-ins,
 * sets k6's globals, evaluates the script (its init context), then runs setup() or the default
 * function once and waits until its event loop is empty, as k6 does. It posts back the script's
 * options, setup's data (as JSON, the only way k6 hands it to VUs) and what it recorded.
 */
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { HandlerFailure, recorder, type VuReport } from './recorder.js';

export interface VuTask {
  scriptUrl: string;
  phase: 'setup' | 'iteration';
  env: Record<string, string>;
  vu: number;
  iteration: number;
  /** setup()'s return value as JSON; the default function gets it parsed. */
  setupJson: string | undefined;
  timeoutMs: number;
}

export interface VuResult {
  options: unknown;
  setupJson: string | undefined;
  report: VuReport;
}

const task = workerData as VuTask;

register('./module-hooks.ts', import.meta.url);
Object.assign(globalThis, { __ENV: { ...task.env }, __VU: task.phase === 'setup' ? 0 : task.vu, __ITER: task.phase === 'setup' ? 0 : task.iteration });
process.on('unhandledRejection', (reason) => recorder.fail(reason));

let options: unknown;
let setupJson: string | undefined;

async function run(): Promise<void> {
  const script = (await import(task.scriptUrl)) as { options?: unknown; setup?: () => unknown; default?: (data: unknown) => unknown };
  options = script.options;
  recorder.phase = task.phase;
  if (task.phase === 'setup') {
    const data = typeof script.setup === 'function' ? await script.setup() : undefined;
    setupJson = data === undefined ? undefined : JSON.stringify(data);
  } else {
    if (typeof script.default !== 'function') throw new Error('the script has no default function');
    await script.default(task.setupJson === undefined ? undefined : JSON.parse(task.setupJson));
  }
  await recorder.whenIdle(task.timeoutMs);
}

let deadline: NodeJS.Timeout | undefined;
const overrun = new Promise<never>((_, reject) => {
  deadline = setTimeout(() => reject(new Error(`${task.phase} did not finish within ${task.timeoutMs} ms`)), task.timeoutMs);
});
try {
  await Promise.race([run(), recorder.failure, overrun]);
} catch (err) {
  if (!(err instanceof HandlerFailure)) recorder.addError(err);
} finally {
  clearTimeout(deadline);
}
// One turn of the event loop, so a promise rejected with nobody to catch it is reported (k6 ends
// the iteration with "Uncaught (in promise)") before the report goes out.
await new Promise((resolve) => setImmediate(resolve));

const result: VuResult = { options: JSON.parse(JSON.stringify(options ?? null)), setupJson, report: recorder.report() };
parentPort?.postMessage(result);
