/**
 * The connection actor: one per WebSocket, on the gateway that holds the socket.
 *
 * Size and rate are checked as each frame arrives (so a flood is refused before it queues);
 * everything else happens in the actor, one message at a time: the `ready` frame first, then
 * client frames in arrival order (each produced to `im-upstream` before the next is looked at,
 * which keeps one connection's sends in order) and deliveries from the gateway's downstream
 * topic, written to the socket with send backpressure: a socket that buffers more than the
 * limit is closed and its client recovers by reconnecting and syncing.
 *
 * An idle authenticated socket is what a server holds most of, so an idle connection holds
 * only what it needs to be reached and closed: its socket, its user id and a few numbers. Its
 * mailbox (actors/runtime/serial-actor.ts), its rate limiter and its ack clock are made when first needed, it
 * runs no timer, and the token's other claims are let go once the `ready` frame is written.
 */
import { asTroupeError } from '../../transport/errors.js';
import type { ClientSocket, SocketHandler } from '../../transport/http/port.js';
import type { LogHeaders } from '../../transport/log/port.js';
import type { AccessClaims } from '../auth/tokens.js';
import { errorFrame, historyFrame, PONG_FRAME } from '../protocol/frames.js';
import type { ConnAddress, UpstreamRecord } from '../records/types.js';
import { upstreamRecord } from '../records/upstream-record.js';
import { contextOf, endWhenSettled, injectHeaders, ROOT_CONTEXT, SPAN_GATEWAY_SEND, SpanKind, startSpan } from '../runtime/tracing.js';
import { parseClientFrame, type ClientFrame } from './client-frames.js';
import { frameMessage } from './error-map.js';
import type { GatewayDeps } from './gateway-deps.js';
import { SerialActor } from '../runtime/serial-actor.js';
import { TokenBucket } from './token-bucket.js';

type ConnectionMessage =
  | { kind: 'open'; claims: AccessClaims }
  | { kind: 'frame'; text: string; at: number }
  | { kind: 'deliver'; frame: string }
  | { kind: 'closed' };

/** Close codes of docs/protocol.md. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_TRY_LATER = 1013;

/** Sends awaiting their ack that are remembered for the ack latency metric, at most. */
const MAX_TIMED_SENDS = 10_000;

export class Connection extends SerialActor<ConnectionMessage> implements SocketHandler {
  readonly userId: string;
  /** Made on the first frame: the bucket of a socket that never sends is full anyway. */
  private bucket: TokenBucket | null = null;
  private refusedInWindow = 0;
  /** Start of the abuse window (ms); 0 until the first refusal. */
  private windowStart = 0;
  private open = true;
  /** Client id → arrival time of sends awaiting their ack (ack latency metric). */
  private sentAt: Map<string, number> | null = null; // made on the first send: idle sockets stay small

  constructor(
    readonly socket: ClientSocket,
    claims: AccessClaims,
    private readonly deps: GatewayDeps,
  ) {
    super();
    this.userId = claims.userId;
    deps.metrics?.connections.inc();
    deps.metrics?.connectionsOpened.inc();
    this.post({ kind: 'open', claims });
  }

  /** Where this connection is reached: made when asked, so an idle connection does not keep one. */
  get address(): ConnAddress {
    return { gatewayId: this.deps.gatewayId, connId: this.socket.id };
  }

  // ---- called by the server as frames arrive

  onMessage(text: string | null, sizeBytes: number): void {
    if (!this.open) return;
    const { limits } = this.deps;
    if (sizeBytes > limits.maxFrameBytes) {
      this.deps.metrics?.framesRefused.inc({ code: 'too_large' });
      this.close(CLOSE_TOO_BIG, 'frame too large');
      return;
    }
    const now = Date.now();
    this.bucket ??= new TokenBucket(limits.rateLimit, now);
    if (!this.bucket.take(now)) {
      this.refuse('rate_limited', 'too many frames; slow down', text === null ? undefined : refOf(text), now);
      return;
    }
    if (text === null) {
      this.refuse('bad_request', 'frame: binary frames are not accepted; send JSON text', undefined, now);
      return;
    }
    this.post({ kind: 'frame', text, at: now });
  }

  onClose(code: number): void {
    if (!this.open) return;
    this.open = false;
    this.deps.metrics?.connections.dec();
    this.deps.metrics?.connectionsClosed.inc({ code: String(code) });
    this.post({ kind: 'closed' });
  }

