/**
 * How a server process ends: the first SIGINT or SIGTERM starts `drain` and exits 0 once it has
 * finished (1 if it failed); a second signal, or a drain longer than `drainTimeoutMs` + 2 s,
 * exits 1 at once. Shared by `troupe dev` and every cluster role.
 */
import type { Logger } from '../actors/runtime/logger.js';

export function drainOnSignal(options: { logger: Logger; drainTimeoutMs: number; drain: () => Promise<void>; onSignal?: () => void }): void {
  const { logger, drainTimeoutMs } = options;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn('second signal; exiting without finishing the drain', { signal });
      process.exit(1);
    }
    signalled = true;
    options.onSignal?.();
    logger.info('signal received; draining', { signal });
    const deadline = setTimeout(() => {
      logger.error('drain took too long; exiting', { drainTimeoutMs });
      process.exit(1);
    }, drainTimeoutMs + 2000);
    deadline.unref();
    options.drain().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
