/**
 * The gateway role: WebSocket connections as connection actors, the HTTP API, and the consumer
 * of this gateway's downstream topic (`im-downstream-<gatewayId>`) that hands deliveries to
 * connection actors and replies to waiting requests.
 *
 * Deliveries are best effort (docs/protocol.md): a gateway reads its topic from the end
 * when it starts, since connections do not survive a restart and clients sync on reconnect.
 */
import type { Ref } from 'nact';
import { asTroupeError, TroupeError } from '../../transport/errors.js';
import type { ClientSocket, GatewayHandlers, HttpRequest, HttpResponse, SocketHandler, UpgradeResult } from '../../transport/http/port.js';
import type { ConsumerListener, GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import type { AccessClaims } from '../auth/tokens.js';
import { decodeDownstream } from '../records/codec.js';
import { nodeStatus, type NodeStatus } from '../runtime/node-status.js';
import { carriesTrace, contextFromHeaders, SPAN_GATEWAY_DELIVER, SpanKind, startSpan } from '../runtime/tracing.js';
import type { UnitRegistry } from '../runtime/unit-registry.js';
import { CLOSE_TRY_LATER, Connection } from './connection-actor.js';
import { errorResponse } from './error-map.js';
import type { GatewayDeps } from './gateway-deps.js';
import { httpApi } from './http-api.js';
import { LogRequests } from './log-requests.js';

/** The node a gateway runs in, for /readyz and /units. */
export interface GatewayNode {
  /** `gateway`, or `embedded` when every role shares the process. */
  role: string;
  /** The placement units of the node (the embedded mode's partitions; none on a cluster gateway). */
  units?: UnitRegistry;
}

export class Gateway implements GatewayHandlers<AccessClaims>, ConsumerListener {
  private readonly requests: LogRequests;
  readonly http: (req: HttpRequest) => Promise<HttpResponse>;
  private readonly heartbeat: NodeJS.Timeout;
  private consumer: GroupConsumer | null = null;
  private draining = false;
  private readyFlag = false;

  /**
   * `_parent`, the actor system's root, is no longer used: connections are their own small
   * actors (actors/runtime/serial-actor.ts), not nact actors, since an idle socket must stay cheap.
   */
  constructor(
    private readonly deps: GatewayDeps,
    _parent: Ref<unknown>,
    private readonly node: GatewayNode = { role: 'gateway' },
  ) {
    this.requests = new LogRequests(deps.producer, deps.upstreamTopic, deps.gatewayId, deps.limits.requestTimeoutMs);
    this.http = httpApi({ deps, requests: this.requests, status: () => this.status() });
    this.heartbeat = setInterval(() => void this.refreshPresence(), deps.limits.presenceHeartbeatMs);
    this.heartbeat.unref();
  }

  /** The downstream consumer, once it has joined; the gateway is ready from then on. */
  attach(consumer: GroupConsumer): void {
    this.consumer = consumer;
  }

  markReady(): void {
    this.readyFlag = true;
  }

  get connections(): number {
    return this.deps.registry.size;
  }

  /** Ready once the downstream consumer joined and until the drain, and while the node's units are. */
  status(): NodeStatus {
    const own: string[] = [];
    if (!this.readyFlag) own.push('starting: the downstream consumer has not joined yet');
    if (this.draining) own.push('draining');
    return nodeStatus(this.deps.gatewayId, this.node.role, own, this.node.units);
  }

  // ---- GatewayHandlers

  /** Answered at once for a token this node knows to be good (see GatewayHandlers.upgrade). */
  upgrade(req: HttpRequest): UpgradeResult<AccessClaims> | Promise<UpgradeResult<AccessClaims>> {
    if (this.draining) return { accept: false, response: errorResponse(new TroupeError('unavailable', 'server shutting down'), req.requestId) };
    const token = req.query.get('token') ?? undefined;
    const known = this.deps.auth.knownAccessToken(token);
    if (known !== undefined) return { accept: true, context: known };
    return this.deps.auth.verifyAccessToken(token).then(
      (context): UpgradeResult<AccessClaims> => ({ accept: true, context }),
      (err: unknown): UpgradeResult<AccessClaims> => ({ accept: false, response: errorResponse(err, req.requestId) }),
    );
  }

  open(socket: ClientSocket, user: AccessClaims): SocketHandler {
    if (this.draining) {
      socket.close(CLOSE_TRY_LATER, 'server shutting down');
      return { onMessage: () => undefined, onClose: () => undefined };
    }
    const connection = new Connection(socket, user, this.deps);
    this.deps.registry.set(socket.id, connection);
    return connection;
  }

  // ---- ConsumerListener (downstream topic)

  async onAssigned(_partitions: TopicPartition[]): Promise<void> {}

  async onRevoked(_partitions: TopicPartition[]): Promise<void> {}

  async onRecords(_tp: TopicPartition, records: LogRecord[]): Promise<void> {
    for (const record of records) {
      let decoded;
      try {
        decoded = decodeDownstream(record.value);
      } catch {
        this.deps.logger.warn('skipping undecodable downstream record', { offset: record.offset });
        continue;
      }
      if (decoded.type === 'reply') {
        this.requests.onReply(decoded);
        continue;
      }
      // A traced record (a message, an ack) gets its delivery span, in the sender's trace.
      const span = carriesTrace(record.headers) ? startSpan(SPAN_GATEWAY_DELIVER, SpanKind.CONSUMER, contextFromHeaders(record.headers)) : undefined;
      for (const connId of decoded.connIds) this.deps.registry.get(connId)?.deliver(decoded.frame);
      if (span !== undefined) {
        if (span.isRecording()) span.setAttribute('troupe.connections', decoded.connIds.length);
        span.end();
      }
    }
    const last = records[records.length - 1];
    if (last !== undefined && this.consumer !== null) {
      // Offsets only matter for lag metrics: deliveries are not replayed after a restart.
      void this.consumer.commit({ topic: last.topic, partition: last.partition }, String(Number(last.offset) + 1)).catch(() => undefined);
    }
  }

  // ---- shutdown

  /** Stops taking connections and closes every open one with 1013; pending requests fail. */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.heartbeat);
    for (const connection of [...this.deps.registry.values()]) connection.close(CLOSE_TRY_LATER, 'server shutting down');
    this.requests.close();
  }

  close(): void {
    clearInterval(this.heartbeat);
  }

  private async refreshPresence(): Promise<void> {
    if (this.deps.registry.size === 0) return;
    const entries: Array<{ userId: string; connId: string }> = [];
    for (const [connId, connection] of this.deps.registry) entries.push({ userId: connection.userId, connId });
    try {
      await this.deps.presence.refresh(entries, this.deps.limits.presenceTtlMs);
    } catch (err) {
      this.deps.logger.warn('presence heartbeat failed', { error: asTroupeError(err).message });
    }
  }
}
