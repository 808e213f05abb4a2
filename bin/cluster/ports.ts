/**
 * The real ports of a cluster node (docs/architecture.md, "Shape"): Kafka through
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
import type { Cache, Presence } from '../../transport/presence/port.js';
import { RedisCache } from '../../transport/presence/redis-cache.js';
import { CoalescedLookups } from '../../transport/presence/coalesced-lookups.js';
import { RedisPresence } from '../../transport/presence/redis.js';
import { kafkaClientWithControllerFallback } from '../../transport/log/kafka-controller-fallback.js';
import { requireList, requireOne } from './settings.js';
import { encodeNodeRegistration } from './node-registration.js';

/** Exit status of a node whose Kafka consumer died (see onMemberFailed). */
export const EXIT_CONSUMER_FAILED = 4;

export type RoleName = 'gateway' | 'logic' | 'repo' | 'task';

export interface ClusterPorts {
  log: Log;
  producer: Producer;
  coord: Coordinator;
  /** This node's lease: its registration and claims live under it. */
  lease: Lease;
  /**
   * Grants a new lease and registers the node under it again (for a node that owns no claims,
   * a gateway, whose lease was lost); `lease` is the new one afterwards.
   */
  reregister(): Promise<Lease>;
  /**
   * Where this node answers /healthz, /readyz, /metrics and /units (`http://host:port`: the ops
   * listener, or a gateway's own HTTP server); null until advertiseOps. Part of the registration,
   * so a tool finds every node's /units from etcd alone (`troupe status`).
   */
  readonly ops: string | null;
  /** Sets `ops` and writes the registration again under the current lease (repo nodes register through their shard placement). */
  advertiseOps(url: string): Promise<void>;
  /**
   * Writes this node's member id in its consumer group into the registration (`member`), so
   * that peers can evict it from the group once it is dead (peer-failover.ts). A failed write
   * is logged: peers then only wait for the session timeout.
   */
  advertiseMember(memberId: string): void;
  /** Redis presence; absent for the repo role, which does not need it. */
  presence: Presence | null;
  /** Redis cache (shared counters such as failed logins); absent for the repo role. */
  cache: Cache | null;
  /** Deregisters (revokes the lease) and closes every connection. */
  close(): Promise<void>;
}

export async function openClusterPorts(config: TroupeConfig, role: RoleName, logger: Logger): Promise<ClusterPorts> {
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
  let ops: string | null = null;
  let member: string | null = null;
  const register = async (under: Lease): Promise<void> => {
    if (role === 'repo') return;
    const nodeKey = `/troupe/${config.node.cluster}/nodes/${role}/${config.node.id}`;
    await under.put(nodeKey, encodeNodeRegistration({ nodeId: config.node.id, role, pid: process.pid, ...(ops === null ? {} : { ops }), ...(member === null ? {} : { member }) }));
  };
  await register(lease);

  const log = new KafkaLog({
    brokers,
    clientId: `troupe-${role}-${config.node.id}`,
    ...(config.cluster.kafkaControllerFallback ? { createClient: kafkaClientWithControllerFallback } : {}),
    maxWaitTimeMs: config.cluster.kafkaFetchMaxWaitMs,
    idleWaitTimeMs: config.cluster.kafkaFetchIdleWaitMs,
    produceLingerMs: config.cluster.kafkaProduceLingerMs,
    sessionTimeoutMs: config.cluster.kafkaSessionTimeoutMs,
    heartbeatIntervalMs: config.cluster.kafkaHeartbeatMs,
    onError: (error, what) => logger.warn('kafka', { what, error: asTroupeError(error).message }),
    onMemberFailed: (groupId, error) => {
      // A member that will never consume again holds nothing but still looks alive: exit, so
      // the supervisor starts a fresh node and the group rebalances to the healthy ones.
      logger.error('kafka consumer stopped for good; exiting', { groupId, error: asTroupeError(error).message, exitCode: EXIT_CONSUMER_FAILED });
      process.exit(EXIT_CONSUMER_FAILED);
    },
  });
  let presence: Presence | null = null;
  let cache: Cache | null = null;
  try {
    if (redisUrl !== null) {
      const redis = { keyPrefix: `troupe:${config.node.cluster}:`, onError: () => undefined };
      // One Redis lookup per turn for the lookups a fetched batch of messages makes.
      presence = new CoalescedLookups(await RedisPresence.connect(redisUrl, redis));
      cache = await RedisCache.connect(redisUrl, redis);
    }
  } catch (err) {
    await presence?.close().catch(() => undefined);
    await log.close();
    await lease.revoke().catch(() => undefined);
    await coord.close();
    throw err;
  }
  const producer = log.producer();
  const ports: ClusterPorts = {
    log,
    producer,
    coord,
    lease,
    presence,
    cache,
    reregister: async () => {
      const fresh = await coord.grantLease(config.cluster.leaseTtlMs);
      await register(fresh);
      ports.lease = fresh;
      return fresh;
    },
    get ops() {
      return ops;
    },
    advertiseOps: async (url) => {
      ops = url;
      await register(ports.lease);
    },
    advertiseMember: (memberId) => {
      member = memberId;
      register(ports.lease).catch((err: unknown) => logger.warn('could not write the group member id into the registration', { member: memberId, error: asTroupeError(err).message }));
    },
    close: async () => {
      await producer.close().catch(() => undefined);
      await log.close().catch(() => undefined);
      await presence?.close().catch(() => undefined);
      await cache?.close().catch(() => undefined);
      await ports.lease.revoke().catch(() => undefined);
      await coord.close().catch(() => undefined);
    },
  };
  return ports;
}

/**
 * The URL other nodes and tools dial for an HTTP listener bound to `host`: a wildcard address
 * (every interface) is advertised as this host's loopback, as rpc.advertise's default is.
 */
export function advertisedHttpUrl(host: string, port: number): string {
  const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
  const shown = wildcard ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
