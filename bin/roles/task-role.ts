/**
 * The task role: the pool of fanout workers for groups over the large-group threshold. It joins
 * the `task` consumer group of `im-task`; each partition it is assigned is hosted (under the
 * claim `/troupe/<cluster>/claims/task/<p>`) by a PartitionHost whose actors are one fanout worker
 * per conversation, so one conversation's jobs are delivered in order and different
 * conversations in parallel. The same wiring serves the embedded mode and `troupe task`.
 */
import { Outbox } from '../../actors/logic/outbox.js';
import type { TaskRecord } from '../../actors/records/types.js';
import { PartitionHosting } from '../../actors/runtime/partition-hosting.js';
import { TASK_UNIT_PREFIX, taskKind } from '../../actors/task/task-kind.js';
import type { Lease } from '../../transport/coord/port.js';
import type { Log, Producer } from '../../transport/log/port.js';
import type { Presence } from '../../transport/presence/port.js';
import type { RoleContext } from './role-context.js';

/** The consumer group of every task node. */
export const TASK_GROUP = 'task';

export interface TaskPorts {
  log: Log;
  producer: Producer;
  lease: Lease;
  presence: Presence;
}

export interface TaskRole {
  ready(): boolean;
  /** Revokes every partition (finishing the jobs in flight, committing) and leaves the group. */
  stopConsuming(): Promise<void>;
  close(): void;
}

export async function startTaskRole(ctx: RoleContext, ports: TaskPorts): Promise<TaskRole> {
  const { config, metrics } = ctx;
  const logger = ctx.logger.child({ role: 'task' });
  await ports.log.createTopics([{ topic: config.log.taskTopic, partitions: config.log.taskPartitions }]);
  const outbox = new Outbox(ports.producer, ports.presence, config.log.downstreamTopicPrefix);
  const hosting = new PartitionHosting<TaskRecord>({
    unitPrefix: TASK_UNIT_PREFIX,
    cluster: config.node.cluster,
    nodeId: ctx.nodeId,
    lease: ports.lease,
    kind: taskKind({ outbox, logger, metrics }),
    parent: ctx.system,
    maxInFlight: config.task.maxInFlightPerPartition,
    commitIntervalMs: config.actors.commitIntervalMs,
    passivateAfterMs: config.actors.passivateAfterMs,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    logger,
    metrics,
  });
  const consumer = ports.log.consumer({ groupId: TASK_GROUP, topics: [config.log.taskTopic], fromBeginning: true });
  hosting.attach(consumer);
  await consumer.start(hosting);
  let consuming = true;
  return {
    ready: () => consuming,
    stopConsuming: async () => {
      consuming = false;
      await consumer.stop();
    },
    close: () => hosting.close(),
  };
}
