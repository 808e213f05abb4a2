/**
 * A task node's copy of the members of the large groups it delivers for (docs/architecture.md,
 * "Large groups"), so that a job for every member of a slot names none of them: logic sends the
 * slot's digest (count and hash, actors/logic/member-slots.ts) and the worker takes the members,
 * with their read cursors, from here.
 *
 * A group's copy is read from the repo in one `getMembers` on first use and then follows the
 * `members` jobs (joins, leaves, moved read cursors), which reach each slot's worker in order
 * between the jobs before and after them. A group is also read again when logic counted its
 * digests anew (it does on loading the group, and after the group was small for a while, when no
 * `members` jobs came): what changed meanwhile, read cursors included, which the digest does not
 * cover, then reaches the copy. Every whole-slot job checks its digest against the copy. A copy that differs is read again, at most once per `reloadAfterMs`: it may be behind
 * (a `members` job was lost, or the group was small for a while and sent none) or ahead (it was
 * read while changes were still on their way), and in between it is used as it is, since both
 * kinds of difference are a member or two joining or leaving around the moment of the change.
 * Joins and leaves are idempotent, and a cursor only moves forward, so replayed jobs are harmless.
 *
 * Memory is bounded: copies are kept for `maxMembers` members in all, least recently used first
 * out, and a copy unused for `idleMs` is dropped.
 */
import type { Store } from '../../transport/store/port.js';
import { slotOf, tallyMember, type SlotTally } from '../logic/member-slots.js';
import type { MembersJobRecord, SlotDigest } from '../records/types.js';

export interface MemberDirectoryOptions {
  /** Members held over all groups before the least recently used group is dropped. Default 2,000,000. */
  maxMembers?: number;
  /** Shortest time between two reads of one group whose digest differs. Default 1,000 ms. */
  reloadAfterMs?: number;
  /** A group's copy unused this long is dropped. Default 10 minutes. */
  idleMs?: number;
  now?: () => number;
  /** Told of every read of a group from the repo, and why. */
  onLoad?: (conv: string, reason: ReadReason, members: number) => void;
}

/** Why a group's members were read from the repo. */
export type ReadReason = 'first use' | 'pool size changed' | 'counted again' | 'digest differs';

/** One slot's members: user id → read cursor. */
export type SlotMembers = ReadonlyMap<string, number>;

interface GroupCopy {
  poolSize: number;
  /** The latest `countedAt` of logic's digests this copy was read for. */
  countedAt: number;
  slots: Map<string, number>[];
  tallies: SlotTally[];
  size: number;
  loadedAt: number;
  usedAt: number;
}

