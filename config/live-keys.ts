/**
 * The live keys: the configuration keys an operator may change on a running cluster, through
 * etcd (`troupe config set`), without restarting a node. Every other key takes a restart.
 *
 * A live value is stored at `/troupe/<cluster>/config/<dotted key>` as its text ("100",
 * "debug") and checked, on the command line before it is written and on every node before it is
 * applied, with the key's row of config/schema.ts and the relation listed here, if any. A key
 * is live only if every place that reads it reads the shared configuration object at use time
 * (never a copy made at start-up); the comment of each key says where that is.
 */

import type { ConfigValue } from './config-path.js';
import { readConfigValue } from './config-path.js';
import { CONFIG_KEYS, CONFIG_SCHEMA, type ConfigKey } from './schema.js';
import type { TroupeConfig } from './types.js';
import { checkValue, showValue } from './validate.js';

/** A bound set by another key, which is not live itself and so cannot move under it. */
interface LiveRule {
  atLeast?: ConfigKey;
  atMost?: ConfigKey;
}

const LIVE_RULES = {
  /**
   * Frames a connection may send at once. Every connection's token bucket
   * (actors/gateway/token-bucket.ts) reads it at its next frame, open connections included; a
   * smaller burst also trims the tokens a connection has saved up.
   */
  'gateway.rateLimit.burst': {},
  /** Refill rate of the same buckets, applied from each connection's next frame on. */
  'gateway.rateLimit.perSecond': {},
  /**
   * Refused frames within gateway.abuseWindowMs before a socket is closed with 1008: read by
   * each connection when it refuses a frame (actors/gateway/connection-actor.ts).
   */
  'gateway.abuseRefusedFrames': {},
  /** Largest `send` body: checked as each frame is parsed (actors/gateway/client-frames.ts). */
  'gateway.maxMessageBodyBytes': { atMost: 'gateway.maxFrameBytes' },
  /** Longest message `text`: checked as each frame is parsed (actors/gateway/client-frames.ts). */
  'gateway.maxTextChars': {},
  /**
   * The level of the node's logger and of every child logger (bin/logger.ts setLogLevel,
   * wired by bin/cluster/runtime-config.ts): from the next log line on.
   */
  'logging.level': {},
  /** Largest history page: read by the gateway's HTTP API at each request (actors/gateway/http-api.ts). */
  'history.maxLimit': { atLeast: 'history.defaultLimit' },
  /** Largest `sync` page: read as each `sync` frame is parsed (actors/gateway/client-frames.ts). */
  'sync.maxLimit': { atLeast: 'sync.defaultLimit' },
  /**
   * Most members of a group: checked when a group is created or members are added, by the
   * gateway (actors/logic/conversation-service.ts, actors/gateway/http-api.ts) and by the
   * conversation actors of logic nodes (actors/conversation/membership.ts through
   * LogicSettings, whose bin/ wiring reads the configuration at use time).
   */
  'groups.maxMembers': {},
  /**
   * Members above which a group's messages are fanned out by the task role instead of the
   * conversation actor: read by logic nodes through LogicSettings.largeGroupThreshold (a getter
   * over the configuration in bin/roles/logic-role.ts) as each group message is delivered.
   */
  'groups.largeGroupThreshold': {},
} as const satisfies { readonly [K in ConfigKey]?: LiveRule };

/** A live key: one of the configuration's keys (the table above refuses any other name). */
export type LiveKey = keyof typeof LIVE_RULES;

export function isLiveKey(key: string): key is LiveKey {
  return Object.hasOwn(LIVE_RULES, key);
}

/** Every live key, in the order of config/schema.ts. */
export const LIVE_KEYS: readonly LiveKey[] = CONFIG_KEYS.filter(isLiveKey);

/** Where the live values of `cluster` are stored; a key's entry is this prefix plus the key. */
export function liveConfigPrefix(cluster: string): string {
  return `/troupe/${cluster}/config/`;
}

export type LiveCheck = { ok: true; value: ConfigValue } | { ok: false; rule: string };

/**
 * Checks a live value given as text against its schema row and, with `config`, against the
 * other key that bounds it. The rule comes phrased to follow "must be".
 */
export function checkLiveValue(key: LiveKey, text: string, config: TroupeConfig): LiveCheck {
  const checked = checkValue(CONFIG_SCHEMA[key], text, true);
  if (!checked.ok) return checked;
  const value = checked.value as ConfigValue;
  const rule: LiveRule = LIVE_RULES[key];
  if (rule.atLeast !== undefined) {
    const bound = readConfigValue(config, rule.atLeast);
    if ((value as number) < (bound as number)) return { ok: false, rule: `at least ${rule.atLeast} (${showValue(bound)})` };
  }
  if (rule.atMost !== undefined) {
    const bound = readConfigValue(config, rule.atMost);
    if ((value as number) > (bound as number)) return { ok: false, rule: `at most ${rule.atMost} (${showValue(bound)})` };
  }
  return { ok: true, value };
}

/** The text a value is stored as in etcd: "100", "debug". */
export function liveValueText(value: ConfigValue): string {
  return String(value);
}
