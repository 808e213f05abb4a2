/**
 * The cluster target: `troupe local-cluster` started in this process (bin/local-cluster/launcher.ts)
 * with MariaDB, Redis, etcd and the Kafka mock on private ports and one process per role, given
 * the same TROUPE_ settings as the embedded server under test (cheap argon2, no frame rate limit)
 * so that the two differ in shape only. It is measured once every upstream partition is claimed
 * (bench/lib/cluster-settle.ts), not merely once every process is ready.
 *
 * Its CPU is the sum over the role processes (/proc/<pid>/stat), and apart from it the sum over the
 * services, which this process started as its own children. Each role logs to a file in the
 * cluster's folder; the lines (warn and above) are counted, the first few shown and the logs kept
 * in bench/out/ before the folder goes away with stop().
 */
import { join } from 'node:path';
import { startLocalCluster } from '../../bin/local-cluster/launcher.js';
import { keepRoleLogs } from './cluster-logs.js';
import { waitForUpstreamClaims } from './cluster-settle.js';
import type { LoadTarget } from './load-target.js';
import type { BenchOptions } from './options.js';
import { childProcesses, CpuSum, type ProcessName } from './proc-stats.js';
import { readStoreCounters, type StoreCounters } from './server-metrics.js';
import { REPO_ROOT, troupeServerEnv } from './server-process.js';

export interface ClusterProcessInfo {
  role: string;
  nodeId: string;
  pid: number;
}

export interface ClusterTarget extends LoadTarget {
  readonly processes: readonly ClusterProcessInfo[];
  /** The services' processes whose CPU serviceCpuMillis() sums. */
  readonly services: readonly ProcessName[];
}

const CLUSTER_NAME = 'bench';
/** The launcher's default; named here because the settle check counts their claims. */
const UPSTREAM_PARTITIONS = 16;
const SETTLE_TIMEOUT_MS = 90_000;
const SETTLE_STABLE_MS = 2000;
/** Children of this process that are neither roles nor services: tsx's esbuild service. */
const NOT_SERVICES = new Set(['esbuild']);

/** Every cluster started and not yet stopped, so an interrupted run can still clean up. */
const running = new Set<ClusterTarget>();

export async function stopAllClusters(): Promise<void> {
  await Promise.all([...running].map((cluster) => cluster.stop()));
}

export async function startClusterTarget(options: BenchOptions, progress: (line: string) => void): Promise<ClusterTarget> {
  const { gateways, logic, repo, task } = options.cluster;
  progress(`cluster: starting MariaDB, Redis, etcd, the Kafka mock, ${gateways} gateway, ${logic} logic, ${repo} repo and ${task} task processes`);
  const cluster = await startLocalCluster({
    gateways, logic, repo, task, cluster: CLUSTER_NAME, upstreamPartitions: UPSTREAM_PARTITIONS,
    entry: join(REPO_ROOT, options.dist ? 'dist/bin/troupe.js' : 'bin/troupe.ts'),
    env: { TROUPE_LOGGING__LEVEL: 'warn', ...troupeServerEnv() },
    onLine: (line) => progress(`  ${line}`),
  });
  try {
    const waited = await waitForUpstreamClaims({
      etcd: cluster.services.etcd, cluster: CLUSTER_NAME, partitions: UPSTREAM_PARTITIONS, timeoutMs: SETTLE_TIMEOUT_MS, stableMs: SETTLE_STABLE_MS,
    });
    progress(`  all ${UPSTREAM_PARTITIONS} upstream partitions claimed by logic nodes (stable for ${SETTLE_STABLE_MS / 1000} s, ${(waited / 1000).toFixed(1)} s after ready)`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const processes = cluster.processes.map((p) => ({ role: p.spec.role, nodeId: p.spec.nodeId, pid: p.pid }));
  let stopping = false;
  for (const p of cluster.processes) {
    p.child.once('exit', () => {
      if (!stopping) progress(`  !! ${p.spec.role} ${p.spec.nodeId} (pid ${p.pid}) ended during the run (${p.exited}); log: ${p.logFile}`);
    });
  }
  const rolePids = new Set(processes.map((p) => p.pid));
  const services = (await childProcesses(process.pid)).filter((c) => !rolePids.has(c.pid) && !NOT_SERVICES.has(c.name));
  progress(`  CPU is summed over the ${processes.length} role processes, and apart over the services (${services.map((s) => s.name).join(', ')})`);

  const roleCpu = new CpuSum(processes.map((p) => p.pid));
  const serviceCpu = new CpuSum(services.map((s) => s.pid));
  const metricsUrls = cluster.processes.map((p) => `http://127.0.0.1:${p.spec.readyPort}`);
  let logLines = 0;
  let stopped: Promise<void> | undefined;
  const target: ClusterTarget = {
    kind: 'cluster',
    baseUrls: cluster.gatewayUrls,
    processes,
    services,
    cpuMillis: () => roleCpu.read(),
    serviceCpuMillis: () => serviceCpu.read(),
    storeCounters: () => sumStoreCounters(metricsUrls),
    outputLines: () => logLines,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        logLines = await keepRoleLogs(cluster, progress);
        progress('cluster: stopping (gateways first, every role draining)');
        await cluster.stop();
        running.delete(target);
      })();
      return stopped;
    },
  };
  running.add(target);
  return target;
}

async function sumStoreCounters(urls: readonly string[]): Promise<StoreCounters> {
  const all = await Promise.all(urls.map((url) => readStoreCounters(url)));
  return all.reduce((sum, c) => ({ commits: sum.commits + c.commits, rows: sum.rows + c.rows }), { commits: 0, rows: 0 });
}
