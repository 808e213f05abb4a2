/**
 * What logic actors send to gateways: frames for connections and replies to requests, produced
 * to each gateway's downstream topic (`<prefix><gatewayId>`). An actor collects everything one
 * step produces in a Batch and flushes it with one `send` per gateway topic.
 */
import { retry } from '../../transport/errors.js';
import type { LogHeaders, ProduceRecord, Producer } from '../../transport/log/port.js';
import type { Presence, PresenceEntry } from '../../transport/presence/port.js';
import { encodeDownstream } from '../records/codec.js';
import type { ConnAddress, ReplyAddress } from '../records/types.js';
import { injectHeaders, type Context } from '../runtime/tracing.js';

export class Outbox {
  constructor(
    private readonly producer: Producer,
    private readonly presence: Presence,
    private readonly topicPrefix: string,
  ) {}

  batch(): OutboxBatch {
    return new OutboxBatch(this);
  }

  /** Live connections of the users, grouped as gateway → (user → connection ids). */
  async lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    return userIds.length === 0 ? new Map() : this.presence.lookup(userIds);
  }

  /** @internal */
  async send(perTopic: Map<string, ProduceRecord[]>): Promise<void> {
    await Promise.all(
      [...perTopic].map(([gatewayId, records]) =>
        retry(() => this.producer.send(this.topicPrefix + gatewayId, records), { attempts: 5 }),
      ),
    );
  }
}

export class OutboxBatch {
  private readonly perGateway = new Map<string, ProduceRecord[]>();

  constructor(private readonly outbox: Outbox) {}

  get size(): number {
    return this.perGateway.size;
  }

  /**
   * One frame to one connection (acks, errors, answers). With `trace` (the context of the span
   * that answers), the record's headers carry it on to the gateway's delivery span.
   */
  toConn(key: string, to: ConnAddress, frame: string, trace?: Context): void {
    this.push(to.gatewayId, key, [to.connId], frame, trace === undefined ? undefined : deliverHeaders(trace));
  }

  /**
   * One frame to every live connection of these users, except `except` (the sending
   * connection). `online` is a presence lookup that covers the users. `trace` as in `toConn`.
   */
  toUsers(key: string, users: Iterable<string>, online: Map<string, PresenceEntry[]>, frame: string, except?: ConnAddress, trace?: Context): void {
    const perGateway = new Map<string, string[]>();
    for (const user of users) {
      const entries = online.get(user);
      if (entries === undefined) continue;
      for (const entry of entries) {
        if (except !== undefined && entry.connId === except.connId && entry.gatewayId === except.gatewayId) continue;
        let conns = perGateway.get(entry.gatewayId);
        if (conns === undefined) perGateway.set(entry.gatewayId, (conns = []));
        conns.push(entry.connId);
      }
    }
    const headers = trace === undefined || perGateway.size === 0 ? undefined : deliverHeaders(trace);
    for (const [gatewayId, connIds] of perGateway) this.push(gatewayId, key, connIds, frame, headers);
  }

  reply(to: ReplyAddress, result: unknown): void {
    this.pushRecord(to.gatewayId, to.requestId, encodeDownstream({ type: 'reply', requestId: to.requestId, result: JSON.stringify(result ?? null) }));
  }

  replyError(to: ReplyAddress, code: string, message: string): void {
    this.pushRecord(to.gatewayId, to.requestId, encodeDownstream({ type: 'reply', requestId: to.requestId, error: { code, message } }));
  }

  async flush(): Promise<void> {
    if (this.perGateway.size === 0) return;
    const records = new Map(this.perGateway);
    this.perGateway.clear();
    await this.outbox.send(records);
  }

  private push(gatewayId: string, key: string, connIds: string[], frame: string, headers?: LogHeaders): void {
    this.pushRecord(gatewayId, key, encodeDownstream({ type: 'deliver', connIds, frame }), headers);
  }

  private pushRecord(gatewayId: string, key: string, value: Uint8Array, headers?: LogHeaders): void {
    let records = this.perGateway.get(gatewayId);
    if (records === undefined) this.perGateway.set(gatewayId, (records = []));
    records.push(headers === undefined ? { key, value } : { key, value, headers });
  }
}

/** Headers of a deliver record that carries `trace` (shared by the records of one push). */
function deliverHeaders(trace: Context): LogHeaders {
  return injectHeaders(trace, { type: 'deliver' });
}
