/**
 * The one place where the Kafka log reaches into kafkajs: a hook that runs right before every
 * JoinGroup of a consumer, so that the member can give up its partitions (await `onRevoked`)
 * before the group's coordinator may hand them to another member.
 *
 * kafkajs 2.2 has no rebalance listener. Its public `PartitionAssigner` factory receives the
 * consumer's own cluster object, and a consumer asks that cluster for its group coordinator at
 * the start of every join (consumerGroup.js, `[JOIN]`) and nowhere else (describeGroup aside,
 * which the log does not use). Wrapping `findGroupCoordinator` on that one object therefore
 * runs the hook before each JoinGroup and touches nothing shared. The assignment itself is
 * kafkajs' default round robin, unchanged, so members of one group agree whatever their version.
 *
 * If a kafkajs upgrade stops calling `findGroupCoordinator` there, the hook stops running and
 * spec/transport/log-kafka.spec.ts fails (revocation before re-assignment is part of the contract).
 */

import { PartitionAssigners, type Cluster, type PartitionAssigner } from 'kafkajs';

export interface JoinHooks {
  /**
   * Receives the consumer's cluster once, when kafkajs creates the assigner, with its own
   * `findGroupCoordinator` unhooked (for requests that are not a join of this member).
   */
  cluster(cluster: Cluster, findGroupCoordinator: Cluster['findGroupCoordinator']): void;
  /** Awaited before each JoinGroup request. Must not reject: kafkajs would treat that as a crash. */
  beforeJoin(): Promise<void>;
}

export function hookJoins(hooks: JoinHooks): PartitionAssigner {
  return (config) => {
    const cluster = config.cluster;
    const findCoordinator = cluster.findGroupCoordinator.bind(cluster);
    cluster.findGroupCoordinator = async (group) => {
      await hooks.beforeJoin();
      return findCoordinator(group);
    };
    hooks.cluster(cluster, findCoordinator);
    return PartitionAssigners.roundRobin(config);
  };
}
