/**
 * `troupe dev`: the embedded server in the foreground. SIGINT or SIGTERM drains it (see
 * startEmbedded's `stop`); a second signal, or a drain longer than shutdown.drainTimeoutMs,
 * exits at once.
 */
import type { TroupeConfig } from '../../config/types.js';
import { startEmbedded } from '../embedded.js';
import { createLogger } from '../logger.js';

export async function runDev(config: TroupeConfig): Promise<void> {
  const logger = createLogger(config, 'embedded');
  const server = await startEmbedded(config, logger);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn('second signal; exiting without finishing the drain', { signal });
      process.exit(1);
    }
    signalled = true;
    logger.info('signal received; draining', { signal });
    const deadline = setTimeout(() => {
      logger.error('drain took too long; exiting', { drainTimeoutMs: config.shutdown.drainTimeoutMs });
      process.exit(1);
    }, config.shutdown.drainTimeoutMs + 2000);
    deadline.unref();
    server.stop().then(
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
