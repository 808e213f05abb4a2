/**
 * The repo role: the Store port over gRPC (with the standard health service) in front of the
 * shared database, for the repo shards this node owns (docs/architecture.md, "Single writer per
 * repo shard"). Rendezvous hashing over the live repo nodes says which shards it should own
 * (ShardPlacement, claims in etcd); it serves a call only if the call's key falls in one of them
 * (any other is refused with `not_owner`, and the caller re-routes), writes each shard through
 * its own group commit fenced by the shard's epoch (ShardStores), and flushes a shard before
 * handing it to another node.
 *
 * Each shard's lifecycle shows in the node's unit registry as unit `repo/<shard>`: `claiming`
 * while the node tries to claim a shard it should own, `hosted` (with its epoch) once it owns
 * it, `draining` while it flushes it for a hand-off, gone once the claim is deleted, `fenced`
 * when it lost the shard without a hand-off (the database refused its epoch, or its lease or
 * claim was lost). Readiness is the placement's: every shard it should own is claimed.
 */
import { repoShardUnit } from '../../actors/repo/placement-keys.js';
import { ShardPlacement } from '../../actors/repo/shard-placement.js';
import { ShardStores } from '../../actors/repo/shard-stores.js';
import type { Coordinator, Lease } from '../../transport/coord/port.js';
import { startRpcServer } from '../../transport/rpc/server.js';
import { repoService } from '../../transport/store/grpc-service.js';
import type { FenceableStore } from '../../transport/store/port.js';
import { maxClaimWaitMs, type RoleContext } from './role-context.js';

export interface RepoPorts {
  coord: Coordinator;
  /** The node's lease: its registration and shard claims live under it. */
  lease: Lease;
  /** The shared database (MySQL in a cluster). The role does not close it. */
  database: FenceableStore;
  /** `http://host:port` of the node's ops listener, written into its registration for `troupe status`. */
  ops?: string;
}

export interface RepoRole {
  /** The port the gRPC server listens on. */
  port: number;
  /** `host:port` other nodes dial, as published in the registration and the claims. */
  address: string;
  placement: ShardPlacement;
  shards: ShardStores;
  /** Every shard this node should own is claimed. */
  ready(): boolean;
  /** Health goes NOT_SERVING, every shard is flushed and released, then the server closes. */
  drain(): Promise<void>;
}

export async function startRepoRole(ctx: RoleContext, ports: RepoPorts): Promise<RepoRole> {
  const { config, metrics, units } = ctx;
  const logger = ctx.logger.child({ role: 'repo' });
  const shards = new ShardStores({
    database: ports.database,
    shards: config.repo.shards,
    owned: () => placement.owned(),
    nodeId: ctx.nodeId,
    batchMaxRows: config.repo.batchMaxRows,
    batchMaxDelayMs: config.repo.batchMaxDelayMs,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    metrics,
    logger,
    onFenced: (shard, _epoch, err) => units.enter(repoShardUnit(shard), 'fenced', { reason: err.message }),
  });
  const server = await startRpcServer({
    host: config.rpc.host,
    port: config.rpc.port,
    services: [repoService((routingKey) => shards.forKey(routingKey))],
    logger,
  });
  const address = config.rpc.advertise !== '' ? config.rpc.advertise : `${config.rpc.host === '0.0.0.0' ? '127.0.0.1' : config.rpc.host}:${server.port}`;
  const placement: ShardPlacement = new ShardPlacement({
    coord: ports.coord,
    lease: ports.lease,
    cluster: config.node.cluster,
    nodeId: ctx.nodeId,
    address,
    ...(ports.ops === undefined ? {} : { ops: ports.ops }),
    shards: config.repo.shards,
    onAcquire: (shard, epoch) => {
      shards.acquire(shard, epoch);
      metrics.repoShardsOwned.set(placement.owned().size + 1);
    },
    onRelease: async (shard) => {
      await shards.release(shard);
      metrics.repoShardsOwned.set(placement.owned().size);
    },
    units,
    probe: (shard) => ({ inFlight: shards.inFlight(shard), oldestInFlightMs: 0, parked: 0 }),
    lifecycle: { maxClaimWaitMs: maxClaimWaitMs(config) },
    onEscalate: ctx.escalate,
    logger,
  });
  try {
    await placement.start();
  } catch (err) {
    await server.close(0);
    throw err;
  }
  return {
    port: server.port,
    address,
    placement,
    shards,
    ready: () => placement.ready(),
    drain: async () => {
      server.setServing(false);
      await placement.stop();
      await server.close(config.shutdown.drainTimeoutMs);
    },
  };
}
