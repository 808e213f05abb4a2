/**
 * The real ports of a cluster node (DESIGN.md, "Two modes, one code path"): Kafka through
 * kafkajs, etcd through etcd3 with this node's lease and its registration under
 * `/troupe/<cluster>/nodes/<role>/<nodeId>`, and Redis through ioredis. The repo client (gRPC)
 * is opened by the roles that call the repo (repo-client.ts).
 *
 * Each connection fails fast with `unavailable` when its service cannot be reached, so a node
 * that cannot start says which service it could not reach.
 */
import type { Logger } from '../../actors/runtime/logger.js';
import type { TroupeConfig } from '../../config/types.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import type { Coordinator, Lease } from '../../transport/coord/port.js';
import { asTroupeError } from '../../transport/errors.js';
import { KafkaLog } from '../../transport/log/kafka.js';
import type { Log, Producer } from '../../transport/log/port.js';
import type { Presence } from '../../transport/presence/port.js';
import { RedisPresence } from '../../transport/presence/redis.js';
import { kafkaClientWithControllerFallback } from '../../transport/log/kafka-controller-fallback.js';
import { requireList, requireOne } from './settings.js';

export type RoleName = 'gateway' | 'logic' | 'repo' | 'task';

export interface ClusterPorts {
  log: Log;
  producer: Producer;
  coord: Coordinator;
  /** This node's lease: its registration and claims live under it. */
  lease: Lease;
  /** Redis presence; absent for the repo role, which does not need it. */
  presence: Presence | null;
  /** Deregisters (revokes the lease) and closes every connection. */
  close(): Promise<void>;
}

export async function openClusterPorts(config: TroupeConfig, role: RoleName, logger: Logger, extra: Record<string, unknown> = {}): Promise<ClusterPorts> {
  const brokers = requireList(config, 'brokers', role);
  const endpoints = requireList(config, 'etcd', role);
  const redisUrl = role === 'repo' ? null : requireOne(config, 'redis', role);

  const coord = new EtcdCoordinator({ endpoints, callTimeoutMs: 3000 });
  let lease: Lease;
  try {
    lease = await coord.grantLease(config.cluster.leaseTtlMs);
  } catch (err) {
    await coord.close();
    throw asTroupeError(err);
  }
  // Repo nodes register through their shard placement, with the address routers need.
  if (role !== 'repo') {
    const nodeKey = `/troupe/${config.node.cluster}/nodes/${role}/${config.node.id}`;
    await lease.put(nodeKey, JSON.stringify({ nodeId: config.node.id, role, pid: process.pid, ...extra }));
  }

  const log = new KafkaLog({
    brokers,
    clientId: `troupe-${role}-${config.node.id}`,
    ...(config.cluster.kafkaControllerFallback ? { createClient: kafkaClientWithControllerFallback } : {}),
    maxWaitTimeMs: config.cluster.kafkaFetchMaxWaitMs,
    sessionTimeoutMs: config.cluster.kafkaSessionTimeoutMs,
    heartbeatIntervalMs: config.cluster.kafkaHeartbeatMs,
    onError: (error, what) => logger.warn('kafka', { what, error: asTroupeError(error).message }),
  });
  let presence: Presence | null = null;
  try {
    if (redisUrl !== null) presence = await RedisPresence.connect(redisUrl, { keyPrefix: `troupe:${config.node.cluster}:`, onError: () => undefined });
  } catch (err) {
    await log.close();
    await lease.revoke().catch(() => undefined);
    await coord.close();
    throw err;
  }
  const producer = log.producer();
  return {
    log,
    producer,
    coord,
    lease,
    presence,
    close: async () => {
      await producer.close().catch(() => undefined);
      await log.close().catch(() => undefined);
      await presence?.close().catch(() => undefined);
      await lease.revoke().catch(() => undefined);
      await coord.close().catch(() => undefined);
    },
  };
}
