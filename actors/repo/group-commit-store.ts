/**
 * The database store with message writes group-committed per repo shard (docs/architecture.md,
 * "Group commit": up to a few milliseconds or a few hundred rows per insert): embedded mode's
 * store, and each repo shard's (shard-stores.ts).
 *
 * A conversation belongs to shard `repoShardOf(conv, shards)`. Each shard has at most one
 * write in flight; appends that arrive meanwhile wait and go together in the next transaction
 * (up to `batchMaxRows`). A shard also starts its transactions at least `batchMaxDelayMs` apart:
 * an append that comes sooner after the last start waits out the rest (unless a full batch is
 * already queued), so a busy shard commits at most 1000 / batchMaxDelayMs times a second however
 * fast each commit is, and an idle one writes at once. A commit's cost is mostly fixed (the
 * fsync, the journal's page writes), so spreading it over more rows is most of what a busy
 * store can save; the added wait is bounded by batchMaxDelayMs and only paid under load. If a combined write fails, each caller's part is retried on its own so
 * that one caller's stale epoch or conflict never fails another's messages; but a stale epoch
 * of a unit none of the callers carry is the store's own bound fence (a repo node's shard
 * epoch, shard-stores.ts), which every part would hit alike, so it fails them all at once.
 *
 * Everything else passes through to the database store unchanged.
 */
import { StaleEpochError, type FencedBatch, type Store } from '../../transport/store/port.js';
import type { TroupeMetrics } from '../metrics.js';
import { repoShardOf } from './placement-keys.js';

interface Waiting {
  batches: readonly FencedBatch[];
  rows: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Shard {
  waiting: Waiting[];
  /** Rows in `waiting`. */
  queuedRows: number;
  writing: boolean;
  /** When (performance.now()) the shard's newest transaction started. */
  lastStart: number;
  /** Ends the wait before the next transaction early (set while the shard paces). */
  wake: (() => void) | null;
  /** Called once the shard has nothing queued or being written. */
  idle: Array<() => void>;
}

export interface GroupCommitOptions {
  shards: number;
  batchMaxRows: number;
  /** Shortest time between the starts of two transactions of one shard; 0 writes at once. */
  batchMaxDelayMs: number;
  metrics?: TroupeMetrics;
}

export class GroupCommitStore implements Store {
  private readonly shards: Shard[];

  constructor(
    private readonly inner: Store,
    private readonly options: GroupCommitOptions,
  ) {
    this.shards = Array.from({ length: options.shards }, () => ({ waiting: [], queuedRows: 0, writing: false, lastStart: -Infinity, wake: null, idle: [] }));
  }

  appendMessages(batches: readonly FencedBatch[]): Promise<void> {
    if (batches.length === 0) return Promise.resolve();
    const first = batches[0]?.messages[0];
    // Batches without messages are epoch checks: straight to the store, which fences them.
    if (first === undefined) return this.inner.appendMessages(batches);
    const shard = this.shards[repoShardOf(first.conv, this.options.shards)] as Shard;
    let rows = 0;
    for (const b of batches) rows += b.messages.length;
    return new Promise<void>((resolve, reject) => {
      shard.waiting.push({ batches, rows, resolve, reject });
      shard.queuedRows += rows;
      if (shard.writing) {
        if (shard.wake !== null && shard.queuedRows >= this.options.batchMaxRows) shard.wake();
        return;
      }
      shard.writing = true;
      // On the next microtask at the earliest, so that appends made in the same turn go together.
      queueMicrotask(() => void this.write(shard));
    });
  }

  /** How long the shard's next transaction must still wait (0: it may start now). */
  private paceWait(shard: Shard): number {
    if (shard.queuedRows >= this.options.batchMaxRows) return 0;
    return Math.max(0, shard.lastStart + this.options.batchMaxDelayMs - performance.now());
  }

