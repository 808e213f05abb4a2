/**
 * The embedded mode (`troupe dev`, `npm start`): the gateway, logic and repo roles in one process, on the
 * in-process ports (log, coordination, presence) and SQLite. The actors are the same as in
 * cluster mode; only the implementations wired here differ (docs/architecture.md). This file is the one place where the embedded mode's concrete choices are made.
 */
import { mkdir } from 'node:fs/promises';
import type { Knex } from 'knex';
import { start as startActorSystem, stop as stopActor } from 'nact';
import { TroupeMetrics } from '../actors/metrics.js';
import { GroupCommitStore } from '../actors/repo/group-commit-store.js';
import type { Logger } from '../actors/runtime/logger.js';
import { UnitRegistry } from '../actors/runtime/unit-registry.js';
import type { TroupeConfig } from '../config/types.js';
import { migrateLatest } from '../sql/migrate.js';
import { LocalCoordinator } from '../transport/coord/local.js';
import { MemoryLog } from '../transport/log/memory.js';
import { MemoryPresence } from '../transport/presence/memory.js';
import { openSqliteStore } from '../transport/store/sqlite.js';
import { createLogger } from './logger.js';
import { startGatewayRole } from './roles/gateway-role.js';
import { startLogicRole } from './roles/logic-role.js';
import { startTaskRole } from './roles/task-role.js';
import type { RoleContext } from './roles/role-context.js';
import { startTelemetry } from './telemetry.js';

export interface EmbeddedServer {
  /** The port the gateway listens on (useful when configured as 0). */
  port: number;
  /** Graceful shutdown: see `stop` in startEmbedded. */
  stop(): Promise<void>;
  metrics: TroupeMetrics;
  /** The partitions this process hosts and their states (what /units shows; /readyz follows them). */
  units: UnitRegistry;
}

export async function startEmbedded(config: TroupeConfig, givenLogger?: Logger): Promise<EmbeddedServer> {
  const logger = givenLogger ?? createLogger(config, 'embedded');
  const telemetry = startTelemetry(config, 'embedded', logger);
  const nodeId = config.node.id;
  const metrics = new TroupeMetrics({ labels: { node: nodeId } });
  await mkdir(config.dataDir, { recursive: true });

  // ---- storage (repo role)
  const { store: database, knex } = await openSqliteStore(config.storage.filename);
  const { applied } = await migrateLatest(knex);
  if (applied.length > 0) logger.info('migrations applied', { applied });
  const store = new GroupCommitStore(database, {
    // SQLite has one writer: one commit queue groups every conversation's messages together,
    // where per-shard queues would only take turns at the same lock.
    shards: 1,
    batchMaxRows: config.repo.batchMaxRows,
    batchMaxDelayMs: config.repo.batchMaxDelayMs,
    metrics,
  });

  // ---- in-process ports
  const log = new MemoryLog({ defaultPartitions: config.log.upstreamPartitions });
  await log.createTopics([{ topic: config.log.upstreamTopic, partitions: config.log.upstreamPartitions }]);
  const producer = log.producer();
  // Claim revisions are fencing epochs that the database remembers across restarts: a restarted
  // server's must be newer than every epoch stored. Start past the newest stored epoch, so that a
  // clock set back (or a fast restart) can never leave every write refused as stale.
  const coord = new LocalCoordinator({ initialRevision: await firstRevision(knex) });
  const lease = await coord.grantLease(10_000);
  await lease.put(`/troupe/${config.node.cluster}/nodes/embedded/${nodeId}`, JSON.stringify({ nodeId, roles: ['gateway', 'logic', 'repo', 'task'] }));
  const presence = new MemoryPresence();
  const system = startActorSystem();
  const units = new UnitRegistry({ metrics });
  // One process serves everything here: a unit that cannot be served stays reported (/readyz is
  // 503 and /units says why) rather than taking the whole server down.
  const escalate: RoleContext['escalate'] = (unit, step, error) => logger.error('a unit could not be served; the server is not ready', { unit, step, error: error.message });
  const ctx: RoleContext = { config, nodeId, logger, metrics, system, units, escalate };

  // ---- the roles, on those ports
  const logic = await startLogicRole(ctx, { log, producer, lease, presence, store });
  const task = await startTaskRole(ctx, { log, producer, lease, presence, store });
  const gateway = await startGatewayRole(ctx, { log, producer, presence, store }, 'embedded');
  logger.info('troupe embedded server listening', { host: config.gateway.host, port: gateway.port, dataDir: config.dataDir });

  let stopping: Promise<void> | null = null;
  /**
   * Graceful shutdown: stop accepting, close every socket with 1013, let logic finish the records
   * it has taken (their writes complete; the watermark is committed), then close the database.
   * Nothing acked is lost: acks follow durable writes.
   */
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('shutting down');
      await gateway.drain();
      await logic.stopConsuming();
      // After logic: fanout jobs that logic produced while finishing are still delivered.
      await task.stopConsuming();
      await gateway.close();
      logic.close();
      task.close();
      await producer.close();
      await log.close();
      await lease.revoke();
      await coord.close();
      await presence.close();
      await store.close();
      stopActor(system);
      await telemetry.shutdown();
      logger.info('shut down cleanly');
    })();
    return stopping;
  };

  return { port: gateway.port, stop, metrics, units };
}

/**
 * Where the in-process revision counter starts: past the newest epoch the database holds (its
 * claims' revisions from earlier runs), and at least the clock in ms, which keeps the epochs of
 * databases made before this rule comparable.
 */
async function firstRevision(knex: Knex): Promise<number> {
  const row = await knex('epochs').max({ newest: 'epoch' }).first<{ newest: number | string | null } | undefined>();
  const newest = Number(row?.newest ?? 0);
  return Math.max(Date.now(), Number.isSafeInteger(newest) ? newest + 1 : 0);
}
