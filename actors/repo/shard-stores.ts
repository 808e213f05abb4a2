/**
 * What a repo node serves each storage call with (docs/architecture.md, "Single writer per repo
 * shard"): the store of the call's shard, if the node owns that shard, and nothing otherwise.
 *
 * - **Ownership.** `forKey(key)` throws `not_owner` (retriable: the caller re-routes) unless the
 *   key's shard (`repoShardOf`, the callers' own shard function) is in the placement's `owned()`
 *   and acquired here. A shard being handed off has already left `owned()`, so its new calls are
 *   refused from the first moment of the hand-off. The refusal comes before any work.
 * - **Epoch.** Each acquired shard writes through a view of the database bound to its fence, unit
 *   `repo/<shard>` at the shard's epoch (its claim's create revision): every write transaction
 *   the node makes for the shard checks it, and the first one raises it (`acquire` raises it at
 *   once). An owner that kept serving after its claim moved (paused past its lease, cut off from
 *   etcd) is therefore refused by the database (`stale_epoch`) as soon as the next owner has
 *   written. That refusal is turned into `not_owner` for the caller (the whole transaction was
 *   refused, so nothing was done, and the caller's own unit is not at fault), and the shard stops
 *   being served here (`onFenced`).
 * - **Group commit.** Appends of a shard go through its own GroupCommitStore, over the same view.
 * - **Flush.** `release(shard)` stops serving the shard and waits (up to `drainTimeoutMs`) for
 *   every call of it still in flight, reads and writes alike, queued appends included, so the
 *   claim is deleted only after the old owner's last write. A call that outlives the wait can
 *   still only fail: the next owner's epoch fences it.
 */
import { TroupeError } from '../../transport/errors.js';
import { StaleEpochError, type Fence, type FenceableStore, type FencedBatch, type Store } from '../../transport/store/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from '../runtime/logger.js';
import { GroupCommitStore } from './group-commit-store.js';
import { repoShardOf, repoShardUnit } from './placement-keys.js';

export interface ShardStoresOptions {
  /** The shared database; each shard writes through a view of it bound to the shard's epoch. */
  database: FenceableStore;
  /** Number of repo shards; the same on every node of the cluster. */
  shards: number;
  /** The shards this node owns now (ShardPlacement's `owned()`). */
  owned: () => ReadonlySet<number>;
  /** This node's id, for refusals and logs. */
  nodeId: string;
  batchMaxRows: number;
  batchMaxDelayMs: number;
  /** Longest `release` waits for a shard's calls in flight before letting it go anyway. */
  drainTimeoutMs: number;
  metrics?: TroupeMetrics;
  logger: Logger;
  /** The database refused the shard's own epoch (a newer owner wrote): it is no longer served here. */
  onFenced?(shard: number, epoch: number, err: StaleEpochError): void;
}

export class ShardStores {
  private readonly served = new Map<number, ShardStore>();
  private readonly log: Logger;

  constructor(private readonly options: ShardStoresOptions) {
    this.log = options.logger.child({ component: 'shard-stores' });
  }

  shardOf(key: string): number {
    return repoShardOf(key, this.options.shards);
  }

  /**
   * The store for calls routed by `key`; throws `not_owner` when this node does not own the
   * key's shard (not acquired, being handed off, or fenced).
   */
  forKey(key: string): Store {
    const shard = this.shardOf(key);
    const store = this.served.get(shard);
    if (store === undefined || !this.options.owned().has(shard)) {
      throw new TroupeError('not_owner', `repo node ${this.options.nodeId} does not own shard ${shard} (key ${JSON.stringify(key)}); ask its owner`);
    }
    return store;
  }

  /**
   * Serves `shard` at `epoch` from now on (ShardPlacement's `onAcquire`), and raises the epoch in
   * the database at once: a previous owner still writing is refused from then on, not only from
   * this node's first write.
   */
  acquire(shard: number, epoch: number): void {
    if (this.served.get(shard)?.fence.epoch === epoch) return;
    const { database, nodeId, batchMaxRows, batchMaxDelayMs, metrics } = this.options;
    const fence: Fence = { unit: repoShardUnit(shard), epoch };
    const store = new ShardStore(shard, fence, database.fencedBy([fence]), { nodeId, batchMaxRows, batchMaxDelayMs, metrics }, (err) =>
      this.fenced(store, err),
    );
    this.served.set(shard, store);
    store.raiseEpoch().catch((err: unknown) => {
      // Not fatal: the shard's first write raises it as well.
      if (!(err instanceof TroupeError && err.code === 'not_owner')) {
        this.log.warn('could not raise a repo shard epoch on acquiring it', { shard, epoch, error: String(err) });
      }
    });
  }

  /**
   * Stops serving `shard` and waits for its calls in flight (ShardPlacement's `onRelease`, before
   * the claim is deleted). Resolves whatever happened; never rejects.
   */
  async release(shard: number): Promise<void> {
    const store = this.served.get(shard);
    if (store === undefined) return;
    this.served.delete(shard);
    if (!(await store.drained(this.options.drainTimeoutMs))) {
      this.log.warn("a handed-off repo shard still has calls in flight; releasing it anyway (the next owner's epoch fences their writes)", {
        shard,
        inFlight: store.inFlight,
      });
    }
  }

  /** Calls of `shard` in flight here (for the unit registry's probe). */
  inFlight(shard: number): number {
    return this.served.get(shard)?.inFlight ?? 0;
  }

