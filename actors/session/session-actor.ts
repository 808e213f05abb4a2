/**
 * The session actor: one per user, on the logic node hosting the user's upstream partition.
 *
 * It follows the user's connections (the gateway writes presence entries before it produces
 * `online` and removes them before `offline`), and when the user comes online (first connection)
 * or goes offline (last one closed) it tells the user's direct-conversation peers who are online
 * (`presence` frames). Its state is rebuilt from the presence port on activation, so passivation
 * loses nothing.
 */
import type { LogicDeps } from '../logic/deps.js';
import { presenceFrame } from '../protocol/frames.js';
import type { PresenceRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, HostedActor } from '../runtime/hosted-kind.js';

export class SessionActor implements HostedActor<UpstreamRecord> {
  /** Connections known open ("gatewayId/connId"); null until rebuilt from presence. */
  private connections: Set<string> | null = null;

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
      this.connections = new Set(live.map((e) => `${e.gatewayId}/${e.connId}`));
      // The gateway changed presence before producing this record: undo it to get "before".
      if (record.type === 'online') this.connections.delete(conn);
      else this.connections.add(conn);
    }
    const wasOnline = this.connections.size > 0;
    if (record.type === 'online') this.connections.add(conn);
    else this.connections.delete(conn);
    const isOnline = this.connections.size > 0;
    if (wasOnline === isOnline) return;

    const peers = await this.deps.store.directPeers(this.userId);
    if (peers.length === 0) return;
    const out = this.deps.outbox.batch();
    out.toUsers(this.userId, peers, await this.deps.outbox.lookup(peers), presenceFrame(this.userId, isOnline));
    await out.flush();
  }
}
