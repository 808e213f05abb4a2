/**
 * The rule of every configuration key, one row per leaf of TroupeConfig.
 *
 * The table's type is computed from TroupeConfig, so the compiler refuses a missing key, an
 * extra key, or a rule of the wrong kind (an int rule on a string key). config/load.ts checks
 * every value against it, whatever its source, and the CLI checks flag values with the same rows.
 */

import type { TroupeConfig } from './types.js';

export interface IntSpec {
  type: 'int';
  min: number;
  max: number;
}

export interface StringSpec {
  type: 'string';
  /** Whether '' is allowed (it usually means "derive it", see config/load.ts). */
  allowEmpty: boolean;
  pattern?: RegExp;
  /** The pattern in words, for error messages. */
  patternText?: string;
}

export interface EnumSpec<V extends string = string> {
  type: 'enum';
  values: readonly V[];
}

export interface BooleanSpec {
  type: 'boolean';
}

export type FieldSpec = IntSpec | StringSpec | EnumSpec | BooleanSpec;

/** Dotted path of every leaf of T, e.g. 'gateway.rateLimit.burst'. */
type LeafPaths<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends object ? LeafPaths<T[K], `${P}${K}.`> : `${P}${K}`;
}[keyof T & string];

type ValueAt<T, K extends string> = K extends `${infer H}.${infer R}`
  ? H extends keyof T ? ValueAt<T[H], R> : never
  : K extends keyof T ? T[K] : never;

type SpecFor<V> = [V] extends [number] ? IntSpec
  : [V] extends [boolean] ? BooleanSpec
  : [string] extends [V] ? StringSpec
  : [V] extends [string] ? EnumSpec<V>
  : never;

/** A configuration key in dotted form: 'gateway.port', 'auth.argon2.memoryKiB', … */
export type ConfigKey = LeafPaths<TroupeConfig>;

export type ConfigSchema = { readonly [K in ConfigKey]: SpecFor<ValueAt<TroupeConfig, K>> };

const int = (min: number, max: number): IntSpec => ({ type: 'int', min, max });
const text = (): StringSpec => ({ type: 'string', allowEmpty: false });
const textOrEmpty = (): StringSpec => ({ type: 'string', allowEmpty: true });
const oneOf = <V extends string>(...values: V[]): EnumSpec<V> => ({ type: 'enum', values });

/** Names that end up in topic names and coordination keys: Kafka's legal topic characters. */
const NAME = /^[A-Za-z0-9._-]+$/;
const NAME_TEXT = 'letters, digits, ".", "_" and "-"';
const name = (): StringSpec => ({ type: 'string', allowEmpty: false, pattern: NAME, patternText: NAME_TEXT });
const nameOrEmpty = (): StringSpec => ({ ...name(), allowEmpty: true });

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_MS = 86_400_000;
const YEAR_SEC = 31_536_000;

