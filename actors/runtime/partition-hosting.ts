/**
 * Runs a PartitionHost for every partition a consumer group assigns to this node, and only
 * while this node holds the partition's claim (docs/architecture.md, "Partition hosting and claims"). Each
 * partition is a unit with the lifecycle of unit-lifecycle.ts:
 *
 * - on assignment, it claims `/troupe/<cluster>/claims/<unitPrefix>/<p>` under the node's lease
 *   before any actor of the partition is activated; the claim's create revision becomes the
 *   fencing epoch that every write of the partition's actors carries;
 * - on revocation, it drains the host (finish in-flight records, commit) and only then releases
 *   the claim;
 * - when an actor finds the unit fenced (a write refused for an older epoch), the host stops
 *   every actor at once and keeps its unfinished records; the unit is released and claimed
 *   again, and with the new epoch fresh actors (state reloaded) take those records again. A
 *   unit fenced `maxFencesPerMinute` times in a minute is escalated instead;
 * - if the lease is lost, every host stops at once without committing.
 *
 * Nothing here throws into the consumer: a partition that cannot be claimed, hosted or released
 * is escalated (`onEscalate`), never left assigned but unhosted in silence.
 */
import { spawnStateless, stop, type Ref } from 'nact';
import type { Lease } from '../../transport/coord/port.js';
import { asTroupeError, TroupeError } from '../../transport/errors.js';
import type { ConsumerListener, GroupConsumer, LogRecord, TopicPartition } from '../../transport/log/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { DeadLetters } from './dead-letters.js';
import type { HostedKind, UnitContext } from './hosted-kind.js';
import type { Logger } from './logger.js';
import { PartitionHost, type SupervisionSettings } from './partition-host.js';
import { UnitLifecycle, type Escalate, type UnitLifecycleSettings } from './unit-lifecycle.js';
import type { UnitRegistry } from './unit-registry.js';

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
  supervision: SupervisionSettings;
  /** Claim and release retries, and how long a claim held elsewhere is waited for. */
  lifecycle?: UnitLifecycleSettings;
  /** Fences of one unit within a minute before it is escalated rather than re-claimed. Default 3. */
  maxFencesPerMinute?: number;
  deadLetters?: DeadLetters;
  /** Where unit states are reported (readiness, `/units`). */
  units?: UnitRegistry;
  /** A unit that cannot be claimed, hosted or released: a cluster node exits for its supervisor. */
  onEscalate: Escalate;
  logger: Logger;
  metrics?: TroupeMetrics;
}

interface Hosted<M> {
  lifecycle: UnitLifecycle;
  /** Mutable: a re-claim after a fence gives it a new epoch, which fresh actors read. */
  context: UnitContext;
  host: PartitionHost<M> | null;
  /** When this unit was fenced, for the escalation window. */
  fences: number[];
  recovering: boolean;
}

export class PartitionHosting<M> implements ConsumerListener {
  private consumer: GroupConsumer | null = null;
  private readonly units = new Map<string, Hosted<M>>();
  private readonly revoked = new Set<string>();
  private readonly root: Ref<unknown>;
  private lost = false;

  constructor(private readonly options: PartitionHostingOptions<M>) {
    this.root = spawnStateless(options.parent, () => undefined, encodeURIComponent(`${options.unitPrefix}-partitions`));
    options.lease.onLost(() => this.onLeaseLost());
  }

  /** Must be called with the consumer before it is started. */
  attach(consumer: GroupConsumer): void {
    this.consumer = consumer;
  }

  /** Records in flight over every hosted partition. */
  get inFlight(): number {
    let sum = 0;
    for (const { host } of this.units.values()) sum += host?.inFlight ?? 0;
    return sum;
  }

