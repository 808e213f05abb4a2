/**
 * What logic actors are given: ports and settings, wired in bin/. Nothing here is concrete.
 */
import type { Store } from '../../transport/store/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';
import type { FanoutJobs } from './fanout-jobs.js';
import type { Outbox } from './outbox.js';

export interface LogicSettings {
  /** Client ids remembered per conversation for de-duplication without a database read. */
  dedupeWindow: number;
  /** Messages written in one batch per conversation at most. */
  maxBatchPerConversation: number;
  /** Most members a group may have. */
  maxMembers: number;
  /**
   * Groups with more members than this are delivered through the task role (fanout jobs)
   * rather than by the conversation actor. Read at each delivery, so it may change live.
   */
  largeGroupThreshold: number;
  /** Members per fanout job. Read at each delivery. */
  fanoutChunkSize: number;
  /**
   * Slots of the task pool a large group's members are split over (logic/member-slots.ts): each
   * slot's jobs are delivered in order by one worker, the slots in parallel.
   */
  taskPoolSize: number;
}

export interface LogicDeps {
  /** The repo (group-committing store in front of the database). */
  store: Store;
  outbox: Outbox;
  /** Producer of the task topic's fanout jobs, for groups over `settings.largeGroupThreshold`. */
  fanout: FanoutJobs;
  settings: LogicSettings;
  logger: Logger;
  metrics?: TroupeMetrics;
  now?: () => number;
}
