/**
 * The gateway role: the WebSocket/HTTP server (uWebSockets.js) with its connection actors, the
 * HTTP API (auth, conversations, history), and the consumer of this gateway's own downstream
 * topic `im-downstream-<gatewayId>`. The same wiring serves the embedded mode and
 * `troupe gateway`; only the ports differ.
 *
 * Access tokens are signed and verified here with the keys in `auth.keysDir`: every gateway of a
 * cluster must see the same folder (a shared volume or secret), or tokens from one gateway are
 * refused by the others. Two gateways that start on an empty folder at once converge on one key.
 */
import { BoundedPool } from '../../actors/auth/bounded-pool.js';
import { AuthService } from '../../actors/auth/auth-service.js';
import { LoginLimiter } from '../../actors/auth/login-limiter.js';
import { LookupLimiter } from '../../actors/auth/lookup-limiter.js';
import { PasswordHasher } from '../../actors/auth/password-hasher.js';
import { SharedLoginFailures } from '../../actors/auth/shared-login-failures.js';
import type { AccessClaims } from '../../actors/auth/tokens.js';
import { AccessTokens } from '../../actors/auth/tokens.js';
import { UserDirectory } from '../../actors/auth/user-directory.js';
import { Gateway } from '../../actors/gateway/gateway.js';
import type { GatewayDeps } from '../../actors/gateway/gateway-deps.js';
import { ConversationService } from '../../actors/logic/conversation-service.js';
import { MemberList } from '../../actors/logic/member-list.js';
import { createUwsServer } from '../../transport/http/uws.js';
import type { Log, Producer } from '../../transport/log/port.js';
import type { Cache, Presence } from '../../transport/presence/port.js';
import type { Store } from '../../transport/store/port.js';
import { loadOrCreateSigningKeys } from '../signing-keys.js';
import { loadWebAssets } from '../web-assets.js';
import { gatewayLimitsOf } from './gateway-limits.js';
import type { RoleContext } from './role-context.js';

export interface GatewayPorts {
  log: Log;
  producer: Producer;
  presence: Presence;
  /** Users, tokens and conversations: the store (embedded) or the gRPC client of the repo nodes. */
  store: Store;
  /** Counters shared with the other gateways (Redis in a cluster); absent: this gateway counts alone. */
  sharedCache?: Cache;
}

export interface GatewayRole {
  /** The port the server listens on (useful when configured as 0). */
  port: number;
  ready(): boolean;
  /** Stops accepting, closes every socket with 1013 and fails pending requests. */
  drain(): Promise<void>;
  /** Closes the listener, the downstream consumer and the actors; call after drain. */
  close(): Promise<void>;
}

/** `role` names the node in /units: `embedded` when the other roles share the process. */
export async function startGatewayRole(ctx: RoleContext, ports: GatewayPorts, role: 'gateway' | 'embedded' = 'gateway'): Promise<GatewayRole> {
  const { config, metrics } = ctx;
  const gatewayId = ctx.nodeId;
  const logger = ctx.logger.child({ role: 'gateway' });
  const downstreamTopic = config.log.downstreamTopicPrefix + gatewayId;
  await ports.log.createTopics([{ topic: downstreamTopic, partitions: config.log.downstreamPartitions }]);

  const keys = await loadOrCreateSigningKeys(config.auth.keysDir);
  const auth = new AuthService({
    store: ports.store,
    hasher: new PasswordHasher(config.auth.argon2),
    tokens: new AccessTokens(keys, config.auth),
    limiter: new LoginLimiter(config.auth),
    ...(ports.sharedCache === undefined ? {} : { sharedFailures: new SharedLoginFailures({ cache: ports.sharedCache, ...config.auth, logger }) }),
    refreshTokenTtlSec: config.auth.refreshTokenTtlSec,
  });
  const conversations = new ConversationService({
    store: ports.store,
    producer: ports.producer,
    upstreamTopic: config.log.upstreamTopic,
    groups: config.groups,
  });
  const lookups = new LookupLimiter({
    lookupsPerCaller: config.auth.userLookupsPerCaller,
    ...(ports.sharedCache === undefined ? {} : { shared: { cache: ports.sharedCache, logger } }),
  });
  const web = await loadWebAssets();
  if (web.dir === null) logger.warn('web client not found; GET / will answer 404');
  const deps: GatewayDeps = {
    gatewayId,
    producer: ports.producer,
    upstreamTopic: config.log.upstreamTopic,
    presence: ports.presence,
    auth,
    conversations,
    users: new UserDirectory(ports.store, lookups),
    members: new MemberList(ports.store),
    // Read at use time, so the runtime configuration's changes reach open connections.
    limits: gatewayLimitsOf(config),
    registry: new Map(),
    logger,
    metrics,
    assets: web.assets,
    sessionOpens: new BoundedPool({ ...config.gateway.sessionOpens, name: 'opening sockets' }),
  };
  // Its /readyz and /units answer for the whole node: the embedded mode's partitions live in ctx.units.
  const gateway = new Gateway(deps, ctx.system, { role, units: ctx.units });
  const consumer = ports.log.consumer({ groupId: `gateway-${gatewayId}`, topics: [downstreamTopic], fromBeginning: false });
  gateway.attach(consumer);
  await consumer.start(gateway);

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
    { onHandlerError: (err, where) => logger.error('handler failed', { ...where, error: (err as Error)?.message }) },
  );
  const port = await server.listen<AccessClaims>({
    http: (req) => gateway.http(req),
    upgrade: (req) => gateway.upgrade(req),
    open: (socket, claims) => gateway.open(socket, claims),
  });
  gateway.markReady();
  let draining = false;
  return {
    port,
    ready: () => !draining,
    drain: async () => {
      draining = true;
      server.stopListening();
      await gateway.drain();
    },
    close: async () => {
      server.close();
      await consumer.stop();
      gateway.close();
    },
  };
}
