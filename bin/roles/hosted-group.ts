/**
 * A role's consumer group whose partitions are hosted as actors: every partition the group
 * assigns to this node is run by a PartitionHost, under its claim
 * `/troupe/<cluster>/claims/<unitPrefix>/<p>` (actors/runtime/partition-hosting.ts). The logic
 * role (`im-upstream`) and the task role (`im-task`) differ only in what they host.
 */
import { deadLetterTopic } from '../../actors/runtime/dead-letters.js';
import { PartitionHosting } from '../../actors/runtime/partition-hosting.js';
import type { HostedKind } from '../../actors/runtime/hosted-kind.js';
import type { Logger } from '../../actors/runtime/logger.js';
import type { Lease } from '../../transport/coord/port.js';
import type { Log, Producer } from '../../transport/log/port.js';
import { maxClaimWaitMs, type RoleContext } from './role-context.js';

export interface HostedGroupOptions<M> {
  log: Log;
  /** Produces parked (dead-letter) records. */
  producer: Producer;
  lease: Lease;
  groupId: string;
  topic: string;
  unitPrefix: string;
  kind: HostedKind<M>;
  maxInFlight: number;
  logger: Logger;
  /** Told this node's member id in the group after every join (cluster mode registers it). */
  onJoined?: (memberId: string) => void;
}

export interface HostedGroup {
  /** True from the first join until stopConsuming. */
  ready(): boolean;
  /** Revokes every partition (finishing in-flight records, committing) and leaves the group. */
  stopConsuming(): Promise<void>;
  /** Releases the hosts; call after stopConsuming. */
  close(): void;
  /** Drops another, dead, member from the group now (GroupConsumer.evict). */
  evict(memberId: string): Promise<void>;
}

export async function startHostedGroup<M>(ctx: RoleContext, options: HostedGroupOptions<M>): Promise<HostedGroup> {
  const { config } = ctx;
  const hosting = new PartitionHosting<M>({
    unitPrefix: options.unitPrefix,
    cluster: config.node.cluster,
    nodeId: ctx.nodeId,
    lease: options.lease,
    kind: options.kind,
    parent: ctx.system,
    maxInFlight: options.maxInFlight,
    commitIntervalMs: config.actors.commitIntervalMs,
    passivateAfterMs: config.actors.passivateAfterMs,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    supervision: {
      recordDeadlineMs: config.actors.recordDeadlineMs,
      recordAttempts: config.actors.recordAttempts,
      restartBackoffMs: config.actors.restartBackoffMs,
      maxRestartBackoffMs: config.actors.maxRestartBackoffMs,
    },
    lifecycle: { maxClaimWaitMs: maxClaimWaitMs(config) },
    deadLetters: deadLetterTopic(options.producer, config.log.deadLetterTopic),
    units: ctx.units,
    onEscalate: ctx.escalate,
    logger: options.logger,
    metrics: ctx.metrics,
  });
  const consumer = options.log.consumer({
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: true,
    ...(options.onJoined === undefined ? {} : { onJoined: options.onJoined }),
  });
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
    evict: (memberId) => consumer.evict(memberId),
  };
}
