/**
 * The embedded mode (`troupe dev`, `npm start`): the gateway, logic and repo roles in one process, on the
 * in-process ports (log, coordination, presence) and SQLite. The actors are the same as in
 * cluster mode; only the implementations wired here differ (DESIGN.md, "Two modes, one code
 * path"). This file is the one place where the embedded mode's concrete choices are made.
 */
import { mkdir } from 'node:fs/promises';
import { start as startActorSystem, stop as stopActor } from 'nact';
import { AuthService } from '../actors/auth/auth-service.js';
import { LoginLimiter } from '../actors/auth/login-limiter.js';
import { PasswordHasher } from '../actors/auth/password-hasher.js';
import type { AccessClaims } from '../actors/auth/tokens.js';
import { AccessTokens } from '../actors/auth/tokens.js';
import { Gateway } from '../actors/gateway/gateway.js';
import type { GatewayDeps } from '../actors/gateway/gateway-deps.js';
import { ConversationService } from '../actors/logic/conversation-service.js';
import type { LogicDeps } from '../actors/logic/deps.js';
import { Outbox } from '../actors/logic/outbox.js';
import { upstreamKind } from '../actors/logic/upstream-kind.js';
import { TroupeMetrics } from '../actors/metrics.js';
import { GroupCommitStore } from '../actors/repo/group-commit-store.js';
import type { UpstreamRecord } from '../actors/records/types.js';
import type { Logger } from '../actors/runtime/logger.js';
import { LagMonitor } from '../actors/runtime/lag-monitor.js';
import { PartitionHosting } from '../actors/runtime/partition-hosting.js';
import type { TroupeConfig } from '../config/types.js';
import { migrateLatest } from '../sql/migrate.js';
import { LocalCoordinator } from '../transport/coord/local.js';
import { createUwsServer } from '../transport/http/uws.js';
import { MemoryLog } from '../transport/log/memory.js';
import { MemoryPresence } from '../transport/presence/memory.js';
import { openSqliteStore } from '../transport/store/knex.js';
import { createLogger } from './logger.js';
import { loadOrCreateSigningKeys } from './signing-keys.js';
import { loadWebAssets } from './web-assets.js';

export interface EmbeddedServer {
  /** The port the gateway listens on (useful when configured as 0). */
  port: number;
  /** Graceful shutdown: see `stop` in startEmbedded. */
  stop(): Promise<void>;
  metrics: TroupeMetrics;
}

const LOGIC_GROUP = 'logic';