  private fenced(store: ShardStore, err: StaleEpochError): void {
    if (this.served.get(store.shard) !== store) return; // already released, fenced, or acquired anew
    this.served.delete(store.shard);
    this.log.error('the database refused this node\'s epoch of a repo shard: a newer owner wrote; stopped serving it', {
      shard: store.shard,
      epoch: store.fence.epoch,
      error: err.message,
    });
    this.options.onFenced?.(store.shard, store.fence.epoch, err);
  }
}

interface ShardStoreOptions {
  nodeId: string;
  batchMaxRows: number;
  batchMaxDelayMs: number;
  metrics?: TroupeMetrics;
}

/** One owned shard's store: the epoch-bound view, its group commit, and its calls in flight. */
class ShardStore implements Store {
  inFlight = 0;
  private idle: Array<() => void> = [];
  private readonly commits: GroupCommitStore;

  constructor(
    readonly shard: number,
    readonly fence: Fence,
    private readonly view: Store,
    private readonly options: ShardStoreOptions,
    private readonly onStale: (err: StaleEpochError) => void,
  ) {
    this.commits = new GroupCommitStore(view, {
      shards: 1,
      batchMaxRows: options.batchMaxRows,
      batchMaxDelayMs: options.batchMaxDelayMs,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
  }

  /** A write that carries only the shard's fence: raises its epoch in the database. */
  raiseEpoch(): Promise<void> {
    return this.run(() => this.view.appendMessages([{ unit: this.fence.unit, epoch: this.fence.epoch, messages: [] }]));
  }

  /** True once no call is in flight; false if some still are after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  appendMessages(batches: readonly FencedBatch[]): Promise<void> {
    return this.run(() => this.commits.appendMessages(batches));
  }

  createUser: Store['createUser'] = (u) => this.run(() => this.view.createUser(u));
  getUser: Store['getUser'] = (id) => this.run(() => this.view.getUser(id));
  getUserByUsername: Store['getUserByUsername'] = (name) => this.run(() => this.view.getUserByUsername(name));
  getUsers: Store['getUsers'] = (ids) => this.run(() => this.view.getUsers(ids));
  insertRefreshToken: Store['insertRefreshToken'] = (row) => this.run(() => this.view.insertRefreshToken(row));
  getRefreshToken: Store['getRefreshToken'] = (hash) => this.run(() => this.view.getRefreshToken(hash));
  rotateRefreshToken: Store['rotateRefreshToken'] = (hash, usedAt, next) => this.run(() => this.view.rotateRefreshToken(hash, usedAt, next));
  revokeRefreshFamily: Store['revokeRefreshFamily'] = (family) => this.run(() => this.view.revokeRefreshFamily(family));
  createGroup: Store['createGroup'] = (conv, members) => this.run(() => this.view.createGroup(conv, members));
  getOrCreateDirect: Store['getOrCreateDirect'] = (id, a, b, at) => this.run(() => this.view.getOrCreateDirect(id, a, b, at));
  getConversation: Store['getConversation'] = (id) => this.run(() => this.view.getConversation(id));
  getMembers: Store['getMembers'] = (conv) => this.run(() => this.view.getMembers(conv));
  listMembers: Store['listMembers'] = (conv, after, limit) => this.run(() => this.view.listMembers(conv, after, limit));
  getMember: Store['getMember'] = (conv, user) => this.run(() => this.view.getMember(conv, user));
  listMemberships: Store['listMemberships'] = (user) => this.run(() => this.view.listMemberships(user));
  directPeers: Store['directPeers'] = (user) => this.run(() => this.view.directPeers(user));
  addMembers: Store['addMembers'] = (conv, users, at, fence) => this.run(() => this.view.addMembers(conv, users, at, fence));
  removeMember: Store['removeMember'] = (conv, user, fence) => this.run(() => this.view.removeMember(conv, user, fence));
  listMessages: Store['listMessages'] = (conv, after, limit) => this.run(() => this.view.listMessages(conv, after, limit));
  findByClientIds: Store['findByClientIds'] = (conv, keys) => this.run(() => this.view.findByClientIds(conv, keys));
  advanceReadSeq: Store['advanceReadSeq'] = (conv, user, seq, fence) => this.run(() => this.view.advanceReadSeq(conv, user, seq, fence));
  ping: Store['ping'] = () => this.run(() => this.view.ping());

  /** The node closes the database itself; a shard's store has nothing of its own to close. */
  async close(): Promise<void> {}

  /** Counts the call in flight; turns a refusal of the shard's own epoch into `not_owner`. */
  private run<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight++;
    let promise: Promise<T>;
    try {
      promise = call();
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise.then(
      (value) => {
        this.settled();
        return value;
      },
      (err: unknown) => {
        this.settled();
        throw this.refusal(err);
      },
    );
  }

  private refusal(err: unknown): unknown {
    if (!(err instanceof StaleEpochError)) return err;
    // Every write the database refused for an older epoch: a fenced writer, logic's or this node's.
    this.options.metrics?.writesRefused.inc({ unit: err.unit.split('/')[0] ?? err.unit });
    if (err.unit !== this.fence.unit) return err;
    this.onStale(err);
    return new TroupeError('not_owner', `repo node ${this.options.nodeId} no longer owns shard ${this.shard}: ${err.message}; ask its owner`, { cause: err });
  }

  private settled(): void {
    if (--this.inFlight > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const wake of idle) wake();
  }
}
