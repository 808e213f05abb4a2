/**
 * Stand-in for `k6/timers`: Node's timers, with numeric ids as in k6, each holding the VU's event
 * loop open until it has fired or been cleared. A callback that throws ends the iteration.
 */
import { recorder } from './recorder.js';

interface Live {
  timer: NodeJS.Timeout;
  release: () => void;
}

const live = new Map<number, Live>();
let nextId = 1;

function guarded(fn: (...args: unknown[]) => void, args: unknown[]): void {
  try {
    fn(...args);
  } catch (err) {
    recorder.fail(err);
  }
}

export function setTimeout(fn: (...args: unknown[]) => void, delay = 0, ...args: unknown[]): number {
  const id = nextId++;
  const release = recorder.hold();
  const timer = globalThis.setTimeout(() => {
    live.delete(id);
    release();
    guarded(fn, args);
  }, delay);
  live.set(id, { timer, release });
  return id;
}

export function setInterval(fn: (...args: unknown[]) => void, delay = 0, ...args: unknown[]): number {
  const id = nextId++;
  const timer = globalThis.setInterval(() => guarded(fn, args), delay);
  live.set(id, { timer, release: recorder.hold() });
  return id;
}

function clear(id: number | undefined): void {
  if (id === undefined) return;
  const entry = live.get(id);
  if (!entry) return;
  live.delete(id);
  globalThis.clearTimeout(entry.timer);
  entry.release();
}

export const clearTimeout = clear;
export const clearInterval = clear;

export default { setTimeout, clearTimeout, setInterval, clearInterval };
