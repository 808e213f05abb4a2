/**
 * The task role: the pool of fanout workers for groups over the large-group threshold. It joins
 * the `task` consumer group of `im-task`; each partition it is assigned is hosted (under the
 * claim `/troupe/<cluster>/claims/task/<p>`) by a PartitionHost whose actors are one fanout worker
 * per task pool slot of each group (`task.poolSize` slots), so one slot's jobs are delivered in
 * order and different slots and conversations in parallel. The node keeps a copy of each large
 * group's members it delivers for, read from the repo (actors/task/member-directory.ts). The
 * same wiring serves the embedded mode and `troupe task`.
 */
import { Outbox } from '../../actors/logic/outbox.js';
import type { TaskRecord } from '../../actors/records/types.js';
import { TASK_UNIT_PREFIX, taskKind } from '../../actors/task/task-kind.js';
import type { Lease } from '../../transport/coord/port.js';
import type { Log, Producer } from '../../transport/log/port.js';
import type { Presence } from '../../transport/presence/port.js';
import type { Store } from '../../transport/store/port.js';
import { MemberDirectory } from '../../actors/task/member-directory.js';
import { startHostedGroup, type HostedGroup } from './hosted-group.js';
import type { RoleContext } from './role-context.js';

/** The consumer group of every task node. */
export const TASK_GROUP = 'task';

export interface TaskPorts {
  log: Log;
  producer: Producer;
  lease: Lease;
  presence: Presence;
  /** Where large groups' members are read from (the repo). */
  store: Store;
  /** Told this node's member id in the task group after every join. */
  onJoined?: (memberId: string) => void;
}

export type TaskRole = HostedGroup;

export async function startTaskRole(ctx: RoleContext, ports: TaskPorts): Promise<TaskRole> {
  const { config, metrics } = ctx;
  const logger = ctx.logger.child({ role: 'task' });
  await ports.log.createTopics([{ topic: config.log.taskTopic, partitions: config.log.taskPartitions }]);
  const outbox = new Outbox(ports.producer, ports.presence, config.log.downstreamTopicPrefix);
  const members = new MemberDirectory(ports.store, {
    maxMembers: config.task.groupCopyMaxMembers,
    onLoad: (conv, reason, count) => {
      metrics.groupCopyReads.inc({ reason });
      logger.info('read a large group\'s members', { conv, reason, members: count });
    },
  });
  metrics.groupCopySize = () => members.size;
  return startHostedGroup<TaskRecord>(ctx, {
    log: ports.log,
    producer: ports.producer,
    lease: ports.lease,
    groupId: TASK_GROUP,
    topic: config.log.taskTopic,
    unitPrefix: TASK_UNIT_PREFIX,
    kind: taskKind({ outbox, members, chunkSize: config.task.chunkSize, logger, metrics }),
    maxInFlight: config.task.maxInFlightPerPartition,
    logger,
    ...(ports.onJoined === undefined ? {} : { onJoined: ports.onJoined }),
  });
}
