/**
 * What one k6 VU (a worker thread of the stand-in) records: check outcomes, metric samples and the
 * errors that ended or disturbed it, plus the bookkeeping k6 does for its per-VU event loop (an
 * iteration is over when the default function has returned and no socket or timer is left).
 *
 * It lives on globalThis under a registered symbol rather than as a module singleton, so the copy
 * the emulated k6 modules use and the copy the worker entry reads are one object however the
 * loader names the module.
 */

/** Where k6 is in a VU's life: some calls are allowed only in the init context, some never there. */
export type Phase = 'init' | 'setup' | 'iteration';

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export interface MetricRecord {
  type: MetricType;
  /** Declared as a time (`new Trend(name, true)`): its values are milliseconds. */
  isTime: boolean;
  values: number[];
}

export interface CheckTally {
  passes: number;
  fails: number;
}

/** Everything a VU recorded; plain data, so it crosses the thread boundary as is. */
export interface VuReport {
  checks: Record<string, CheckTally>;
  metrics: Record<string, MetricRecord>;
  errors: string[];
}

/** The rejection of Recorder.failure: the handler's own error is already recorded. */
export class HandlerFailure extends Error {
  constructor() {
    super('an event handler or timer callback threw (recorded)');
  }
}

export class Recorder {
  phase: Phase = 'init';
  private readonly checks = new Map<string, CheckTally>();
  private readonly metrics = new Map<string, MetricRecord>();
  private readonly errors: string[] = [];
  /** Sockets and timers that keep the VU's event loop busy. */
  private pending = 0;
  private idle: (() => void) | null = null;
  private rejectFailure: (err: HandlerFailure) => void = () => {};
  /** Rejects with a HandlerFailure when an event handler or timer callback throws (see fail). */
  readonly failure: Promise<never> = new Promise<never>((_, reject) => {
    this.rejectFailure = reject;
  });

  constructor() {
    // Nobody may be racing against it yet; the error itself is already in `errors`.
    this.failure.catch(() => {});
  }

  declareMetric(name: string, type: MetricType, isTime: boolean): void {
    const existing = this.metrics.get(name);
    if (existing && existing.type !== type) throw new Error(`metric ${name} is already declared as a ${existing.type}`);
    if (!existing) this.metrics.set(name, { type, isTime, values: [] });
  }

  addSample(name: string, value: number): void {
    const metric = this.metrics.get(name);
    if (!metric) throw new Error(`metric ${name} was never declared`);
    metric.values.push(value);
  }

  addCheck(name: string, ok: boolean): void {
    const tally = this.checks.get(name) ?? { passes: 0, fails: 0 };
    if (ok) tally.passes++;
    else tally.fails++;
    this.checks.set(name, tally);
    this.declareMetric('checks', 'rate', false);
    this.addSample('checks', ok ? 1 : 0);
  }

  addError(err: unknown): void {
    this.errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }

  /** Something that keeps the event loop busy started; call the returned function once it is done. */
  hold(): () => void {
    this.pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pending--;
      if (this.pending === 0) this.idle?.();
    };
  }

  /**
   * An exception escaped an event handler or timer callback: in k6 that ends the iteration with
   * that error. It is recorded here, and `failure` rejects so the VU stops waiting.
   */
  fail(err: unknown): void {
    this.addError(err);
    this.rejectFailure(new HandlerFailure());
  }

  /** Resolves once nothing holds the event loop; rejects after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the VU's event loop was still busy after ${timeoutMs} ms (${this.pending} sockets or timers open)`)), timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        this.idle = null;
        resolve();
      };
    });
  }

  report(): VuReport {
    return {
      checks: Object.fromEntries(this.checks),
      metrics: Object.fromEntries(this.metrics),
      errors: [...this.errors],
    };
  }
}

const KEY = Symbol.for('troupe.k6-stand-in.recorder');
const slot = globalThis as typeof globalThis & { [KEY]?: Recorder };

/** This thread's recorder. */
export const recorder: Recorder = (slot[KEY] ??= new Recorder());

/** Throws k6's refusal when `what` is used outside the phases that allow it. */
export function requirePhase(what: string, allowed: readonly Phase[]): void {
  if (!allowed.includes(recorder.phase)) throw new Error(`${what} is not allowed in the ${recorder.phase} context (k6 would refuse it too)`);
}
