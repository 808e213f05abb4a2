/**
 * What task actors (the fanout workers of large groups) are given: ports and settings, wired in
 * bin/. Nothing here is concrete.
 */
import type { Outbox } from '../logic/outbox.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';

export interface TaskDeps {
  /** Presence lookups and deliveries to each gateway's downstream topic. */
  outbox: Outbox;
  logger: Logger;
  metrics?: TroupeMetrics;
  /** First backoff after a job failed with a retriable error; doubles up to `maxRetryDelayMs`. Default 50. */
  retryDelayMs?: number;
  /** Longest backoff between two attempts of a job. Default 2000. */
  maxRetryDelayMs?: number;
  /** Attempts at a job failing with a retriable error before the worker gives it to its host. Default 8. */
  attempts?: number;
}
