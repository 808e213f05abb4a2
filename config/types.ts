/**
 * The shape of Troupe's configuration: config/default.yaml, then a `--config` file, then
 * environment variables (`TROUPE_<SECTION>__<KEY>`, e.g. `TROUPE_GATEWAY__PORT`), then CLI
 * flags. config/load.ts validates every value against config/schema.ts.
 */

export interface RateLimitConfig {
  /** Bucket size: frames that may arrive at once. */
  burst: number;
  /** Refill rate, frames per second. */
  perSecond: number;
}

export interface TroupeConfig {
  node: {
    /** This node's id; default derives from host name and pid. */
    id: string;
    /** Cluster name, the prefix of coordination keys. */
    cluster: string;
  };
  /** Root of the embedded mode's files (SQLite database, signing keys). */
  dataDir: string;
  /** Where a cluster node finds the shared services (cluster mode only; embedded ignores them). */
  cluster: {
    /** Kafka bootstrap brokers, comma-separated `host:port`. */
    brokers: string;
    /**
     * Ask any broker for producer ids when the metadata names a controller that does not exist:
     * needed on librdkafka's mock cluster (`troupe local-cluster`), never on real Kafka.
     */
    kafkaControllerFallback: boolean;
    /** Longest a fetch waits for records (brokers answer sooner when records arrive; the mock does not). */
    kafkaFetchMaxWaitMs: number;
    kafkaFetchIdleWaitMs: number;
    /** How long a produce request waits for more records to join it (0: the same event-loop turn only). */
    kafkaProduceLingerMs: number;
    /** Consumer group session timeout: how soon a dead member's partitions move. */
    kafkaSessionTimeoutMs: number;
    /** Consumer heartbeat interval; below a third of the session timeout. */
    kafkaHeartbeatMs: number;
    /** etcd endpoints, comma-separated URLs. */
    etcd: string;
    /** Redis URL (presence and caches). */
    redisUrl: string;
    /** TTL of the node's etcd lease; a dead node's claims vanish this long after its last renewal. */
    leaseTtlMs: number;
    /**
     * Logic and task nodes probe their peers' ops ports and act at once for one whose process is
     * gone (revoke its lease, evict it from the consumer group); docs/architecture.md, "Failover".
     */
    peerProbe: boolean;
    /** How often each peer's ops port is probed (a TCP connect). */
    peerProbeIntervalMs: number;
    /** Refused connects in a row that declare a peer dead. */
    peerProbeRefusals: number;
  };
  /** gRPC between roles (cluster mode). */
  rpc: {
    /** Address the repo role's gRPC server listens on. */
    host: string;
    /** Its port; 0 picks a free one. */
    port: number;
    /** `host:port` other nodes dial; empty means `<rpc.host>:<bound port>` (127.0.0.1 for 0.0.0.0). */
    advertise: string;
    /** Deadline of every call. */
    deadlineMs: number;
    /** Attempts of an idempotent call that failed with `unavailable` (1 = no retry). */
    attempts: number;
    /** Consecutive failures to one node that open its circuit breaker. */
    breakerFailures: number;
    /** How long an open breaker answers `unavailable` before letting one call through. */
    breakerHalfOpenMs: number;
  };
  /** The operations HTTP listener of roles without a gateway port: /healthz, /readyz, /metrics. */
  ops: {
    host: string;
    /** 0 picks a free one. */
    port: number;
    /** The ops URL other machines reach (registration, `troupe status`); '' derives it from host and port. */
    advertise: string;
  };
  gateway: {
    host: string;
    port: number;
    /** Largest WebSocket frame the protocol takes; larger closes with 1009. */
    maxFrameBytes: number;
    /** Largest frame the transport buffers before dropping the socket outright. */
    transportMaxPayloadBytes: number;
    maxBodyBytes: number;
    /** Largest `send` body (its JSON), and longest `text`. */
    maxMessageBodyBytes: number;
    maxTextChars: number;
    rateLimit: RateLimitConfig;
    /** Refused frames within `abuseWindowMs` after which the socket is closed with 1008. */
    abuseRefusedFrames: number;
    abuseWindowMs: number;
    idleTimeoutSec: number;
    maxBackpressureBytes: number;
    /** How long a WebSocket request (e.g. a member change) waits for its answer. */
    requestTimeoutMs: number;
    /** Presence entry TTL and the heartbeat that keeps it alive. */
    presenceTtlMs: number;
    presenceHeartbeatMs: number;
    /** Sockets being opened at once, and waiting to be (a reconnect storm queues, not swamps storage). */
    sessionOpens: { concurrency: number; maxQueue: number };
  };
  auth: {
    issuer: string;
    audience: string;
    accessTokenTtlSec: number;
    refreshTokenTtlSec: number;
    /** Folder of the signing keys; empty means `<dataDir>/keys`. */
    keysDir: string;
    argon2: {
      memoryKiB: number;
      iterations: number;
      parallelism: number;
      /** Hashes run at once at most; the rest queue. */
      poolSize: number;
      /** Most queued hashes; beyond it a login is refused with `unavailable`. */
      maxQueue: number;
    };
    /** Failed logins per minute before `rate_limited`. */
    failedLoginsPerUsername: number;
    failedLoginsPerAddress: number;
    /** Username look-ups per minute by one user before `rate_limited`. */
    userLookupsPerCaller: number;
  };
  log: {
    upstreamTopic: string;
    upstreamPartitions: number;
    downstreamTopicPrefix: string;
    downstreamPartitions: number;
    taskTopic: string;
    taskPartitions: number;
    /** Where records given up as poison are parked (actors/runtime/dead-letters.ts). */
    deadLetterTopic: string;
  };
  actors: {
    /** An actor idle this long is passivated. */
    passivateAfterMs: number;
    /** Records in flight per partition before the partition is paused. */
    maxInFlightPerPartition: number;
    commitIntervalMs: number;
    /**
     * Recent (sender, client id) pairs each conversation actor caches, so that a re-send of one
     * is answered without a database read. A cache only: an older re-send is still answered
     * exactly, by the store's unique key. Costs about 150 bytes per entry per active conversation.
     */
    dedupeWindow: number;
    /** Messages written in one batch per conversation at most. */
    maxBatchPerConversation: number;
    /** Longest one attempt at a record may take before its actor is deemed hung and restarted. */
    recordDeadlineMs: number;
    /** Attempts at a record (crashes or deadlines) before it is given up: answered, parked if poison. */
    recordAttempts: number;
    /** Pause before a failed actor is made again; doubles per consecutive failure of its key. */
    restartBackoffMs: number;
    maxRestartBackoffMs: number;
  };
  repo: {
    shards: number;
    batchMaxRows: number;
    batchMaxDelayMs: number;
  };
  storage: {
    client: 'sqlite' | 'mysql';
    /** SQLite file; empty means `<dataDir>/troupe.sqlite`. */
    filename: string;
    /** MySQL connection URL (cluster mode). */
    url: string;
  };
  history: { defaultLimit: number; maxLimit: number };
  sync: { defaultLimit: number; maxLimit: number };
  groups: {
    maxNameChars: number;
    maxMembers: number;
    /** Groups with more members than this are delivered through the task role (fanout jobs). */
    largeGroupThreshold: number;
  };
  /** The task role: fanout workers of large groups, fed from the task topic. */
  task: {
    /** Members per presence lookup of a fanout job, and per job that names its members. */
    chunkSize: number;
    /**
     * Slots a large group's members are split over by a hash of their id: one slot's jobs are
     * delivered in order by one fanout worker, different slots in parallel (at most this many
     * workers per group). Not live: a new size moves members between slots.
     */
    poolSize: number;
    /** Jobs in flight per task partition before the partition is paused. */
    maxInFlightPerPartition: number;
    /**
     * Members a task node keeps in its copies of large groups (read from the repo, kept current
     * by `members` jobs) before it drops the least recently used group's copy.
     */
    groupCopyMaxMembers: number;
  };
  logging: {
    level: 'error' | 'warn' | 'info' | 'debug';
  };
  /** OpenTelemetry traces (bin/telemetry.ts). */
  telemetry: {
    /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`; empty means no tracing. */
    otlpEndpoint: string;
    /** The `service.name` of this node's spans; empty means `troupe-<role>`. */
    serviceName: string;
  };
  shutdown: {
    /** Longest a graceful drain may take before the process exits anyway. */
    drainTimeoutMs: number;
  };
}