export class MemberDirectory {
  private readonly groups = new Map<string, GroupCopy>();
  private readonly loading = new Map<string, Promise<GroupCopy>>();
  private held = 0;
  private readonly maxMembers: number;
  private readonly reloadAfterMs: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly options: MemberDirectoryOptions = {},
  ) {
    this.maxMembers = options.maxMembers ?? 2_000_000;
    this.reloadAfterMs = options.reloadAfterMs ?? 1000;
    this.idleMs = options.idleMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  /** Members held in all copies. */
  get size(): number {
    return this.held;
  }

  /**
   * The members of `conv`'s slot named by `digest`, read from the repo first when there is no
   * copy, when it was cut for another pool size, or when it differs from the digest and was read
   * over `reloadAfterMs` ago. Rejects when the repo does (the job is retried).
   */
  async slot(conv: string, digest: SlotDigest): Promise<SlotMembers> {
    const now = this.now();
    this.dropIdle(now);
    let copy = this.groups.get(conv);
    if (copy === undefined) copy = await this.load(conv, digest, 'first use');
    else if (copy.poolSize !== digest.poolSize) copy = await this.load(conv, digest, 'pool size changed');
    else if (digest.countedAt > copy.countedAt) copy = await this.load(conv, digest, 'counted again');
    else if (!matches(copy.tallies[digest.slot], digest) && now - copy.loadedAt >= this.reloadAfterMs) copy = await this.load(conv, digest, 'digest differs');
    copy.usedAt = now;
    this.groups.delete(conv); // most recently used last
    this.groups.set(conv, copy);
    return copy.slots[digest.slot] ?? new Map();
  }

  /**
   * Applies a `members` job to the copy of its group, when there is one or one is being read (a
   * group with no copy is read whole on first use, change included).
   */
  apply(job: MembersJobRecord): void {
    const copy = this.groups.get(job.conv);
    if (copy === undefined) {
      // A read in flight may have started before the change was written: apply it after.
      void this.loading.get(job.conv)?.then(
        () => this.apply(job),
        () => undefined,
      );
      return;
    }
    const before = copy.size;
    for (const user of job.added) admit(copy, user, 0);
    for (const user of job.removed) {
      const slot = slotOf(user, copy.poolSize);
      if (!copy.slots[slot]!.delete(user)) continue;
      tallyMember(copy.tallies[slot]!, user, -1);
      copy.size--;
    }
    this.held += copy.size - before;
    for (const { user, seq } of job.cursors) {
      const members = copy.slots[slotOf(user, copy.poolSize)]!;
      const held = members.get(user);
      if (held !== undefined && seq > held) members.set(user, seq);
    }
    this.evictOverBudget(job.conv);
  }

  /**
   * Reads `conv` from the repo once, however many workers ask at the same time; the copy counts
   * as read for the latest `countedAt` any of them asked with.
   */
  private async load(conv: string, digest: SlotDigest, reason: ReadReason): Promise<GroupCopy> {
    let pending = this.loading.get(conv);
    if (pending === undefined) {
      pending = this.read(conv, digest.poolSize, reason).finally(() => this.loading.delete(conv));
      this.loading.set(conv, pending);
    }
    const copy = await pending;
    copy.countedAt = Math.max(copy.countedAt, digest.countedAt);
    return copy;
  }

  private async read(conv: string, poolSize: number, reason: ReadReason): Promise<GroupCopy> {
    const rows = await this.store.getMembers(conv);
    const now = this.now();
    const copy: GroupCopy = {
      poolSize,
      countedAt: 0,
      slots: Array.from({ length: poolSize }, () => new Map<string, number>()),
      tallies: Array.from({ length: poolSize }, () => ({ count: 0, hash: 0 })),
      size: 0,
      loadedAt: now,
      usedAt: now,
    };
    for (const row of rows) admit(copy, row.userId, row.readSeq);
    const old = this.groups.get(conv);
    if (old !== undefined) this.drop(conv, old);
    this.groups.set(conv, copy);
    this.held += copy.size;
    this.options.onLoad?.(conv, reason, copy.size);
    this.evictOverBudget(conv);
    return copy;
  }

  /** Least recently used copies out until the budget holds (never `keep`, the one in use). */
  private evictOverBudget(keep: string): void {
    for (const [conv, copy] of this.groups) {
      if (this.held <= this.maxMembers) return;
      if (conv !== keep) this.drop(conv, copy);
    }
  }

  private dropIdle(now: number): void {
    for (const [conv, copy] of this.groups) {
      if (now - copy.usedAt < this.idleMs) return; // in use order: the rest are newer
      this.drop(conv, copy);
    }
  }

  private drop(conv: string, copy: GroupCopy): void {
    this.groups.delete(conv);
    this.held -= copy.size;
  }
}

/** Adds `user` to its slot of `copy` with `readSeq`, unless it is there already. */
function admit(copy: GroupCopy, user: string, readSeq: number): void {
  const slot = slotOf(user, copy.poolSize);
  const members = copy.slots[slot]!;
  if (members.has(user)) return;
  members.set(user, readSeq);
  tallyMember(copy.tallies[slot]!, user, 1);
  copy.size++;
}

function matches(tally: SlotTally | undefined, digest: SlotDigest): boolean {
  return tally !== undefined && tally.count === digest.count && tally.hash === digest.hash;
}
