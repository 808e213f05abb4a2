/**
 * What the gateway's parts are given: ports, services and limits, wired in bin/.
 */
import type { BoundedPool } from '../auth/bounded-pool.js';
import type { Producer } from '../../transport/log/port.js';
import type { Presence } from '../../transport/presence/port.js';
import type { AuthService } from '../auth/auth-service.js';
import type { UserDirectory } from '../auth/user-directory.js';
import type { ConversationService } from '../logic/conversation-service.js';
import type { MemberList } from '../logic/member-list.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';
import type { FrameLimits } from './client-frames.js';
import type { Connection } from './connection-actor.js';
import type { StaticAssets } from './static-assets.js';

export interface GatewayLimits extends FrameLimits {
  maxFrameBytes: number;
  rateLimit: { burst: number; perSecond: number };
  abuseRefusedFrames: number;
  abuseWindowMs: number;
  maxBackpressureBytes: number;
  presenceTtlMs: number;
  presenceHeartbeatMs: number;
  requestTimeoutMs: number;
  historyDefaultLimit: number;
  historyMaxLimit: number;
  maxMembers: number;
}

export interface GatewayDeps {
  gatewayId: string;
  producer: Producer;
  upstreamTopic: string;
  presence: Presence;
  auth: AuthService;
  conversations: ConversationService;
  /** `GET /v1/users?username=`. */
  users: UserDirectory;
  /** `GET /v1/conversations/:id/members`. */
  members: MemberList;
  limits: GatewayLimits;
  /** Open connections of this gateway by connection id. */
  registry: Map<string, Connection>;
  logger: Logger;
  metrics?: TroupeMetrics;
  /** The bundled browser client, served at `/` and `/web/<file>`; absent: no such routes. */
  assets?: StaticAssets;
  /**
   * Bounds the sockets being opened at once (presence, the online record, the `ready` snapshot
   * read from storage); absent: no bound. When every client reconnects at once (a gateway
   * restarted), unbounded opens sent storage thousands of snapshot reads together and most
   * missed their deadlines; bounded, they wait their turn and each read is quick.
   */
  sessionOpens?: BoundedPool;
}
