/**
 * `troupe repo`: a repo node of a cluster (bin/roles/repo-role.ts) in front of MySQL. It serves
 * the Store port over gRPC (with the standard health service) for the repo shards that
 * rendezvous hashing gives it among the live repo nodes (claims in etcd), refusing the keys of
 * other shards with `not_owner`, and group-commits and fences each shard's writes with the
 * shard's epoch. A shard handed to another node is flushed before its claim is released.
 * Readiness: every shard it should own is claimed. Draining: health goes NOT_SERVING, shards are
 * flushed and released, then the server finishes its calls and closes.
 */
import type { TroupeConfig } from '../../config/types.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import { runClusterRole } from '../cluster/run-role.js';
import { requireOne } from '../cluster/settings.js';
import { startRepoRole } from '../roles/repo-role.js';

export async function runRepo(config: TroupeConfig): Promise<void> {
  const url = requireOne(config, 'mysql', 'repo');
  await runClusterRole(config, 'repo', async (ctx, ports) => {
    const { store: database } = await openMysqlStore(url);
    // The ops listener is up before the role starts (run-role.ts): its address goes in the registration.
    const ops = ports.ops === null ? {} : { ops: ports.ops };
    const role = await startRepoRole(ctx, { coord: ports.coord, lease: ports.lease, database, ...ops }).catch(async (err: unknown) => {
      await database.close();
      throw err;
    });
    return {
      describe: { rpcPort: role.port, advertise: role.address },
      ready: () => role.ready(),
      drain: async () => {
        await role.drain();
        await database.close();
      },
    };
  });
}
