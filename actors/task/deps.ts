/**
 * What task actors (the fanout workers of large groups) are given: ports and settings, wired in
 * bin/. Nothing here is concrete.
 */
import type { Outbox } from '../logic/outbox.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';
import type { MemberDirectory } from './member-directory.js';

/** Members looked up in presence at once when a job names no chunk size. */
export const DEFAULT_CHUNK_SIZE = 500;

export interface TaskDeps {
  /** Presence lookups and deliveries to each gateway's downstream topic. */
  outbox: Outbox;
  /** The node's copy of large groups' members, for jobs that stand for a whole slot. */
  members: MemberDirectory;
  /** Members per presence lookup (`task.chunkSize`). Default DEFAULT_CHUNK_SIZE. */
  chunkSize?: number;
  logger: Logger;
  metrics?: TroupeMetrics;
  /** First backoff after a job failed with a retriable error; doubles up to `maxRetryDelayMs`. Default 50. */
  retryDelayMs?: number;
  /** Longest backoff between two attempts of a job. Default 2000. */
  maxRetryDelayMs?: number;
  /** Attempts at a job failing with a retriable error before the worker gives it to its host. Default 8. */
  attempts?: number;
}
