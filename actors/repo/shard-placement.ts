/**
 * Which repo shards this repo node serves (docs/architecture.md, "Single writer per repo shard").
 *
 * The node registers itself under its lease and watches the registry of live repo nodes. From
 * that list every node computes the ideal owner of every shard by rendezvous hashing
 * (rendezvous.ts) and reconciles towards it:
 *
 * - it claims (create-if-absent, under its lease) every shard it should own; a claim still held
 *   by another node (a previous owner flushing its writes) is tried again when that claim is
 *   deleted, and every `claimRetryMs` in any case;
 * - it hands off every shard it holds but should no longer own (a node joined): the shard leaves
 *   `owned()` at once (intake stops), `onRelease` is awaited (in-flight writes flushed), and only
 *   then is the claim deleted, so the next owner never starts before this one has finished.
 *
 * Reconciliation passes never overlap: a change during a pass makes one more pass after it, so
 * after any sequence of joins and leaves the nodes converge on the rendezvous placement of the
 * nodes then live, each shard held by exactly one of them.
 *
 * A shard's epoch is its claim's create revision; `onAcquire` gets it, and every write the node
 * makes for the shard must carry it (as unit `repo/<shard>`, shard-stores.ts), so that the
 * database refuses the writes of an owner that kept serving after its claim moved.
 *
 * If the lease is lost the node stops serving at once (`owned()` becomes empty, `onRelease` is
 * not called: what it would flush is fenced anyway) and does nothing more; the role must start
 * again with a new lease. `stop()` drains: every shard is flushed and released, then the
 * registration is deleted, and the other nodes claim the shards as their ideal owners change.
 *
 * Each shard is a unit `repo/<shard>` with the lifecycle every unit shares
 * (actors/runtime/unit-lifecycle.ts): claiming → hosted → draining → released, or fenced when it
 * is lost without a hand-off. Claims and releases go through it, so they are retried with backoff,
 * a claim the node's own lease already holds (an answer lost to a timeout) is adopted, and a
 * shard that cannot be claimed or released after its retries, or whose claim another node holds
 * for too long, is escalated (the node exits for its supervisor) instead of being retried in
 * silence. `onAcquire` is called once the node owns a shard, `onRelease` (awaited) while it
 * flushes a shard it hands off.
 */
import type { Coordinator, Lease, WatchEvent, Watcher } from '../../transport/coord/port.js';
import { TroupeError } from '../../transport/errors.js';
import type { Logger } from '../runtime/logger.js';
import { UnitLifecycle, type Escalate, type UnitLifecycleSettings } from '../runtime/unit-lifecycle.js';
import type { UnitProbe, UnitRegistry } from '../runtime/unit-registry.js';
import {
  encodeRepoNode,
  repoClaimKey,
  repoClaimsPrefix,
  repoNodeKey,
  repoNodesPrefix,
  repoShardUnit,
  shardOfClaimKey,
} from './placement-keys.js';
import { idealShards } from './rendezvous.js';

export interface ShardPlacementOptions {
  coord: Coordinator;
  /** This node's lease: its registration and every claim live under it. */
  lease: Lease;
  cluster: string;
  /** Unique among the cluster's repo nodes; no `/`. */
  nodeId: string;
  /** `host:port` of this node's gRPC server, published for routers. */
  address: string;
  /** `http://host:port` of this node's ops listener, published in the registration for `troupe status`. */
  ops?: string;
  /** Number of repo shards; the same on every node of the cluster. */
  shards: number;
  /** Called once the shard is claimed and before it appears in `owned()`. */
  onAcquire?(shard: number, epoch: number): void;
  /** Awaited before a handed-off shard's claim is deleted: flush its writes. */
  onRelease?(shard: number): Promise<void>;
  /** Pause before trying again a claim another node still holds, or a failed call. Default 200. */
  claimRetryMs?: number;
  /** Retries of claims and releases, and how long a claim held elsewhere is waited for. */
  lifecycle?: UnitLifecycleSettings;
  /** Where each shard's state is reported (readiness, `/units`), with its live figures. */
  units?: UnitRegistry;
  probe?(shard: number): UnitProbe;
  /** A shard that cannot be claimed or released after its retries. Default: logged only. */
  onEscalate?: Escalate;
  logger: Logger;
}

