/**
 * What the gateway's parts are given: ports, services and limits, wired in bin/.
 */
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
}
