/**
 * The gateway's limits as a view of the shared configuration: every field is a getter that
 * reads `config` when it is used, never a copy made at start-up. That is what makes the live
 * keys (config/live-keys.ts) live on a gateway: a frame checked, a token bucket refilled
 * (`rateLimit` is itself a view) or a history page cut after a change sees the new value.
 */
import type { GatewayLimits } from '../../actors/gateway/gateway-deps.js';
import type { TroupeConfig } from '../../config/types.js';

export function gatewayLimitsOf(config: TroupeConfig): GatewayLimits {
  const { gateway } = config;
  const rateLimit = {
    get burst() { return gateway.rateLimit.burst; },
    get perSecond() { return gateway.rateLimit.perSecond; },
  };
  return {
    get maxFrameBytes() { return gateway.maxFrameBytes; },
    get maxMessageBodyBytes() { return gateway.maxMessageBodyBytes; },
    get maxTextChars() { return gateway.maxTextChars; },
    rateLimit,
    get abuseRefusedFrames() { return gateway.abuseRefusedFrames; },
    get abuseWindowMs() { return gateway.abuseWindowMs; },
    get maxBackpressureBytes() { return gateway.maxBackpressureBytes; },
    get presenceTtlMs() { return gateway.presenceTtlMs; },
    get presenceHeartbeatMs() { return gateway.presenceHeartbeatMs; },
    get requestTimeoutMs() { return gateway.requestTimeoutMs; },
    get syncDefaultLimit() { return config.sync.defaultLimit; },
    get syncMaxLimit() { return config.sync.maxLimit; },
    get historyDefaultLimit() { return config.history.defaultLimit; },
    get historyMaxLimit() { return config.history.maxLimit; },
    get maxMembers() { return config.groups.maxMembers; },
  };
}
