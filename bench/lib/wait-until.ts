/** Waiting for a condition of the run (all acks in, all sockets ready) instead of sleeping blindly. */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { waitFor } from '../../bin/services/wait-for.js';

export function sleep(ms: number): Promise<void> {
  return sleepFor(ms);
}

/**
 * Resolves true as soon as `condition` holds, or false once `timeoutMs` has passed without it:
 * the benchmark reports what did not arrive rather than aborting.
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  try {
    await waitFor(condition, { timeoutMs, intervalMs });
    return true;
  } catch {
    return false;
  }
}
