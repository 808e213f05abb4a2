/**
 * Tells when a peer node's process is gone, so that the survivors can act for it at once rather
 * than wait for its lease and its consumer-group session to run out (docs/architecture.md,
 * "Failover").
 *
 * Every `intervalMs` each known peer is probed (at most one probe per peer in flight). Only a
 * refusal counts as a miss: a dead process's port is refused by the kernel at once, while a
 * stopped, stalled or merely slow process still accepts, or times out, which counts as alive.
 * After `refusals` refusals in a row the peer is declared dead: `onDead` is called once for that
 * registration and the peer is not probed again until it registers anew (another lease or ops
 * address). The node's own id is never monitored.
 */

export interface Peer {
  nodeId: string;
  /** Where it answers /healthz (`http://host:port`): the address probed. */
  ops: string;
  /** The lease its registration and claims live under. */
  leaseId: string;
  /** Its id in its consumer group, once it has joined. */
  memberId?: string;
}

/** `refused`: nothing listens there. `alive`: it accepted, or did not answer in time. */
export type ProbeResult = 'refused' | 'alive';

export interface PeerMonitorOptions {
  selfId: string;
  intervalMs: number;
  /** Consecutive refusals that declare a peer dead. */
  refusals: number;
  probe(ops: string): Promise<ProbeResult>;
  onDead(peer: Peer): void;
}

interface Watched {
  peer: Peer;
  misses: number;
  probing: boolean;
  dead: boolean;
}

export class PeerMonitor {
  private readonly peers = new Map<string, Watched>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PeerMonitorOptions) {
    if (!Number.isInteger(options.refusals) || options.refusals < 1) throw new RangeError(`refusals must be a positive integer, got ${options.refusals}`);
    this.timer = setInterval(() => this.tick(), options.intervalMs);
    this.timer.unref();
  }

  /** A peer registered or changed its registration. */
  update(peer: Peer): void {
    if (this.closed || peer.nodeId === this.options.selfId) return;
    const known = this.peers.get(peer.nodeId);
    if (known !== undefined && known.peer.leaseId === peer.leaseId && known.peer.ops === peer.ops) {
      known.peer = peer; // e.g. a new member id: the same process
      return;
    }
    this.peers.set(peer.nodeId, { peer, misses: 0, probing: false, dead: false });
  }

  /** A peer's registration is gone (it left, or its lease ended). */
  remove(nodeId: string): void {
    this.peers.delete(nodeId);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.peers.clear();
  }

  private tick(): void {
    for (const watched of this.peers.values()) {
      if (watched.dead || watched.probing) continue;
      watched.probing = true;
      const { peer } = watched;
      void this.options
        .probe(peer.ops)
        .catch((): ProbeResult => 'alive')
        .then((result) => {
          watched.probing = false;
          if (this.closed || this.peers.get(peer.nodeId) !== watched || watched.dead) return;
          watched.misses = result === 'refused' ? watched.misses + 1 : 0;
          if (watched.misses < this.options.refusals) return;
          watched.dead = true;
          this.options.onDead(watched.peer);
        });
    }
  }
}
