/**
 * How `im-task` records become actors on a task node: every job goes to the fanout worker of
 * its key (`<conv>#<slot>`, one task pool slot of one large group), so one slot's jobs are
 * delivered one after another in the order logic produced them, while other slots and other
 * conversations proceed concurrently. Hosted by PartitionHosting (unit prefix `task`), which
 * commits a partition's watermark only past jobs whose deliveries were produced.
 */
import type { LogRecord } from '../../transport/log/port.js';
import { decodeTask } from '../records/codec.js';
import type { TaskRecord } from '../records/types.js';
import type { HostedKind } from '../runtime/hosted-kind.js';
import type { TaskDeps } from './deps.js';
import { FanoutWorker } from './fanout-worker.js';

/** The claim prefix and unit name of task partitions (`/troupe/<cluster>/claims/task/<p>`). */
export const TASK_UNIT_PREFIX = 'task';

export function taskKind(deps: TaskDeps): HostedKind<TaskRecord> {
  return {
    kindOf: () => 'fanout',
    decode: (record: LogRecord) => ({ key: record.key, message: decodeTask(record.value) }),
    create: (key) => new FanoutWorker(key, deps),
  };
}
