/**
 * `--cluster`: a fresh `troupe local-cluster` (MariaDB, Redis, etcd, the Kafka mock and one process
 * per role; bench/lib/cluster-target.ts), users spread over its gateways. Same settings as the
 * embedded target: cheap argon2 and no frame rate limit.
 */
import { startClusterTarget, type ClusterShape } from '../lib/cluster-target.js';
import type { LaunchOptions, RunningTarget } from '../lib/running-target.js';
import { troupeWire } from '../lib/troupe-wire.js';
import { chooseTroupeBuild } from './troupe-build.js';

export const DEFAULT_CLUSTER_SHAPE: ClusterShape = { gateways: 2, logic: 2, repo: 2, task: 1 };

export async function launchCluster(options: LaunchOptions, shape: ClusterShape = DEFAULT_CLUSTER_SHAPE): Promise<RunningTarget> {
  const build = chooseTroupeBuild();
  options.progress(`cluster: roles run ${build.why}`);
  const cluster = await startClusterTarget({
    shape, useDist: build.useDist, progress: options.progress, ...(options.pinServer === undefined ? {} : { pinServer: options.pinServer }),
  });
  return {
    key: 'cluster',
    label: `Troupe local cluster (${shape.gateways} gateways, ${shape.logic} logic, ${shape.repo} repo, ${shape.task} task)`,
    role: 'subject',
    baseUrls: cluster.gatewayUrls,
    wire: troupeWire,
    stores: true,
    storage: { kind: 'mysql', url: cluster.mysqlUrl },
    serverPids: () => cluster.pids,
    stop: () => cluster.stop(),
  };
}
