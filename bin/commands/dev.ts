/**
 * `troupe dev`: the embedded server in the foreground. SIGINT or SIGTERM drains it (see
 * startEmbedded's `stop`); a second signal, or a drain longer than shutdown.drainTimeoutMs,
 * exits at once.
 */
import type { TroupeConfig } from '../../config/types.js';
import { startEmbedded } from '../embedded.js';
import { drainOnSignal } from '../drain-on-signal.js';
import { createLogger } from '../logger.js';

export async function runDev(config: TroupeConfig): Promise<void> {
  const logger = createLogger(config, 'embedded');
  const server = await startEmbedded(config, logger);
  drainOnSignal({ logger, drainTimeoutMs: config.shutdown.drainTimeoutMs, drain: () => server.stop() });
}