type Phase = 'new' | 'running' | 'stopping' | 'stopped' | 'lost';

interface ReadyWaiter {
  resolve: () => void;
  reject: (err: TroupeError) => void;
}

export class ShardPlacement {
  private phase: Phase = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Other live repo nodes, as the registry watch reports them. */
  private readonly peers = new Set<string>();
  /** The shards this node should own among the live nodes it knows. */
  private ideal = new Set<number>();
  /** Claims held, shard -> epoch; includes shards being handed off. */
  private readonly held = new Map<number, number>();
  /** Shards served: held and not being handed off. */
  private readonly serving = new Set<number>();
  /** Shards being claimed: not yet acquired, nor given up. */
  private readonly claiming = new Set<number>();
  /** Each shard's lifecycle (claims, releases, states), made on first use. */
  private readonly lifecycles = new Map<number, UnitLifecycle>();
  private looping = false;
  private dirty = false;
  private reconciling: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private watchers: Watcher[] = [];
  private waiters: ReadyWaiter[] = [];
  private readonly nodesPrefix: string;
  private readonly claimsPrefix: string;
  private readonly nodeKey: string;
  private readonly retryMs: number;
  private readonly log: Logger;

  constructor(private readonly options: ShardPlacementOptions) {
    const { cluster, nodeId, shards } = options;
    if (cluster === '' || nodeId === '' || nodeId.includes('/')) {
      throw new TroupeError('invalid_argument', `invalid cluster or repo node id: ${JSON.stringify({ cluster, nodeId })}`);
    }
    if (!Number.isInteger(shards) || shards < 1) {
      throw new TroupeError('invalid_argument', `shard count must be a positive integer, got ${shards}`);
    }
    this.nodesPrefix = repoNodesPrefix(cluster);
    this.claimsPrefix = repoClaimsPrefix(cluster);
    this.nodeKey = repoNodeKey(cluster, nodeId);
    this.retryMs = options.claimRetryMs ?? 200;
    this.log = options.logger.child({ component: 'shard-placement' });
  }

  /** Shards this node serves now (a live view). Empty once the lease is lost or the node stopped. */
  owned(): ReadonlySet<number> {
    return this.serving;
  }

  /** True while running and serving every shard it should own among the live nodes it knows. */
  ready(): boolean {
    if (this.phase !== 'running') return false;
    for (const shard of this.ideal) if (!this.serving.has(shard)) return false;
    return true;
  }