export async function startEmbedded(config: TroupeConfig, givenLogger?: Logger): Promise<EmbeddedServer> {
  const logger = givenLogger ?? createLogger(config, 'embedded');
  const nodeId = config.node.id;
  const gatewayId = nodeId;
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
  const downstreamTopic = config.log.downstreamTopicPrefix + gatewayId;
  await log.createTopics([
    { topic: config.log.upstreamTopic, partitions: config.log.upstreamPartitions },
    { topic: downstreamTopic, partitions: config.log.downstreamPartitions },
  ]);
  const producer = log.producer();
  // Claim revisions are fencing epochs that the database remembers across restarts: start the
  // in-process revision counter at the clock so that a restarted server's epochs are newer.
  const coord = new LocalCoordinator({ initialRevision: Date.now() });
  const lease = await coord.grantLease(10_000);
  await lease.put(`/troupe/${config.node.cluster}/nodes/embedded/${nodeId}`, JSON.stringify({ nodeId, roles: ['gateway', 'logic', 'repo'] }));
  const presence = new MemoryPresence();
  const system = startActorSystem();

  // ---- auth
  const keys = await loadOrCreateSigningKeys(config.auth.keysDir);
  const auth = new AuthService({
    store,
    hasher: new PasswordHasher(config.auth.argon2),
    tokens: new AccessTokens(keys, config.auth),
    limiter: new LoginLimiter(config.auth),
    refreshTokenTtlSec: config.auth.refreshTokenTtlSec,
  });

  // ---- logic role: conversation and session actors fed from im-upstream
  const logicDeps: LogicDeps = {
    store,
    outbox: new Outbox(producer, presence, config.log.downstreamTopicPrefix),
    settings: {
      dedupeWindow: config.actors.dedupeWindow,
      maxBatchPerConversation: config.actors.maxBatchPerConversation,
      maxMembers: config.groups.maxMembers,
    },
    logger: logger.child({ role: 'logic' }),
    metrics,
  };
  const hosting = new PartitionHosting<UpstreamRecord>({
    unitPrefix: 'upstream',
    cluster: config.node.cluster,
    nodeId,
    lease,
    kind: upstreamKind(logicDeps),
    parent: system,
    maxInFlight: config.actors.maxInFlightPerPartition,
    commitIntervalMs: config.actors.commitIntervalMs,
    passivateAfterMs: config.actors.passivateAfterMs,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    logger: logicDeps.logger,
    metrics,
  });
  const logicConsumer = log.consumer({ groupId: LOGIC_GROUP, topics: [config.log.upstreamTopic], fromBeginning: true });
  hosting.attach(logicConsumer);
  await logicConsumer.start(hosting);
  const lagMonitor = new LagMonitor({ log, groupId: LOGIC_GROUP, topic: config.log.upstreamTopic, metrics, logger: logicDeps.logger });

  // ---- gateway role
  const conversations = new ConversationService({
    store,
    producer,
    upstreamTopic: config.log.upstreamTopic,
    groups: config.groups,
  });
  const web = await loadWebAssets();
  if (web.dir === null) logger.warn('web client not found; GET / will answer 404');
  const gatewayDeps: GatewayDeps = {
    gatewayId,
    producer,
    upstreamTopic: config.log.upstreamTopic,
    presence,
    auth,
    conversations,
    limits: {
      ...config.gateway,
      syncDefaultLimit: config.sync.defaultLimit,
      syncMaxLimit: config.sync.maxLimit,
      historyDefaultLimit: config.history.defaultLimit,
      historyMaxLimit: config.history.maxLimit,
      maxMembers: config.groups.maxMembers,
    },
    registry: new Map(),
    logger: logger.child({ role: 'gateway' }),
    metrics,
    assets: web.assets,
  };
  const gateway = new Gateway(gatewayDeps, system);
  const downstreamConsumer = log.consumer({ groupId: `gateway-${gatewayId}`, topics: [downstreamTopic], fromBeginning: false });
  gateway.attach(downstreamConsumer);
  await downstreamConsumer.start(gateway);

  const server = createUwsServer(
    {
      host: config.gateway.host,
      port: config.gateway.port,
      wsPath: '/v1/ws',
      maxBodyBytes: config.gateway.maxBodyBytes,
      maxPayloadBytes: config.gateway.transportMaxPayloadBytes,
      maxBackpressureBytes: config.gateway.maxBackpressureBytes,
      idleTimeoutSec: config.gateway.idleTimeoutSec,
    },
    {
      onHandlerError: (err, where) => logger.error('handler failed', { ...where, error: (err as Error)?.message }),
    },
  );
  const port = await server.listen<AccessClaims>({
    http: (req) => gateway.http(req),
    upgrade: (req) => gateway.upgrade(req),
    open: (socket, claims) => gateway.open(socket, claims),
  });
  gateway.markReady();
  logger.info('troupe embedded server listening', { host: config.gateway.host, port, dataDir: config.dataDir });

  let stopping: Promise<void> | null = null;
  /**
   * Graceful shutdown: stop accepting, close every socket with 1013, let logic finish the records
   * it has taken (their writes complete; the watermark is committed), then close the database.
   * Nothing acked is lost: acks follow durable writes.
   */
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('shutting down');
      server.stopListening();
      await gateway.drain();
      await logicConsumer.stop();
      server.close();
      await downstreamConsumer.stop();
      hosting.close();
      lagMonitor.stop();
      gateway.close();
      await producer.close();
      await log.close();
      await lease.revoke();
      await coord.close();
      await presence.close();
      await store.close();
      stopActor(system);
      logger.info('shut down cleanly');
    })();
    return stopping;
  };

  return { port, stop, metrics };
}
