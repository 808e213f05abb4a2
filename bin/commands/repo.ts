/**
 * `troupe repo`: a repo node of a cluster. It serves the Store port over gRPC (with the standard
 * health service) in front of MySQL, group-committing message writes per shard, and owns the
 * repo shards that rendezvous hashing gives it among the live repo nodes (claims in etcd). A
 * shard handed to another node is flushed before its claim is released. Readiness: every shard
 * it should own is claimed. Draining: health goes NOT_SERVING, shards are flushed and released,
 * then the server finishes its calls and closes.
 */
import { GroupCommitStore } from '../../actors/repo/group-commit-store.js';
import { ShardPlacement } from '../../actors/repo/shard-placement.js';
import type { TroupeConfig } from '../../config/types.js';
import { startRpcServer } from '../../transport/rpc/server.js';
import { repoService } from '../../transport/store/grpc-service.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import { runClusterRole } from '../cluster/run-role.js';
import { requireOne } from '../cluster/settings.js';

export async function runRepo(config: TroupeConfig): Promise<void> {
  const url = requireOne(config, 'mysql', 'repo');
  await runClusterRole(config, 'repo', async (ctx, ports) => {
    const { store: database } = await openMysqlStore(url);
    const store = new GroupCommitStore(database, {
      shards: config.repo.shards,
      batchMaxRows: config.repo.batchMaxRows,
      batchMaxDelayMs: config.repo.batchMaxDelayMs,
      metrics: ctx.metrics,
    });
    const server = await startRpcServer({ host: config.rpc.host, port: config.rpc.port, services: [repoService(store)], logger: ctx.logger });
    const advertise = config.rpc.advertise !== '' ? config.rpc.advertise : `${config.rpc.host === '0.0.0.0' ? '127.0.0.1' : config.rpc.host}:${server.port}`;
    const placement = new ShardPlacement({
      coord: ports.coord,
      lease: ports.lease,
      cluster: config.node.cluster,
      nodeId: ctx.nodeId,
      address: advertise,
      // The ops listener is up before the role starts (run-role.ts): its address goes in the registration.
      ...(ports.ops === null ? {} : { ops: ports.ops }),
      shards: config.repo.shards,
      onAcquire: () => ctx.metrics.repoShardsOwned.set(placement.owned().size + 1),
      onRelease: async (shard) => {
        await store.flushed(shard);
        ctx.metrics.repoShardsOwned.set(placement.owned().size);
      },
      logger: ctx.logger,
    });
    await placement.start();
    return {
      describe: { rpcPort: server.port, advertise },
      ready: () => placement.ready(),
      drain: async () => {
        server.setServing(false);
        await placement.stop();
        await server.close(config.shutdown.drainTimeoutMs);
        await store.close();
      },
    };
  });
}
