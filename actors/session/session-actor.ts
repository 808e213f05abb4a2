/**
 * The session actor: one per user, on the logic node hosting the user's upstream partition.
 *
 * It follows the user's connections (the gateway writes presence entries before it produces
 * `online` and removes them before `offline`), and when the user comes online (first connection)
 * or goes offline (last one closed) it tells the user's direct-conversation peers who are online
 * (`presence` frames). Its state is rebuilt from the presence port on activation, so passivation
 * loses nothing.
 *
 * There is one per online user, so it keeps the user's connections as a short array of exactly
 * their number (most users have one or two) rather than a Set, whose hash table alone outweighs
 * a few entries.
 */
import type { LogicDeps } from '../logic/deps.js';
import { presenceFrame } from '../protocol/frames.js';
import type { PresenceRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, HostedActor } from '../runtime/hosted-kind.js';

export class SessionActor implements HostedActor<UpstreamRecord> {
  /**
   * Connections known open ("gatewayId/connId"), without repeats; null until rebuilt from
   * presence. Replaced by an array of the new size at each change, never grown in place.
   */
  private connections: readonly string[] | null = null;

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
      let known: readonly string[] = [];
      for (const e of live) known = withItem(known, `${e.gatewayId}/${e.connId}`);
      // The gateway changed presence before producing this record: undo it to get "before".
      this.connections = record.type === 'online' ? withoutItem(known, conn) : withItem(known, conn);
    }
    const wasOnline = this.connections.length > 0;
    this.connections = record.type === 'online' ? withItem(this.connections, conn) : withoutItem(this.connections, conn);
    const isOnline = this.connections.length > 0;
    if (wasOnline === isOnline) return;

    const peers = await this.deps.store.directPeers(this.userId);
    if (peers.length === 0) return;
    const out = this.deps.outbox.batch();
    out.toUsers(this.userId, peers, await this.deps.outbox.lookup(peers), presenceFrame(this.userId, isOnline));
    await out.flush();
  }
}

/*
 * Both return arrays of exactly their length (`concat` and `slice` allocate no spare room;
 * spreading and `filter` reserve room for 17, as `push` does), or `items` itself unchanged.
 */

/** `items` with `item` added, or `items` itself when it is there already. */
function withItem(items: readonly string[], item: string): readonly string[] {
  return items.includes(item) ? items : items.concat(item);
}

/** `items` without `item`, or `items` itself when it is not there. */
function withoutItem(items: readonly string[], item: string): readonly string[] {
  const at = items.indexOf(item);
  return at === -1 ? items : items.slice(0, at).concat(items.slice(at + 1));
}
