/**
 * What every role is started with, whatever the mode: the configuration, this node's id, its
 * logger and metrics, and the nact system its actors live under. The ports (log, coordination,
 * presence, store) are passed to each role separately, because that is what differs between the
 * embedded mode (in-process ports) and a cluster node (Kafka, etcd, Redis, gRPC).
 */
import type { Ref } from 'nact';
import type { TroupeMetrics } from '../../actors/metrics.js';
import type { Logger } from '../../actors/runtime/logger.js';
import type { Escalate } from '../../actors/runtime/unit-lifecycle.js';
import type { UnitRegistry } from '../../actors/runtime/unit-registry.js';
import type { TroupeConfig } from '../../config/types.js';

export interface RoleContext {
  config: TroupeConfig;
  nodeId: string;
  logger: Logger;
  metrics: TroupeMetrics;
  system: Ref<unknown>;
  /** The placement units this node serves (partitions, shards) and their states: readiness, `/units`. */
  units: UnitRegistry;
  /**
   * A unit that could not be claimed, hosted or released after its retries: a cluster node exits
   * for its supervisor (as on lease loss); the embedded server keeps it reported as not ready.
   */
  escalate: Escalate;
}

/**
 * How long a unit's claim may stay held by another node before it is escalated: that node's
 * drain (up to the drain timeout), or its lease running out, with room to spare.
 */
export function maxClaimWaitMs(config: TroupeConfig): number {
  return config.shutdown.drainTimeoutMs + 3 * config.cluster.leaseTtlMs;
}
