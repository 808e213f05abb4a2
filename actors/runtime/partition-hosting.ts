/**
 * Runs a PartitionHost for every partition a consumer group assigns to this node, and only
 * while this node holds the partition's claim (DESIGN.md, "Placement through etcd leases"):
 *
 * - on assignment, it claims `/troupe/<cluster>/claims/<unitPrefix>/<p>` under the node's lease
 *   before any actor of the partition is activated; the claim's create revision becomes the
 *   fencing epoch that every write of the partition's actors carries;
 * - on revocation, it drains the host (finish in-flight records, commit) and only then releases
 *   the claim;
 * - if the lease is lost, every host stops at once without committing.
 */
import { spawnStateless, stop, type Ref } from 'nact';
import type { Lease } from '../../transport/coord/port.js';
import { TroupeError } from '../../transport/errors.js';
import type { ConsumerListener, GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from './logger.js';
import { PartitionHost, type HostedKind, type UnitContext } from './partition-host.js';

export interface PartitionHostingOptions<M> {
  /** Name of this hosting, e.g. `upstream`: the claim prefix and the unit name. */
  unitPrefix: string;
  cluster: string;
  nodeId: string;
  lease: Lease;
  kind: HostedKind<M>;
  /** nact parent (the system, or an actor) of the partitions' nodes. */
  parent: Ref<unknown>;
  maxInFlight: number;
  commitIntervalMs: number;
  passivateAfterMs: number;
  /** Longest a revocation waits for in-flight records before abandoning them. */
  drainTimeoutMs: number;
  /** Pause between attempts to take a claim another node still holds. */
  claimRetryMs?: number;
  logger: Logger;
  metrics?: TroupeMetrics;
}

export class PartitionHosting<M> implements ConsumerListener {
  private consumer: GroupConsumer | null = null;
  private readonly hosts = new Map<string, PartitionHost<M>>();
  private readonly claimKeys = new Map<string, string>();
  private readonly revoked = new Set<string>();
  private readonly root: Ref<unknown>;
  private lost = false;

  constructor(private readonly options: PartitionHostingOptions<M>) {
    this.root = spawnStateless(options.parent, () => undefined, `${options.unitPrefix}-partitions`);
    options.lease.onLost(() => this.onLeaseLost());
  }

  /** Must be called with the consumer before it is started. */
  attach(consumer: GroupConsumer): void {
    this.consumer = consumer;
  }

  /** Records in flight over every hosted partition. */
  get inFlight(): number {
    let sum = 0;
    for (const host of this.hosts.values()) sum += host.inFlight;
    return sum;
  }

  get partitions(): number {
    return this.hosts.size;
  }

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    await Promise.all(partitions.map((tp) => this.host(tp)));
  }

  async onRevoked(partitions: TopicPartition[]): Promise<void> {
    await Promise.all(partitions.map((tp) => this.unhost(tp)));
  }

  async onRecords(tp: TopicPartition, records: LogRecord[]): Promise<void> {
    const host = this.hosts.get(idOf(tp));
    if (host === undefined) return; // fenced or revoked: the next owner reads them again
    host.accept(records);
  }

  /** Stops the hosting's actor tree (after the consumer has stopped). */
  close(): void {
    for (const host of this.hosts.values()) host.abandon();
    this.hosts.clear();
    stop(this.root);
  }

  private async host(tp: TopicPartition): Promise<void> {
    const consumer = this.consumer;
    if (consumer === null) throw new TroupeError('internal', 'PartitionHosting used before attach()');
    const id = idOf(tp);
    this.revoked.delete(id);
    const unit = `${this.options.unitPrefix}/${tp.partition}`;
    const key = `/troupe/${this.options.cluster}/claims/${unit}`;
    let claim = await this.options.lease.claim(key, this.options.nodeId);
    // Another node still drains the partition: it releases the claim once it has committed.
    while (claim === null) {
      if (this.lost || this.revoked.has(id)) return;
      await new Promise((resolve) => setTimeout(resolve, this.options.claimRetryMs ?? 200));
      claim = await this.options.lease.claim(key, this.options.nodeId);
    }
    if (this.lost || this.revoked.has(id)) {
      await this.options.lease.release(key);
      return;
    }
    this.claimKeys.set(id, key);
    const context: UnitContext = {
      unit,
      epoch: claim.createRevision,
      fence: (reason) => this.fence(tp, reason),
    };
    this.hosts.set(
      id,
      new PartitionHost<M>({
        tp,
        consumer,
        kind: this.options.kind,
        parent: this.root,
        unit: context,
        maxInFlight: this.options.maxInFlight,
        commitIntervalMs: this.options.commitIntervalMs,
        passivateAfterMs: this.options.passivateAfterMs,
        logger: this.options.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      }),
    );
    this.options.logger.debug('partition hosted', { unit, epoch: claim.createRevision });
  }

  private async unhost(tp: TopicPartition): Promise<void> {
    const id = idOf(tp);
    this.revoked.add(id);
    const host = this.hosts.get(id);
    this.hosts.delete(id);
    if (host !== undefined) await host.drain(this.options.drainTimeoutMs);
    const key = this.claimKeys.get(id);
    this.claimKeys.delete(id);
    if (key !== undefined && !this.lost) await this.options.lease.release(key);
  }

  private fence(tp: TopicPartition, reason: string): void {
    const id = idOf(tp);
    const host = this.hosts.get(id);
    if (host === undefined) return;
    this.options.logger.error('partition fenced; stopping its actors without committing', { partition: tp.partition, reason });
    this.hosts.delete(id);
    host.abandon();
  }

  private onLeaseLost(): void {
    this.lost = true;
    this.options.logger.error('lease lost; abandoning every hosted partition');
    for (const host of this.hosts.values()) host.abandon();
    this.hosts.clear();
  }
}

function idOf(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}