  get partitions(): number {
    let count = 0;
    for (const { host } of this.units.values()) if (host !== null) count++;
    return count;
  }

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    await Promise.all(partitions.map((tp) => this.host(tp)));
  }

  async onRevoked(partitions: TopicPartition[]): Promise<void> {
    await Promise.all(partitions.map((tp) => this.unhost(tp)));
  }

  async onRecords(tp: TopicPartition, records: LogRecord[]): Promise<void> {
    // Not hosted (claiming, revoked, lease lost): the records stay uncommitted for whoever hosts next.
    this.units.get(idOf(tp))?.host?.accept(records);
  }

  /** Stops the hosting's actor tree (after the consumer has stopped). */
  close(): void {
    for (const entry of this.units.values()) entry.host?.abandon();
    this.units.clear();
    stop(this.root);
  }

  private async host(tp: TopicPartition): Promise<void> {
    const id = idOf(tp);
    this.revoked.delete(id);
    const unit = `${this.options.unitPrefix}/${tp.partition}`;
    const lifecycle = new UnitLifecycle({
      ...this.options.lifecycle,
      unit,
      claimKey: `/troupe/${this.options.cluster}/claims/${unit}`,
      claimValue: this.options.nodeId,
      lease: this.options.lease,
      onEscalate: this.options.onEscalate,
      logger: this.options.logger,
      ...(this.options.units ? { registry: this.options.units } : {}),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
    });
    const entry: Hosted<M> = { lifecycle, context: { unit, epoch: 0, fence: (reason) => this.fence(tp, reason) }, host: null, fences: [], recovering: false };
    this.units.set(id, entry);
    const epoch = await lifecycle.claim(() => this.wants(id, entry));
    if (epoch === null) return;
    try {
      const consumer = this.consumer;
      if (consumer === null) throw new TroupeError('internal', 'PartitionHosting used before attach()');
      entry.context.epoch = epoch;
      const host = new PartitionHost<M>({
        tp,
        consumer,
        kind: this.options.kind,
        parent: this.root,
        unit: entry.context,
        maxInFlight: this.options.maxInFlight,
        commitIntervalMs: this.options.commitIntervalMs,
        passivateAfterMs: this.options.passivateAfterMs,
        supervision: this.options.supervision,
        logger: this.options.logger,
        ...(this.options.deadLetters ? { deadLetters: this.options.deadLetters } : {}),
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      });
      entry.host = host;
      lifecycle.hosted(() => host.probe());
      this.options.logger.debug('partition hosted', { unit, epoch });
    } catch (raw) {
      lifecycle.escalateHosting(asTroupeError(raw));
    }
  }

  private async unhost(tp: TopicPartition): Promise<void> {
    const id = idOf(tp);
    this.revoked.add(id);
    const entry = this.units.get(id);
    if (entry === undefined) return;
    this.units.delete(id);
    const { host, lifecycle } = entry;
    entry.host = null;
    if (this.lost) return lifecycle.lost();
    lifecycle.draining();
    if (host !== null) {
      // A fenced host's records belong to no epoch: abandoned uncommitted, the next owner replays them.
      if (host.suspended) host.abandon();
      else await host.drain(this.options.drainTimeoutMs);
    }
    if (this.lost) return lifecycle.lost();
    await lifecycle.release();
  }

  /**
   * A write of the unit was refused for an older epoch: stop every actor now (keeping their
   * records), then release and claim again and resume with the new epoch.
   */
  private fence(tp: TopicPartition, reason: string): void {
    const id = idOf(tp);
    const entry = this.units.get(id);
    if (entry === undefined || entry.host === null || entry.recovering) return;
    const now = Date.now();
    entry.fences = entry.fences.filter((at) => at > now - 60_000);
    entry.fences.push(now);
    this.options.logger.error('partition fenced; stopping its actors and claiming it again', { unit: entry.context.unit, epoch: entry.context.epoch, reason });
    entry.host.suspend();
    entry.lifecycle.fenced(reason);
    if (entry.fences.length >= (this.options.maxFencesPerMinute ?? 3)) {
      entry.lifecycle.escalateHosting(new TroupeError('stale_epoch', `fenced ${entry.fences.length} times within a minute: ${reason}`));
      return;
    }
    entry.recovering = true;
    void this.reclaim(id, entry).finally(() => (entry.recovering = false));
  }

  private async reclaim(id: string, entry: Hosted<M>): Promise<void> {
    await entry.lifecycle.release();
    const epoch = await entry.lifecycle.claim(() => this.wants(id, entry));
    const host = entry.host;
    if (epoch === null || host === null || !this.wants(id, entry)) return;
    entry.context.epoch = epoch;
    host.resume();
    entry.lifecycle.hosted(() => host.probe());
    this.options.logger.warn('fenced partition claimed again; its records are taken again', { unit: entry.context.unit, epoch });
  }

  /** Whether this node should still serve the unit: assigned, not revoked, lease held. */
  private wants(id: string, entry: Hosted<M>): boolean {
    return !this.lost && !this.revoked.has(id) && this.units.get(id) === entry;
  }

  private onLeaseLost(): void {
    this.lost = true;
    this.options.logger.error('lease lost; abandoning every hosted partition');
    for (const entry of this.units.values()) {
      entry.host?.abandon();
      entry.host = null;
      entry.lifecycle.lost();
    }
  }
}

function idOf(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}