  /** A frame from the downstream topic for this connection. */
  deliver(frame: string): void {
    if (this.open) this.post({ kind: 'deliver', frame });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  // ---- the actor

  protected async receive(msg: ConnectionMessage): Promise<void> {
    switch (msg.kind) {
      case 'open':
        return await this.onOpen(msg.claims);
      case 'frame':
        if (this.open) await this.onFrame(msg.text, msg.at);
        return;
      case 'deliver':
        return this.write(msg.frame);
      case 'closed':
        return await this.onClosed();
    }
  }

  protected crashed(raw: unknown): void {
    const err = asTroupeError(raw);
    this.deps.logger.error('connection step failed', { conn: this.socket.id, user: this.userId, code: err.code, error: err.message });
  }

  private async onOpen(user: AccessClaims): Promise<void> {
    const { deps } = this;
    const open = async (): Promise<void> => {
      // Presence first, then the snapshot: a message stored after the snapshot is then pushed.
      await deps.presence.add(user.userId, this.address, deps.limits.presenceTtlMs);
      await this.produce(user.userId, { type: 'online', user: user.userId, origin: this.address });
      const conversations = await deps.conversations.summaries(user.userId);
      const ready = {
        type: 'ready',
        user: { id: user.userId, username: user.username, displayName: user.displayName },
        conversations,
      };
      this.write(JSON.stringify(ready));
    };
    try {
      // A full queue refuses at once with unavailable: the socket is closed with 1013 below.
      await (deps.sessionOpens === undefined ? open() : deps.sessionOpens.run(open));
    } catch (raw) {
      this.deps.logger.warn('could not open a session; closing the socket', { user: user.userId, error: asTroupeError(raw).message });
      this.close(CLOSE_TRY_LATER, 'try again later');
    }
  }

  private async onFrame(text: string, at: number): Promise<void> {
    const parsed = parseClientFrame(text, this.deps.limits);
    if (!parsed.ok) {
      this.refuse(parsed.code, parsed.message, parsed.ref, at);
      return;
    }
    const frame = parsed.frame;
    this.deps.metrics?.countFrame('in', frame.type);
    try {
      await this.perform(frame, at);
    } catch (raw) {
      const { code, message } = frameMessage(raw);
      this.refuse(code, message, frame.type === 'send' ? frame.id : frame.ref, at);
    }
  }

  private async perform(frame: ClientFrame, at: number): Promise<void> {
    const { userId } = this;
    switch (frame.type) {
      case 'ping':
        this.write(PONG_FRAME);
        return;
      case 'send':
        if (this.deps.metrics !== undefined) this.timeSend(frame.id, at);
        return this.produceSend(frame.conv, { type: 'send', conv: frame.conv, from: userId, origin: this.address, clientId: frame.id, body: frame.body });
      case 'read':
        return this.produce(frame.conv, { type: 'read', conv: frame.conv, user: userId, origin: this.address, seq: frame.seq, ...(frame.ref !== undefined ? { ref: frame.ref } : {}) });
      case 'typing':
        return this.produce(frame.conv, { type: 'typing', conv: frame.conv, user: userId, origin: this.address, ...(frame.ref !== undefined ? { ref: frame.ref } : {}) });
      case 'sync': {
        const page = await this.deps.conversations.page(userId, frame.conv, frame.after, frame.limit);
        this.write(historyFrame(frame.conv, page.messages, page.more));
        return;
      }
    }
  }

  private async produce(key: string, record: UpstreamRecord, headers?: LogHeaders): Promise<void> {
    await this.deps.producer.send(this.deps.upstreamTopic, [upstreamRecord(key, record, headers)]);
  }

  /** A send starts its trace here: a span whose context the upstream record's headers carry on. */
  private produceSend(conv: string, record: UpstreamRecord): Promise<void> {
    const span = startSpan(SPAN_GATEWAY_SEND, SpanKind.SERVER, ROOT_CONTEXT);
    if (span === undefined) return this.produce(conv, record);
    if (span.isRecording()) span.setAttribute('troupe.conversation', conv);
    return endWhenSettled(span, this.produce(conv, record, injectHeaders(contextOf(span, ROOT_CONTEXT), { type: 'send' })));
  }

  private async onClosed(): Promise<void> {
    const { deps, userId } = this;
    this.sentAt = null;
    try {
      await deps.presence.remove(userId, this.socket.id);
      await this.produce(userId, { type: 'offline', user: userId, origin: this.address });
    } catch (raw) {
      deps.logger.warn('could not record a closed connection', { user: userId, error: asTroupeError(raw).message });
    } finally {
      deps.registry.delete(this.socket.id);
    }
  }

  // ---- writing

  private write(frame: string): void {
    if (!this.open) return;
    const result = this.socket.send(frame);
    const type = frameType(frame);
    this.deps.metrics?.countFrame('out', type);
    if (type === 'ack') this.observeAck(frame);
    // A frame taken whole ('sent') leaves nothing buffered; only otherwise ask the socket.
    if (result === 'dropped' || (result === 'buffered' && this.socket.bufferedAmount() > this.deps.limits.maxBackpressureBytes)) {
      this.deps.metrics?.backpressureCloses.inc();
      this.close(CLOSE_TRY_LATER, 'cannot keep up; reconnect and sync');
    }
  }

  private timeSend(clientId: string, at: number): void {
    this.sentAt ??= new Map();
    this.sentAt.set(clientId, at);
    if (this.sentAt.size > MAX_TIMED_SENDS) this.sentAt.clear(); // acks that never came: do not grow
  }

  private observeAck(frame: string): void {
    if (this.sentAt === null || this.sentAt.size === 0 || this.deps.metrics === undefined) return;
    const id = (JSON.parse(frame) as { id: string }).id;
    const at = this.sentAt.get(id);
    if (at === undefined) return;
    this.sentAt.delete(id);
    this.deps.metrics.ackLatency.observe((Date.now() - at) / 1000);
    if (this.sentAt.size === 0) this.sentAt = null; // every ack came: an idle socket holds no map
  }

  private refuse(code: string, message: string, ref: string | undefined, now: number): void {
    this.deps.metrics?.framesRefused.inc({ code });
    this.write(errorFrame(code, message, ref));
    if (now - this.windowStart > this.deps.limits.abuseWindowMs) {
      this.windowStart = now;
      this.refusedInWindow = 0;
    }
    if (++this.refusedInWindow > this.deps.limits.abuseRefusedFrames) this.close(CLOSE_POLICY, 'too many refused frames');
  }
}

/** The string `id` of a frame that is refused unread (docs/protocol.md: errors carry it as `ref`). */
function refOf(text: string): string | undefined {
  if (!text.includes('"id"')) return undefined;
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The `type` of a server frame, read from its fixed prefix `{"type":"…"`. */
function frameType(frame: string): string {
  const end = frame.indexOf('"', 9);
  return frame.startsWith('{"type":"') && end > 9 ? frame.slice(9, end) : 'other';
}
