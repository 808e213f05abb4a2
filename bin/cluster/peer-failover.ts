/**
 * The fast path of failover (docs/architecture.md, "Failover"): a logic or task node watches the
 * registrations of its role's other nodes (`/troupe/<cluster>/nodes/<role>/`), probes each one's
 * ops port with a TCP connect (actors/runtime/peer-monitor.ts decides), and for a peer whose
 * process is gone revokes its etcd lease (its claims vanish now, not a TTL later) and evicts its
 * member from the consumer group (Kafka rebalances now, not a session timeout later). Every
 * survivor does this; both steps are idempotent.
 */
import { connect } from 'node:net';
import { PeerMonitor, type Peer, type ProbeResult } from '../../actors/runtime/peer-monitor.js';
import type { Logger } from '../../actors/runtime/logger.js';
import type { TroupeConfig } from '../../config/types.js';
import type { Coordinator, KeyValue, Watcher } from '../../transport/coord/port.js';
import { asTroupeError } from '../../transport/errors.js';
import { decodeNodeRegistration } from './node-registration.js';

export interface PeerFailoverOptions {
  config: TroupeConfig;
  role: 'logic' | 'task';
  coord: Coordinator;
  /** Drops a member from this role's consumer group. */
  evict(memberId: string): Promise<void>;
  logger: Logger;
}

export interface PeerFailover {
  close(): Promise<void>;
}

/**
 * A TCP connect to the host and port of an `http://host:port` URL. Only ECONNREFUSED is a
 * refusal: a timeout (a stopped or overloaded process whose kernel still queues the connection)
 * or any other error counts as alive, so that nothing but a closed port declares a node dead.
 */
export function probeTcp(url: string, timeoutMs: number): Promise<ProbeResult> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  } catch {
    return Promise.resolve('alive');
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('alive'), timeoutMs);
    socket.once('connect', () => done('alive'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'alive'));
  });
}

function peerOf(kv: KeyValue, prefix: string): Peer | null {
  if (kv.leaseId === undefined) return null;
  const { ops, member } = decodeNodeRegistration(kv.value);
  if (ops === undefined) return null; // not probed before it advertises where it listens
  return { nodeId: kv.key.slice(prefix.length), ops, leaseId: kv.leaseId, ...(member === undefined ? {} : { memberId: member }) };
}

export async function startPeerFailover(options: PeerFailoverOptions): Promise<PeerFailover> {
  const { config, role, coord, logger } = options;
  const prefix = `/troupe/${config.node.cluster}/nodes/${role}/`;
  const interval = config.cluster.peerProbeIntervalMs;
  const monitor = new PeerMonitor({
    selfId: config.node.id,
    intervalMs: interval,
    refusals: config.cluster.peerProbeRefusals,
    probe: (ops) => probeTcp(ops, interval),
    onDead: (peer) => void actFor(peer),
  });
  const actFor = async (peer: Peer): Promise<void> => {
    const started = Date.now();
    const [lease, member] = await Promise.allSettled([
      coord.revokeLease(peer.leaseId),
      peer.memberId === undefined ? Promise.resolve() : options.evict(peer.memberId),
    ]);
    const problem = (r: PromiseSettledResult<void>): string | undefined => (r.status === 'rejected' ? asTroupeError(r.reason).message : undefined);
    logger.warn('peer is gone (ops port refused); revoked its lease and evicted its group member', {
      peer: peer.nodeId,
      ops: peer.ops,
      lease: peer.leaseId,
      member: peer.memberId ?? null,
      tookMs: Date.now() - started,
      ...(problem(lease) === undefined ? {} : { leaseError: problem(lease) }),
      ...(problem(member) === undefined ? {} : { evictError: problem(member) }),
    });
  };
  const onKv = (kv: KeyValue): void => {
    const peer = peerOf(kv, prefix);
    if (peer !== null) monitor.update(peer);
  };
  let watcher: Watcher;
  try {
    const { kvs, revision } = await coord.getPrefix(prefix);
    for (const kv of kvs) onKv(kv);
    watcher = await coord.watchPrefix(
      prefix,
      (event) => (event.type === 'put' ? onKv(event.kv) : monitor.remove(event.key.slice(prefix.length))),
      revision,
    );
  } catch (err) {
    monitor.close();
    throw err;
  }
  return {
    close: async () => {
      monitor.close();
      await watcher.cancel().catch(() => undefined);
    },
  };
}
