/**
 * Runs one role of a cluster node in the foreground (`troupe gateway|logic|repo|task`): opens
 * the real ports, starts the role, serves /healthz /readyz /metrics (on the ops port, or on the
 * gateway's own port), and drains on SIGINT/SIGTERM: readiness goes 503 first, the role stops
 * intake and finishes what it took, then the node deregisters and exits 0. A second signal, or a
 * drain over shutdown.drainTimeoutMs, exits 1 at once.
 *
 * A logic, repo or task node whose etcd lease is lost exits with status 3: it has already
 * stopped serving what it owned (its claims may belong to another node now) and a fresh process
 * is the simplest way back. A gateway owns no claims and registers again under a new lease.
 */
import { start as startActorSystem, stop as stopActor } from 'nact';
import { TroupeMetrics } from '../../actors/metrics.js';
import { UnitRegistry } from '../../actors/runtime/unit-registry.js';
import type { TroupeConfig } from '../../config/types.js';
import { createLogger } from '../logger.js';
import { drainOnSignal } from '../drain-on-signal.js';
import { startOpsServer, type OpsServer } from '../ops-server.js';
import type { RoleContext } from '../roles/role-context.js';
import { startTelemetry } from '../telemetry.js';
import { openClusterPorts, type ClusterPorts, type RoleName } from './ports.js';
import { startRuntimeConfig } from './runtime-config.js';

export const EXIT_LEASE_LOST = 3;

export interface RunningRole {
  ready(): boolean;
  /** Stop intake and finish in-flight work (the node still holds its lease). */
  drain(): Promise<void>;
  /** Fields of the "started" log line, e.g. the ports it listens on. */
  describe?: Record<string, unknown>;
  /** The role serves /healthz, /readyz and /metrics itself (the gateway). */
  servesOps?: boolean;
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
  const ctx: RoleContext = { config, nodeId: config.node.id, logger, metrics, system, units };
  let running: RunningRole;
  try {
    running = await start(ctx, ports);
  } catch (err) {
    await live.close();
    await ports.close();
    throw err;
  }
  let ops: OpsServer | null = null;
  if (running.servesOps !== true) {
    ops = await startOpsServer({ host: config.ops.host, port: config.ops.port, metrics, ready: () => !draining && running.ready() });
  }
  logger.info(`troupe ${role} started`, { nodeId: config.node.id, cluster: config.node.cluster, ...(ops ? { opsPort: ops.port } : {}), ...running.describe });

  drainOnSignal({
    logger,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    onSignal: () => (draining = true), // readiness turns 503 first
    drain: async () => {
      await running.drain();
      await ops?.close();
      await live.close();
      await ports.close();
      stopActor(system);
      await telemetry.shutdown();
      logger.info('shut down cleanly');
    },
  });
}
