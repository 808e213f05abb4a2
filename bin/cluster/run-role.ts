/**
 * Runs one role of a cluster node in the foreground (`troupe gateway|logic|repo|task`): opens
 * the real ports, serves /healthz /readyz /units /metrics (on the ops port, or on the gateway's
 * own port), starts the role, writes where those answer into the node's registration, and drains
 * on SIGINT/SIGTERM: readiness goes 503 first, the role stops
 * intake and finishes what it took, then the node deregisters and exits 0. A second signal, or a
 * drain over shutdown.drainTimeoutMs, exits 1 at once.
 *
 * A logic, repo or task node whose etcd lease is lost exits with status 3: it has already
 * stopped serving what it owned (its claims may belong to another node now) and a fresh process
 * is the simplest way back. A gateway owns no claims and registers again under a new lease.
 */
import { start as startActorSystem, stop as stopActor } from 'nact';
import { TroupeMetrics } from '../../actors/metrics.js';
import type { Logger } from '../../actors/runtime/logger.js';
import { nodeStatus, type NodeStatus } from '../../actors/runtime/node-status.js';
import { UnitRegistry } from '../../actors/runtime/unit-registry.js';
import type { TroupeConfig } from '../../config/types.js';
import { createLogger } from '../logger.js';
import { drainOnSignal } from '../drain-on-signal.js';
import { startOpsServer, type OpsServer } from '../ops-server.js';
import type { RoleContext } from '../roles/role-context.js';
import { startTelemetry } from '../telemetry.js';
import { startPeerFailover, type PeerFailover } from './peer-failover.js';
import { advertisedHttpUrl, openClusterPorts, type ClusterPorts, type RoleName } from './ports.js';
import { startRuntimeConfig } from './runtime-config.js';

export const EXIT_LEASE_LOST = 3;
/** A unit (partition, shard) could not be claimed, hosted or released after its retries. */
export const EXIT_UNIT_FAILED = 5;

/** What a role's own `ready()` being false means, for /readyz and /units. */
const NOT_READY: Record<RoleName, string> = {
  gateway: 'the gateway is not ready yet',
  logic: 'not serving yet: the consumer group is not joined, or a repo shard has no owner yet',
  repo: 'not every repo shard this node should own is claimed yet',
  task: 'not serving yet: the consumer group is not joined',
};

export interface RunningRole {
  ready(): boolean;
  /** Stop intake and finish in-flight work (the node still holds its lease). */
  drain(): Promise<void>;
  /** Fields of the "started" log line, e.g. the ports it listens on. */
  describe?: Record<string, unknown>;
  /** Where the role serves /healthz, /readyz, /units and /metrics itself (the gateway's HTTP URL). */
  opsUrl?: string;
  /** Drops a dead peer's member from the role's consumer group (logic and task: peer-failover.ts). */
  evict?(memberId: string): Promise<void>;
}

export async function runClusterRole(
  config: TroupeConfig,
  role: RoleName,
  start: (ctx: RoleContext, ports: ClusterPorts) => Promise<RunningRole>,
): Promise<void> {
  const logger = createLogger(config, role);
  const telemetry = startTelemetry(config, role, logger);
  const metrics = new TroupeMetrics({ labels: { node: config.node.id, role } });
  const system = startActorSystem();
  const ports = await openClusterPorts(config, role, logger);
  // Live keys (rate limits, the large-group threshold, log level, …) follow etcd from here on.
  const live = await startRuntimeConfig({ coord: ports.coord, config, logger });
  let draining = false;
  const onLeaseLost = (): void => {
    if (draining) return;
    if (role === 'gateway') {
      // A gateway owns no claims: nothing to fence, so it keeps its connections and registers
      // again under a new lease (retrying while etcd is unreachable).
      logger.warn('etcd lease lost; registering again');
      const again = (): void =>
        void ports.reregister().then(
          (lease) => lease.onLost(onLeaseLost),
          () => setTimeout(again, 1000).unref(),
        );
      again();
      return;
    }
    logger.error('etcd lease lost; this node stopped serving and exits', { exitCode: EXIT_LEASE_LOST });
    process.exit(EXIT_LEASE_LOST);
  };
  ports.lease.onLost(onLeaseLost);
  const units = new UnitRegistry({ metrics });
  // A unit stuck unclaimed, unreleased or fenced again and again: a fresh process (a new lease, a
  // fresh group member) is the way back, as on lease loss; the supervisor restarts the node.
  const escalate: RoleContext['escalate'] = (unit, step, error) => {
    if (draining) return;
    logger.error('a unit could not be served; this node exits for its supervisor', { unit, step, error: error.message, exitCode: EXIT_UNIT_FAILED });
    process.exit(EXIT_UNIT_FAILED);
  };
  const ctx: RoleContext = { config, nodeId: config.node.id, logger, metrics, system, units, escalate };
  let running: RunningRole | undefined;
  const status = (): NodeStatus => {
    const own: string[] = [];
    if (running === undefined) own.push('starting');
    else if (!running.ready()) own.push(NOT_READY[role]);
    if (draining) own.push('draining');
    return nodeStatus(config.node.id, role, own, units);
  };
  // The ops listener starts before the role, so that its address is in the registration before
  // the role claims anything (a repo node registers through its shard placement, which reads
  // ports.ops); until the role runs, /readyz answers 503 "starting". Gateways serve these paths
  // on their own HTTP port, known once the role listens.
  let ops: OpsServer | null = null;
  try {
    if (role !== 'gateway') {
      ops = await startOpsServer({ host: config.ops.host, port: config.ops.port, metrics, status });
      await advertise(ports, config.ops.advertise !== '' ? config.ops.advertise : advertisedHttpUrl(config.ops.host, ops.port), logger);
    }
    running = await start(ctx, ports);
  } catch (err) {
    await ops?.close();
    await live.close();
    await ports.close();
    throw err;
  }
  const started = running;
  if (started.opsUrl !== undefined) await advertise(ports, config.ops.advertise !== '' ? config.ops.advertise : started.opsUrl, logger);
  // Logic and task nodes act at once for a peer whose process is gone (peer-failover.ts).
  let peers: PeerFailover | null = null;
  if ((role === 'logic' || role === 'task') && config.cluster.peerProbe && started.evict !== undefined) {
    const evict = started.evict.bind(started);
    peers = await startPeerFailover({ config, role, coord: ports.coord, evict, logger }).catch((err: unknown) => {
      logger.warn('peer probing not started; a dead peer is taken over when its lease and session run out', { error: (err as Error).message });
      return null;
    });
  }
  logger.info(`troupe ${role} started`, { nodeId: config.node.id, cluster: config.node.cluster, ...(ops ? { opsPort: ops.port } : {}), ops: ports.ops, ...started.describe });

  drainOnSignal({
    logger,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    onSignal: () => (draining = true), // readiness turns 503 first
    drain: async () => {
      await peers?.close();
      await started.drain();
      await ops?.close();
      await live.close();
      await ports.close();
      stopActor(system);
      await telemetry.shutdown();
      logger.info('shut down cleanly');
    },
  });
}

/**
 * Writes the ops URL into the registration. A failure only costs `troupe status` this node's
 * address until the next registration (which carries it), so it is logged, not fatal.
 */
async function advertise(ports: ClusterPorts, url: string, logger: Logger): Promise<void> {
  try {
    await ports.advertiseOps(url);
  } catch (err) {
    logger.warn('could not write the ops address into the registration', { ops: url, error: (err as Error).message });
  }
}
