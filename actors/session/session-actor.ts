/**
 * The session actor: one per user, on the logic node hosting the user's upstream partition.
 *
 * It follows the user's connections (the gateway writes presence entries before it produces
 * `online` and removes them before `offline`), and when the user comes online (first connection)
 * or goes offline (last one closed) it tells the user's direct-conversation peers who are online
 * (`presence` frames). Its state is rebuilt from the presence port on activation, so passivation
 * loses nothing.
 *
 * There is one per online user, so it keeps the user's connections as a short array (most users
 * have one or two) rather than a Set, whose hash table alone outweighs a few entries.
 */
import type { LogicDeps } from '../logic/deps.js';
import { presenceFrame } from '../protocol/frames.js';
import type { PresenceRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, HostedActor } from '../runtime/hosted-kind.js';

export class SessionActor implements HostedActor<UpstreamRecord> {
  /** Connections known open ("gatewayId/connId"), without repeats; null until rebuilt from presence. */
  private connections: string[] | null = null;

  constructor(
    private readonly userId: string,
    private readonly deps: LogicDeps,
  ) {}

  /**
   * A failing step (presence or the store unreachable) throws: the host makes a fresh actor,
   * which rebuilds the connections from presence, and tries the record again.
   */
  async handle(envelope: Envelope<UpstreamRecord>): Promise<void> {
    const record = envelope.message;
    if (record.type === 'online' || record.type === 'offline') await this.onPresence(record);
    envelope.done();
  }

  private async onPresence(record: PresenceRecord): Promise<void> {
    const conn = `${record.origin.gatewayId}/${record.origin.connId}`;
    if (this.connections === null) {
      const live = (await this.deps.outbox.lookup([this.userId])).get(this.userId) ?? [];
      const known: string[] = [];
      for (const e of live) setAdd(known, `${e.gatewayId}/${e.connId}`);
      // The gateway changed presence before producing this record: undo it to get "before".
      if (record.type === 'online') setDelete(known, conn);
      else setAdd(known, conn);
      this.connections = known;
    }
    const connections = this.connections;
    const wasOnline = connections.length > 0;
    if (record.type === 'online') setAdd(connections, conn);
    else setDelete(connections, conn);
    const isOnline = connections.length > 0;
    if (wasOnline === isOnline) return;

    const peers = await this.deps.store.directPeers(this.userId);
    if (peers.length === 0) return;
    const out = this.deps.outbox.batch();
    out.toUsers(this.userId, peers, await this.deps.outbox.lookup(peers), presenceFrame(this.userId, isOnline));
    await out.flush();
  }
}

/** Adds `item` to `items` unless it is there. */
function setAdd(items: string[], item: string): void {
  if (!items.includes(item)) items.push(item);
}

/** Removes `item` from `items` if it is there. */
function setDelete(items: string[], item: string): void {
  const at = items.indexOf(item);
  if (at !== -1) items.splice(at, 1);
}