  /** Waits `ms`, or less if a full batch queues up meanwhile. */
  private pause(shard: Shard, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => shard.wake?.(), ms);
      shard.wake = () => {
        clearTimeout(timer);
        shard.wake = null;
        resolve();
      };
    });
  }

  private async write(shard: Shard): Promise<void> {
    try {
      while (shard.waiting.length > 0) {
        const wait = this.paceWait(shard);
        if (wait > 0) await this.pause(shard, wait);
        shard.lastStart = performance.now();
        const group: Waiting[] = [];
        let rows = 0;
        while (shard.waiting.length > 0 && (group.length === 0 || rows + (shard.waiting[0] as Waiting).rows <= this.options.batchMaxRows)) {
          const next = shard.waiting.shift() as Waiting;
          group.push(next);
          rows += next.rows;
        }
        shard.queuedRows -= rows;
        this.options.metrics?.storeBatchRows.observe(rows);
        try {
          await this.inner.appendMessages(group.flatMap((w) => w.batches));
          for (const w of group) w.resolve();
        } catch (err) {
          if (group.length === 1 || isOwnFence(err, group)) for (const w of group) w.reject(err);
          else await Promise.all(group.map((w) => this.inner.appendMessages(w.batches).then(w.resolve, w.reject)));
        }
      }
    } finally {
      shard.writing = false;
      for (const resolve of shard.idle.splice(0)) resolve();
    }
  }

  /**
   * Resolves once shard `n` (of `repoShardOf(conv, shards)`) has written everything queued so
   * far: a repo node awaits it before handing the shard to another node.
   */
  flushed(n: number): Promise<void> {
    const shard = this.shards[n];
    if (shard === undefined || !shard.writing) return Promise.resolve();
    return new Promise((resolve) => shard.idle.push(resolve));
  }

  // ---- everything else goes straight to the database store
  createUser: Store['createUser'] = (u) => this.inner.createUser(u);
  getUser: Store['getUser'] = (id) => this.inner.getUser(id);
  getUserByUsername: Store['getUserByUsername'] = (name) => this.inner.getUserByUsername(name);
  getUsers: Store['getUsers'] = (ids) => this.inner.getUsers(ids);
  insertRefreshToken: Store['insertRefreshToken'] = (row) => this.inner.insertRefreshToken(row);
  getRefreshToken: Store['getRefreshToken'] = (hash) => this.inner.getRefreshToken(hash);
  rotateRefreshToken: Store['rotateRefreshToken'] = (hash, usedAt, next) => this.inner.rotateRefreshToken(hash, usedAt, next);
  revokeRefreshFamily: Store['revokeRefreshFamily'] = (family) => this.inner.revokeRefreshFamily(family);
  createGroup: Store['createGroup'] = (conv, members) => this.inner.createGroup(conv, members);
  getOrCreateDirect: Store['getOrCreateDirect'] = (id, a, b, at) => this.inner.getOrCreateDirect(id, a, b, at);
  getConversation: Store['getConversation'] = (id) => this.inner.getConversation(id);
  getMembers: Store['getMembers'] = (conv) => this.inner.getMembers(conv);
  listMembers: Store['listMembers'] = (conv, after, limit) => this.inner.listMembers(conv, after, limit);
  getMember: Store['getMember'] = (conv, user) => this.inner.getMember(conv, user);
  listMemberships: Store['listMemberships'] = (user) => this.inner.listMemberships(user);
  directPeers: Store['directPeers'] = (user) => this.inner.directPeers(user);
  addMembers: Store['addMembers'] = (conv, users, at, fence) => this.inner.addMembers(conv, users, at, fence);
  removeMember: Store['removeMember'] = (conv, user, fence) => this.inner.removeMember(conv, user, fence);
  listMessages: Store['listMessages'] = (conv, after, limit) => this.inner.listMessages(conv, after, limit);
  findByClientIds: Store['findByClientIds'] = (conv, keys) => this.inner.findByClientIds(conv, keys);
  advanceReadSeq: Store['advanceReadSeq'] = (conv, user, seq, fence) => this.inner.advanceReadSeq(conv, user, seq, fence);
  ping: Store['ping'] = () => this.inner.ping();
  close: Store['close'] = () => this.inner.close();
}

/** A stale epoch of a unit that none of `group`'s batches carry: the store's own bound fence. */
function isOwnFence(err: unknown, group: readonly Waiting[]): boolean {
  if (!(err instanceof StaleEpochError)) return false;
  return !group.some((w) => w.batches.some((b) => b.unit === err.unit));
}
