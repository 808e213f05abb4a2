/** Polls a condition instead of sleeping: used by the local services, the launcher and every spec. */

import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. Default 10 s, enough for a real broker or database. */
  timeoutMs?: number;
  /** Pause between checks. Default 10 ms. */
  intervalMs?: number;
  /** Added to the timeout error, to say what was awaited. */
  message?: string;
}

/** Resolves as soon as `condition` holds; rejects once `timeoutMs` has passed without it. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: timed out after ${timeoutMs} ms${options.message ? `: ${options.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