export const CONFIG_SCHEMA: ConfigSchema = {
  'node.id':                          nameOrEmpty(),
  'node.cluster':                     name(),
  'dataDir':                          text(),

  'cluster.brokers':                  textOrEmpty(),
  'cluster.kafkaControllerFallback':  { type: 'boolean' },
  'cluster.kafkaFetchMaxWaitMs':      int(10, 30_000),
  'cluster.kafkaFetchIdleWaitMs':     int(10, 30_000),
  'cluster.kafkaProduceLingerMs':     int(0, 1_000),
  'cluster.kafkaSessionTimeoutMs':    int(3_000, 300_000),
  'cluster.kafkaHeartbeatMs':         int(100, 60_000),
  'cluster.etcd':                     textOrEmpty(),
  'cluster.redisUrl':                 textOrEmpty(),
  'cluster.leaseTtlMs':               int(2_000, 600_000),
  'cluster.peerProbe':                { type: 'boolean' },
  'cluster.peerProbeIntervalMs':      int(50, 60_000),
  'cluster.peerProbeRefusals':        int(1, 100),

  'rpc.host':                         text(),
  'rpc.port':                         int(0, 65535),
  'rpc.advertise':                    textOrEmpty(),
  'rpc.deadlineMs':                   int(10, 600_000),
  'rpc.attempts':                     int(1, 10),
  'rpc.breakerFailures':              int(1, 1_000),
  'rpc.breakerHalfOpenMs':            int(10, 600_000),

  'ops.host':                         text(),
  'ops.port':                         int(0, 65535),
  'ops.advertise':                    textOrEmpty(),

  'gateway.host':                     text(),
  'gateway.port':                     int(0, 65535),
  'gateway.maxFrameBytes':            int(KiB, 16 * MiB),
  'gateway.transportMaxPayloadBytes': int(KiB, 64 * MiB),
  'gateway.maxBodyBytes':             int(KiB, 16 * MiB),
  'gateway.maxMessageBodyBytes':      int(64, MiB),
  'gateway.maxTextChars':             int(1, MiB),
  'gateway.rateLimit.burst':          int(1, 1_000_000),
  'gateway.rateLimit.perSecond':      int(1, 1_000_000),
  'gateway.abuseRefusedFrames':       int(1, 1_000_000),
  'gateway.abuseWindowMs':            int(100, 3_600_000),
  // uWebSockets.js takes an idle timeout of at least 8 s and at most 960 s.
  'gateway.idleTimeoutSec':           int(8, 960),
  'gateway.maxBackpressureBytes':     int(KiB, 1024 * MiB),
  'gateway.requestTimeoutMs':         int(100, 600_000),
  'gateway.presenceTtlMs':            int(1_000, DAY_MS),
  'gateway.presenceHeartbeatMs':      int(100, DAY_MS),
  'gateway.sessionOpens.concurrency': int(1, 100_000),
  'gateway.sessionOpens.maxQueue':    int(0, 10_000_000),

  'auth.issuer':                      text(),
  'auth.audience':                    text(),
  'auth.accessTokenTtlSec':           int(60, 86_400),
  'auth.refreshTokenTtlSec':          int(60, 10 * YEAR_SEC),
  'auth.keysDir':                     textOrEmpty(),
  'auth.argon2.memoryKiB':            int(1_024, 4 * MiB),
  'auth.argon2.iterations':           int(1, 100),
  'auth.argon2.parallelism':          int(1, 64),
  'auth.argon2.poolSize':             int(1, 256),
  'auth.argon2.maxQueue':             int(0, 1_000_000),
  'auth.failedLoginsPerUsername':     int(1, 1_000_000),
  'auth.failedLoginsPerAddress':      int(1, 1_000_000),
  'auth.userLookupsPerCaller':        int(1, 1_000_000),

  'log.upstreamTopic':                name(),
  'log.upstreamPartitions':           int(1, 10_000),
  'log.downstreamTopicPrefix':        name(),
  'log.downstreamPartitions':         int(1, 10_000),
  'log.taskTopic':                    name(),
  'log.taskPartitions':               int(1, 10_000),
  'log.deadLetterTopic':              name(),

  'actors.passivateAfterMs':          int(1_000, DAY_MS),
  'actors.maxInFlightPerPartition':   int(1, 1_000_000),
  'actors.commitIntervalMs':          int(1, 60_000),
  'actors.dedupeWindow':              int(0, 100_000),
  'actors.maxBatchPerConversation':   int(1, 100_000),
  'actors.recordDeadlineMs':          int(100, 3_600_000),
  'actors.recordAttempts':            int(1, 100),
  'actors.restartBackoffMs':          int(1, 60_000),
  'actors.maxRestartBackoffMs':       int(1, 600_000),

  'repo.shards':                      int(1, 4_096),
  'repo.batchMaxRows':                int(1, 10_000),
  'repo.batchMaxDelayMs':             int(0, 1_000),

  'storage.client':                   oneOf('sqlite', 'mysql'),
  'storage.filename':                 textOrEmpty(),
  'storage.url':                      textOrEmpty(),

  'history.defaultLimit':             int(1, 10_000),
  'history.maxLimit':                 int(1, 10_000),
  'sync.defaultLimit':                int(1, 10_000),
  'sync.maxLimit':                    int(1, 10_000),

  'groups.maxNameChars':              int(1, 10_000),
  'groups.maxMembers':                int(2, 10_000_000),
  'groups.largeGroupThreshold':       int(2, 10_000_000),

  'task.chunkSize':                   int(1, 100_000),
  'task.poolSize':                    int(1, 1024),
  'task.maxInFlightPerPartition':     int(1, 1_000_000),
  'task.groupCopyMaxMembers':         int(1000, 100_000_000),

  'logging.level':                    oneOf('error', 'warn', 'info', 'debug'),

  'telemetry.otlpEndpoint':           { type: 'string', allowEmpty: true, pattern: /^https?:\/\/\S+$/, patternText: 'an http:// or https:// URL' },
  'telemetry.serviceName':            textOrEmpty(),

  'shutdown.drainTimeoutMs':          int(0, 600_000),
};

/** Every key, in the table's order. */
export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as readonly ConfigKey[];