  /** Resolves once `ready()`; rejects with `closed` if the node stops or loses its lease first. */
  whenReady(): Promise<void> {
    if (this.ready()) return Promise.resolve();
    if (this.phase !== 'new' && this.phase !== 'running') return Promise.reject(this.endedError());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Registers the node and starts reconciling; resolves once registered (not once ready).
   * Rejects (and undoes what it did) when the coordinator fails; calling it again returns the
   * same promise.
   */
  start(): Promise<void> {
    this.starting ??= this.register();
    return this.starting;
  }

  /** Drains (flush and release every shard, delete the registration) and stops watching. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async register(): Promise<void> {
    if (this.phase !== 'new') throw this.endedError();
    const { coord, lease, nodeId, address, ops } = this.options;
    lease.onLost(() => this.onLeaseLost());
    try {
      const { kvs, revision } = await coord.getPrefix(this.nodesPrefix);
      for (const kv of kvs) this.notePeer(kv.key, true);
      this.watchers.push(await coord.watchPrefix(this.nodesPrefix, this.onNodeEvent, revision));
      this.watchers.push(await coord.watchPrefix(this.claimsPrefix, this.onClaimEvent));
      if (this.phase !== 'new') throw this.endedError(); // stopped or lost meanwhile
      await lease.put(this.nodeKey, encodeRepoNode({ nodeId, address, ops }));
      if (this.phase !== 'new') throw this.endedError();
    } catch (err) {
      if (this.phase === 'new') this.phase = 'stopped';
      await this.cancelWatches();
      throw err;
    }
    this.phase = 'running';
    this.recomputeIdeal();
    this.log.info('repo node registered', { nodeId, address, peers: [...this.peers] });
    this.schedule();
  }

  private async drain(): Promise<void> {
    if (this.phase === 'new' || this.phase === 'running') this.phase = 'stopping';
    clearTimeout(this.retryTimer);
    await this.starting?.catch(() => undefined);
    await this.reconciling;
    if (this.phase === 'stopping') {
      const shards = [...this.held.keys()];
      await Promise.all(shards.map((shard) => this.handOff(shard)));
      for (const shard of [...this.claiming]) this.released(shard); // never got: nothing to hand off
      try {
        await this.options.lease.release(this.nodeKey);
      } catch (err) {
        this.log.warn('could not delete the repo node registration; it goes with the lease', { error: String(err) });
      }
      this.phase = 'stopped';
      this.log.info('repo node stopped', { released: shards.length });
    }
    await this.cancelWatches();
    this.rejectWaiters();
  }

  private onLeaseLost(): void {
    if (this.phase === 'stopped' || this.phase === 'lost') return;
    const dropped = [...this.serving];
    const reported = [...new Set([...this.held.keys(), ...this.claiming])];
    this.phase = 'lost';
    this.serving.clear();
    this.held.clear();
    this.claiming.clear();
    for (const shard of reported) this.lifecycleOf(shard).lost('the etcd lease was lost');
    clearTimeout(this.retryTimer);
    this.log.error('lease lost; stopped serving every repo shard', { shards: dropped });
    this.rejectWaiters();
    void this.cancelWatches();
  }

  private readonly onNodeEvent = (event: WatchEvent): void => {
    if (event.type === 'put') this.notePeer(event.kv.key, true);
    else this.notePeer(event.key, false);
    if (this.phase !== 'running') return;
    if (event.type === 'delete' && event.key === this.nodeKey) this.reregister();
    this.recomputeIdeal();
    this.schedule();
  };

  /** A deleted claim may be one this node waits for, or (deleted by someone else) one it held. */
  private readonly onClaimEvent = (event: WatchEvent): void => {
    if (event.type !== 'delete' || this.phase !== 'running') return;
    const shard = shardOfClaimKey(this.claimsPrefix, event.key, this.options.shards);
    if (shard === undefined) return;
    const epoch = this.held.get(shard);
    if (epoch !== undefined && event.modRevision > epoch && this.serving.has(shard)) {
      // Not our own release (a handed-off shard is no longer served): the claim is gone, so is
      // the fence; stop serving before anyone else can start, then claim it again if ideal.
      this.log.error('a held repo shard claim was deleted by someone else; stopped serving it', { shard, epoch });
      this.serving.delete(shard);
      this.held.delete(shard);
      this.lifecycleOf(shard).lost('its claim was deleted by someone else');
    }
    if (this.ideal.has(shard) && !this.serving.has(shard)) this.schedule();
  };

  /** Someone deleted this running node's registration: the others would stop counting it. */
  private reregister(): void {
    const { lease, nodeId, address, ops } = this.options;
    this.log.warn('repo node registration was deleted; registering again', { nodeId });
    lease.put(this.nodeKey, encodeRepoNode({ nodeId, address, ops })).catch((err: unknown) => {
      if (this.phase === 'running') this.log.error('could not register the repo node again', { error: String(err) });
    });
  }

  private notePeer(key: string, live: boolean): void {
    const nodeId = key.slice(this.nodesPrefix.length);
    if (nodeId === '' || nodeId === this.options.nodeId) return;
    if (live) this.peers.add(nodeId);
    else this.peers.delete(nodeId);
  }

  private recomputeIdeal(): void {
    const nodes = [this.options.nodeId, ...this.peers];
    this.ideal = new Set(idealShards(this.options.nodeId, nodes, this.options.shards));
  }

  /** Asks for a pass; passes run one at a time, and changes during one cause one more. */
  private schedule(): void {
    this.dirty = true;
    if (this.looping || this.phase !== 'running') return;
    this.looping = true;
    this.reconciling = this.loop();
  }

  private async loop(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let settled = true;
    try {
      while (this.dirty && this.phase === 'running') {
        this.dirty = false;
        try {
          settled = await this.pass();
        } catch (err) {
          settled = false;
          this.log.error('repo shard reconciliation failed; will retry', { error: String(err) });
        }
        this.resolveWaiters();
      }
    } finally {
      this.looping = false;
    }
    if (this.phase === 'running' && !settled) this.retryLater();
  }

  /** One reconciliation step towards `ideal`; true when nothing is left to try again. */
  private async pass(): Promise<boolean> {
    const ideal = this.ideal;
    for (const shard of [...this.claiming]) if (!ideal.has(shard) && !this.held.has(shard)) this.released(shard);
    const work: Array<Promise<boolean>> = [];
    for (const shard of this.held.keys()) if (!ideal.has(shard)) work.push(this.handOff(shard));
    for (const shard of ideal) if (!this.serving.has(shard)) work.push(this.take(shard));
    const results = await Promise.all(work);
    return results.every(Boolean);
  }

  /** Claims `shard` (or serves again a claim still held); false when it must be tried again. */
  private async take(shard: number): Promise<boolean> {
    const lifecycle = this.lifecycleOf(shard);
    let epoch = this.held.get(shard);
    if (epoch === undefined) {
      this.claiming.add(shard);
      const claimed = await lifecycle.tryClaim(() => this.phase === 'running');
      // Escalated (the node is on its way out): nothing more to try. Otherwise held elsewhere.
      if (claimed === null) return lifecycle.escalated || this.phase !== 'running';
      epoch = claimed;
      if (this.phase === 'lost') return true;
      this.held.set(shard, epoch);
      if (this.phase !== 'running') return true; // stopping: the drain releases it
    }
    this.claiming.delete(shard);
    try {
      this.options.onAcquire?.(shard, epoch);
    } catch (err) {
      this.log.error('onAcquire failed; serving the shard anyway', { shard, epoch, error: String(err) });
    }
    this.serving.add(shard);
    const probe = this.options.probe;
    lifecycle.hosted(probe === undefined ? () => ({ inFlight: 0, oldestInFlightMs: 0, parked: 0 }) : () => probe(shard));
    this.log.debug('repo shard acquired', { shard, epoch });
    return true;
  }

  private lifecycleOf(shard: number): UnitLifecycle {
    let lifecycle = this.lifecycles.get(shard);
    if (lifecycle === undefined) {
      const { cluster, nodeId, address, lease, units, onEscalate } = this.options;
      lifecycle = new UnitLifecycle({
        claimRetryMs: this.retryMs,
        ...this.options.lifecycle,
        unit: repoShardUnit(shard),
        claimKey: repoClaimKey(cluster, shard),
        claimValue: encodeRepoNode({ nodeId, address }),
        lease,
        onEscalate: onEscalate ?? (() => undefined),
        logger: this.log,
        ...(units ? { registry: units } : {}),
      });
      this.lifecycles.set(shard, lifecycle);
    }
    return lifecycle;
  }

  /** Stops serving `shard`, flushes it, then deletes its claim (with retries; escalated if it cannot). */
  private async handOff(shard: number): Promise<boolean> {
    const lifecycle = this.lifecycleOf(shard);
    if (this.serving.delete(shard)) {
      lifecycle.draining();
      try {
        await this.options.onRelease?.(shard);
      } catch (err) {
        // Releasing anyway: the next owner's larger epoch fences any write this node still makes.
        this.log.error('onRelease failed; releasing the shard anyway', { shard, error: String(err) });
      }
    }
    if (this.phase === 'lost') return true;
    await lifecycle.release();
    if (lifecycle.escalated) return true; // the node is on its way out; the claim goes with its lease
    this.held.delete(shard);
    this.claiming.delete(shard);
    this.log.debug('repo shard released', { shard });
    return true;
  }

  /** A shard being claimed is no longer this node's to take. */
  private released(shard: number): void {
    this.claiming.delete(shard);
    this.lifecycleOf(shard).abandon();
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0 || !this.ready()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private rejectWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(this.endedError());
  }

  private endedError(): TroupeError {
    const why = this.phase === 'lost' ? 'lost its lease' : 'was stopped';
    return new TroupeError('closed', `repo shard placement of ${this.options.nodeId} ${why}`);
  }

  private async cancelWatches(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.all(watchers.map((watcher) => watcher.cancel().catch(() => undefined)));
  }
}
