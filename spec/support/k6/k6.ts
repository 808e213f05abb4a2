/**
 * Stand-in for the `k6` module: check, fail, group, sleep. See run-script.ts for what the stand-in
 * emulates and what it does not.
 */
import { recorder } from './recorder.js';

type Checker<T> = ((value: T) => unknown) | unknown;

/** Runs each named test on `value`, records its outcome (and a `checks` Rate sample); true if all passed. */
export function check<T>(value: T, sets: Record<string, Checker<T>>, _tags?: object): boolean {
  let all = true;
  for (const [name, test] of Object.entries(sets)) {
    // As in k6, an exception thrown by a test is not a failed check: it propagates.
    const ok = Boolean(typeof test === 'function' ? (test as (v: T) => unknown)(value) : test);
    recorder.addCheck(name, ok);
    all &&= ok;
  }
  return all;
}

/** Ends the iteration with an error. */
export function fail(message?: string): never {
  throw new Error(message ?? 'fail() called');
}

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

/** Blocks the VU for `seconds`, events included, as k6's sleep does. */
export function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

export default { check, fail, group, sleep };
