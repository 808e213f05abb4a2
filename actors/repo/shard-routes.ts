/**
 * The routing table of logic and gateway nodes: which repo node owns each repo shard, kept
 * current by a watch on the shards' claims (docs/architecture.md, "Single writer per repo shard").
 *
 * `start()` reads every claim and watches from the revision it read them at, so no change falls
 * between the two. A key's shard is `repoShardOf(key, shards)` (placement-keys.ts), the same
 * function by which the repo nodes refuse keys they do not own.
 *
 * The table is a hint, not a lock: between a claim's deletion and the next owner's claim a
 * shard has no address (`resolve` returns undefined: retry later), and a call that reaches a
 * node which has just handed the shard off is refused by it (`not_owner`); the caller then
 * waits for the route to move (`whenMoved`) and sends the call again.
 */
import type { Coordinator, KeyValue, WatchEvent, Watcher } from '../../transport/coord/port.js';
import { TroupeError } from '../../transport/errors.js';
import { decodeRepoNode, repoClaimsPrefix, repoShardOf, shardOfClaimKey } from './placement-keys.js';

export interface ShardRoutesOptions {
  coord: Coordinator;
  cluster: string;
  /** Number of repo shards; the same as the repo nodes'. */
  shards: number;
}

/** The node holding a shard's claim. */
export interface ShardOwner {
  nodeId: string;
  /** `host:port` of the owner's gRPC server. */
  address: string;
  /** The claim's create revision: the owner's fencing epoch for the shard. */
  epoch: number;
}

interface CompleteWaiter {
  resolve: () => void;
  reject: (err: TroupeError) => void;
}

/** A caller waiting for a shard's route to move (see whenMoved). */
interface MoveWaiter {
  moved: () => boolean;
  wake: () => void;
}

export class ShardRoutes {
  private readonly owners: Array<ShardOwner | undefined>;
  private known = 0;
  private watcher: Watcher | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private waiters: CompleteWaiter[] = [];
  private readonly moveWaiters = new Set<MoveWaiter>();
  private readonly prefix: string;

  constructor(private readonly options: ShardRoutesOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) {
      throw new TroupeError('invalid_argument', `shard count must be a positive integer, got ${options.shards}`);
    }
    this.owners = new Array<ShardOwner | undefined>(options.shards).fill(undefined);
    this.prefix = repoClaimsPrefix(options.cluster);
  }

  /** Loads the claims and starts watching them. Calling it again returns the same promise. */
  start(): Promise<void> {
    this.starting ??= this.load();
    return this.starting;
  }

  /** The shard of a key (a conversation id): `repoShardOf(key, shards)`. */
  shardOf(key: string): number {
    return repoShardOf(key, this.options.shards);
  }

  /** Address of the owner of `key`'s shard; undefined while the shard has no owner. */
  readonly resolve = (key: string): string | undefined => this.owners[repoShardOf(key, this.options.shards)]?.address;

  /**
   * Resolves once `key`'s shard has an owner other than `from` (`host:port`; undefined: any
   * owner), or after `withinMs`, or on close: what a caller refused with `not_owner` by `from`
   * waits for before sending its call again. Never rejects.
   */
  whenMoved(key: string, from: string | undefined, withinMs: number): Promise<void> {
    const shard = this.shardOf(key);
    const moved = (): boolean => {
      const address = this.owners[shard]?.address;
      return address !== undefined && address !== from;
    };
    if (this.closed || moved()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: MoveWaiter = {
        moved,
        wake: () => {
          clearTimeout(timer);
          this.moveWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, withinMs);
      this.moveWaiters.add(waiter);
    });
  }

  addressOf(shard: number): string | undefined {
    return this.owners[shard]?.address;
  }

  ownerOf(shard: number): ShardOwner | undefined {
    return this.owners[shard];
  }

  /** Resolves once every shard has an owner; rejects with `closed` if closed first. */
  whenComplete(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (this.known === this.options.shards) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Stops watching. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(closedError());
    for (const waiter of [...this.moveWaiters]) waiter.wake();
    await this.starting?.catch(() => undefined);
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }

  private async load(): Promise<void> {
    if (this.closed) throw closedError();
    const { kvs, revision } = await this.options.coord.getPrefix(this.prefix);
    for (const kv of kvs) this.set(kv);
    const watcher = await this.options.coord.watchPrefix(this.prefix, this.onEvent, revision);
    if (this.closed) {
      await watcher.cancel().catch(() => undefined);
      throw closedError();
    }
    this.watcher = watcher;
    this.settle();
  }

  private readonly onEvent = (event: WatchEvent): void => {
    if (this.closed) return;
    if (event.type === 'put') this.set(event.kv);
    else this.clear(event.key);
    this.settle();
  };

  private set(kv: KeyValue): void {
    const shard = shardOfClaimKey(this.prefix, kv.key, this.options.shards);
    if (shard === undefined) return;
    const node = decodeRepoNode(kv.value);
    if (node === undefined) {
      this.clear(kv.key);
      return;
    }
    if (this.owners[shard] === undefined) this.known++;
    this.owners[shard] = { nodeId: node.nodeId, address: node.address, epoch: kv.createRevision };
  }

  private clear(key: string): void {
    const shard = shardOfClaimKey(this.prefix, key, this.options.shards);
    if (shard === undefined || this.owners[shard] === undefined) return;
    this.owners[shard] = undefined;
    this.known--;
  }

  private settle(): void {
    for (const waiter of [...this.moveWaiters]) if (waiter.moved()) waiter.wake();
    if (this.known !== this.options.shards || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}

function closedError(): TroupeError {
  return new TroupeError('closed', 'the shard routes are closed');
}
