/**
 * The logic role: session and conversation actors fed from the `im-upstream` partitions that the
 * consumer group assigns to this node, each partition hosted only while this node holds its claim
 * (actors/runtime/partition-hosting.ts). The same wiring serves the embedded mode and
 * `troupe logic`; only the ports differ.
 */
import type { LogicDeps } from '../../actors/logic/deps.js';
import { FanoutJobs } from '../../actors/logic/fanout-jobs.js';
import { Outbox } from '../../actors/logic/outbox.js';
import { upstreamKind } from '../../actors/logic/upstream-kind.js';
import type { UpstreamRecord } from '../../actors/records/types.js';
import { LagMonitor } from '../../actors/runtime/lag-monitor.js';
import type { Lease } from '../../transport/coord/port.js';
import type { Log, Producer } from '../../transport/log/port.js';
import type { Presence } from '../../transport/presence/port.js';
import type { Store } from '../../transport/store/port.js';
import { startHostedGroup, type HostedGroup } from './hosted-group.js';
import type { RoleContext } from './role-context.js';

/** The consumer group of every logic node. */
export const LOGIC_GROUP = 'logic';

export interface LogicPorts {
  log: Log;
  producer: Producer;
  lease: Lease;
  presence: Presence;
  /** The repo: a group-committing store (embedded) or the gRPC client of the repo nodes. */
  store: Store;
  /** Told this node's member id in the logic group after every join. */
  onJoined?: (memberId: string) => void;
}

/** Stopping: stopConsuming (finish in flight, commit, leave the group), then close. */
export type LogicRole = HostedGroup;

export async function startLogicRole(ctx: RoleContext, ports: LogicPorts): Promise<LogicRole> {
  const { config, metrics } = ctx;
  const logger = ctx.logger.child({ role: 'logic' });
  const deps: LogicDeps = {
    store: ports.store,
    outbox: new Outbox(ports.producer, ports.presence, config.log.downstreamTopicPrefix),
    settings: {
      dedupeWindow: config.actors.dedupeWindow,
      maxBatchPerConversation: config.actors.maxBatchPerConversation,
      // Getters: these are live keys (config/live-keys.ts), read at each use.
      get maxMembers() { return config.groups.maxMembers; },
      get largeGroupThreshold() { return config.groups.largeGroupThreshold; },
      get fanoutChunkSize() { return config.task.chunkSize; },
      // Not live: a new pool size moves members between slots, which could reorder their frames.
      taskPoolSize: config.task.poolSize,
    },
    fanout: new FanoutJobs(ports.producer, config.log.taskTopic),
    logger,
    metrics,
  };
  const group = await startHostedGroup<UpstreamRecord>(ctx, {
    log: ports.log,
    producer: ports.producer,
    lease: ports.lease,
    groupId: LOGIC_GROUP,
    topic: config.log.upstreamTopic,
    unitPrefix: 'upstream',
    kind: upstreamKind(deps),
    maxInFlight: config.actors.maxInFlightPerPartition,
    logger,
    ...(ports.onJoined === undefined ? {} : { onJoined: ports.onJoined }),
  });
  const lagMonitor = new LagMonitor({ log: ports.log, groupId: LOGIC_GROUP, topic: config.log.upstreamTopic, metrics, logger });
  return {
    ready: () => group.ready(),
    stopConsuming: () => group.stopConsuming(),
    evict: (memberId) => group.evict(memberId),
    close: () => {
      group.close();
      lagMonitor.stop();
    },
  };
}
