/**
 * The cluster target: `troupe local-cluster` started in this process (bin/local-cluster/launcher.ts)
 * with MariaDB, Redis, etcd and the Kafka mock on private ports and one process per role, given
 * the same TROUPE_ settings as the embedded server under test (cheap argon2, no frame rate limit,
 * bench/lib/server-process.ts) so that the two differ in shape only. It is measured once every
 * upstream partition is claimed (bench/lib/cluster-settle.ts), not merely once every process is
 * ready.
 *
 * Its server CPU and RSS are summed over the role processes and the services, which this process
 * started as its own children: the whole cluster is the server side. Each role logs to a file in
 * the cluster's folder; the lines (warn and above) are counted, the first few shown and the logs
 * kept in bench/out/ before the folder goes away with stop().
 */
import { join } from 'node:path';
import { startLocalCluster } from '../../bin/local-cluster/launcher.js';
import { keepRoleLogs } from './cluster-logs.js';
import { waitForUpstreamClaims } from './cluster-settle.js';
import { pinProcess } from './pinning.js';
import { childProcesses } from './proc-stats.js';
import { REPO_ROOT, troupeServerEnv } from './server-process.js';

/** Processes of each role. */
export interface ClusterShape {
  gateways: number;
  logic: number;
  repo: number;
  task: number;
}

export interface ClusterTargetOptions {
  shape: ClusterShape;
  /** Run dist/bin/troupe.js rather than bin/troupe.ts. */
  useDist: boolean;
  pinServer?: string;
  progress(line: string): void;
}

export interface StartedCluster {
  gatewayUrls: string[];
  /** Role processes and services. */
  pids: number[];
  /** The cluster's database (`mysql://root@127.0.0.1:<port>/troupe`), migrated. */
  mysqlUrl: string;
  stop(): Promise<void>;
}

const CLUSTER_NAME = 'bench';
/** The launcher's default; named here because the settle check counts their claims. */
const UPSTREAM_PARTITIONS = 16;
const SETTLE_TIMEOUT_MS = 90_000;
const SETTLE_STABLE_MS = 2000;
/** Children of this process that are neither roles nor services: tsx's esbuild service. */
const NOT_SERVICES = new Set(['esbuild']);

export async function startClusterTarget(options: ClusterTargetOptions): Promise<StartedCluster> {
  const { progress } = options;
  const { gateways, logic, repo, task } = options.shape;
  progress(`cluster: starting MariaDB, Redis, etcd, the Kafka mock, ${gateways} gateway, ${logic} logic, ${repo} repo and ${task} task processes`);
  const before = new Set((await childProcesses(process.pid)).map((c) => c.pid));
  const cluster = await startLocalCluster({
    gateways, logic, repo, task, cluster: CLUSTER_NAME, upstreamPartitions: UPSTREAM_PARTITIONS,
    entry: join(REPO_ROOT, options.useDist ? 'dist/bin/troupe.js' : 'bin/troupe.ts'),
    env: { TROUPE_LOGGING__LEVEL: 'warn', ...troupeServerEnv() },
    onLine: (line) => progress(`  ${line}`),
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    await keepRoleLogs(cluster, progress);
    progress('cluster: stopping (gateways first, every role draining)');
    await cluster.stop();
  };
  try {
    const waited = await waitForUpstreamClaims({
      etcd: cluster.services.etcd, cluster: CLUSTER_NAME, partitions: UPSTREAM_PARTITIONS, timeoutMs: SETTLE_TIMEOUT_MS, stableMs: SETTLE_STABLE_MS,
    });
    progress(`  all ${UPSTREAM_PARTITIONS} upstream partitions claimed (stable for ${SETTLE_STABLE_MS / 1000} s, ${(waited / 1000).toFixed(1)} s after ready)`);
    for (const p of cluster.processes) {
      p.child.once('exit', () => {
        if (!stopping) progress(`  !! ${p.spec.role} ${p.spec.nodeId} (pid ${p.pid}) ended during the run (${p.exited}); log: ${p.logFile}`);
      });
    }
    const rolePids = cluster.processes.map((p) => p.pid);
    const services = (await childProcesses(process.pid)).filter((c) => !before.has(c.pid) && !rolePids.includes(c.pid) && !NOT_SERVICES.has(c.name));
    progress(`  server CPU and RSS are summed over ${rolePids.length} role processes and the services (${services.map((s) => s.name).join(', ')})`);
    const pids = [...rolePids, ...services.map((s) => s.pid)];
    if (options.pinServer !== undefined) for (const pid of pids) await pinProcess(pid, options.pinServer);
    return { gatewayUrls: cluster.gatewayUrls, pids, mysqlUrl: cluster.services.mysqlUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
