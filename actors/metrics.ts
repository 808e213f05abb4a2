/**
 * Prometheus metrics of every role (served at /metrics). One registry per process (or per
 * embedded server in tests), so two servers in one test process never mix their counts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How often the default metrics sample event-loop delay (prom-client's default: 10 ms). */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class TroupeMetrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({ name: 'troupe_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly connectionsOpened = new Counter({ name: 'troupe_connections_opened_total', help: 'WebSocket connections accepted', registers: [this.registry] });
  readonly connectionsClosed = new Counter({ name: 'troupe_connections_closed_total', help: 'WebSocket connections closed, by close code', labelNames: ['code'], registers: [this.registry] });
  readonly framesIn = new Counter({ name: 'troupe_frames_in_total', help: 'Client frames received, by type', labelNames: ['type'], registers: [this.registry] });
  readonly framesOut = new Counter({ name: 'troupe_frames_out_total', help: 'Frames sent to clients, by type', labelNames: ['type'], registers: [this.registry] });
  readonly framesRefused = new Counter({ name: 'troupe_frames_refused_total', help: 'Client frames refused, by error code', labelNames: ['code'], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'troupe_http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly messagesStored = new Counter({ name: 'troupe_messages_stored_total', help: 'Messages durably stored', registers: [this.registry] });
  readonly fanoutJobsLost = new Counter({ name: 'troupe_fanout_jobs_lost_total', help: 'Fanout jobs of large groups that could not be produced after their retries (members catch up by seq)', registers: [this.registry] });
  readonly groupCopyReads = new Counter({ name: 'troupe_task_group_reads_total', help: "Reads of a large group's members from the repo by a task node, by reason (first use, pool size changed, counted again, digest differs)", labelNames: ['reason'], registers: [this.registry] });
  /** What `troupe_task_group_members` reports: set by the task role. */
  groupCopySize: () => number = () => 0;
  readonly groupCopyMembers: Gauge = new Gauge({
    name: 'troupe_task_group_members',
    help: 'Members a task node holds in its copies of large groups',
    registers: [this.registry],
    collect: (): void => this.groupCopyMembers.set(this.groupCopySize()),
  });
  readonly ackLatency = new Histogram({
    name: 'troupe_ack_latency_seconds',
    help: 'From a send frame arriving at the gateway to its ack being written to the socket',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly storeBatchRows = new Histogram({ name: 'troupe_store_batch_rows', help: 'Messages per group-commit write', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500], registers: [this.registry] });
  readonly activeActors = new Gauge({ name: 'troupe_active_actors', help: 'Live actors, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly mailboxDepth = new Gauge({ name: 'troupe_mailbox_depth', help: 'Records in flight (taken from the log, not finished), by topic and partition', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly logLag = new Gauge({ name: 'troupe_log_lag', help: 'Records appended but not yet committed by the consumer group, by topic and partition', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly partitionsPaused = new Counter({ name: 'troupe_partition_pauses_total', help: 'Times a partition was paused because its mailboxes were full', labelNames: ['topic'], registers: [this.registry] });
  readonly passivations = new Counter({ name: 'troupe_passivations_total', help: 'Idle actors passivated, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly backpressureCloses = new Counter({ name: 'troupe_backpressure_closes_total', help: 'Sockets closed because they could not keep up', registers: [this.registry] });
  readonly loginFailures = new Counter({ name: 'troupe_login_failures_total', help: 'Failed logins', registers: [this.registry] });
  readonly rpcCalls = new Counter({ name: 'troupe_rpc_calls_total', help: 'gRPC calls to other nodes, by target, method and outcome (ok, error, unavailable, breaker_open)', labelNames: ['target', 'method', 'outcome'], registers: [this.registry] });
  readonly rpcSeconds = new Histogram({ name: 'troupe_rpc_seconds', help: 'gRPC call time, by method', labelNames: ['method'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 3], registers: [this.registry] });
  readonly rpcBreakerState = new Gauge({ name: 'troupe_rpc_breaker_state', help: 'Circuit breaker per target node: 0 closed, 1 half open, 2 open', labelNames: ['target'], registers: [this.registry] });
  readonly unitState = new Gauge({ name: 'troupe_unit_state', help: 'Placement units served by this node, by unit: 0 claiming, 1 hosted, 2 draining, 3 fenced', labelNames: ['unit'], registers: [this.registry] });
  readonly oldestInFlightSeconds = new Gauge({ name: 'troupe_oldest_in_flight_seconds', help: 'Age of the oldest record taken from the log and not finished, by topic and partition', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly recordsParked = new Counter({ name: 'troupe_records_parked_total', help: 'Records that failed repeatedly and were parked in the dead-letter topic, by topic and kind', labelNames: ['topic', 'kind'], registers: [this.registry] });
  readonly recordFailures = new Counter({ name: 'troupe_record_failures_total', help: 'Records whose handling failed (threw, or ran past its deadline), by topic, kind and outcome', labelNames: ['topic', 'kind', 'outcome'], registers: [this.registry] });
  readonly actorRestarts = new Counter({ name: 'troupe_actor_restarts_total', help: 'Actors stopped after a failure and re-created from storage on their next record, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly unitEscalations = new Counter({ name: 'troupe_unit_escalations_total', help: 'Units that could not be claimed, hosted or released after their retries, by step', labelNames: ['step'], registers: [this.registry] });
  readonly writesRefused = new Counter({ name: 'troupe_writes_refused_total', help: 'Writes the database refused because their fencing epoch was older than the newest seen for their unit, by unit kind (upstream, repo)', labelNames: ['unit'], registers: [this.registry] });
  readonly repoShardsOwned = new Gauge({ name: 'troupe_repo_shards_owned', help: 'Repo shards this node owns', registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) {
      // prom-client samples event-loop delay with a libuv timer every 10 ms by default: 100
      // wakeups a second in an otherwise idle process, which on small VMs was the largest
      // single share of an idle node's CPU. Every 100 ms still shows any stall that matters.
      collectDefaultMetrics({ register: this.registry, prefix: 'troupe_process_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    }
  }

  /** Counts a client frame in or out by type: once per frame, so each type's child is resolved once, not per call. */
  countFrame(direction: 'in' | 'out', type: string): void {
    const children = direction === 'in' ? this.framesInByType : this.framesOutByType;
    let child = children.get(type);
    if (child === undefined) {
      child = (direction === 'in' ? this.framesIn : this.framesOut).labels(type);
      children.set(type, child);
    }
    child.inc();
  }

  // Frame types are a small closed set (the protocol's, plus 'other'), so these stay small.
  private readonly framesInByType = new Map<string, { inc(): void }>();
  private readonly framesOutByType = new Map<string, { inc(): void }>();

  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
