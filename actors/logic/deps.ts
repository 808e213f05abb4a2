/**
 * What logic actors are given: ports and settings, wired in bin/. Nothing here is concrete.
 */
import type { Store } from '../../transport/store/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';
import type { Outbox } from './outbox.js';

export interface LogicSettings {
  /** Client ids remembered per conversation for de-duplication without a database read. */
  dedupeWindow: number;
  /** Messages written in one batch per conversation at most. */
  maxBatchPerConversation: number;
  /** Most members a group may have. */
  maxMembers: number;
}

export interface LogicDeps {
  /** The repo (group-committing store in front of the database). */
  store: Store;
  outbox: Outbox;
  settings: LogicSettings;
  logger: Logger;
  metrics?: TroupeMetrics;
  now?: () => number;
}
