/**
 * A large group's members split over the task pool's slots (`task.poolSize`), by a hash of the
 * user id (docs/architecture.md, "Large groups"). A member's slot never changes as others join
 * or leave, and every job of one slot of one conversation is keyed `<conv>#<slot>`: one fanout
 * worker takes them in the order they were produced, so each member gets the group's frames in
 * order, while the slots of one group are delivered in parallel by different workers.
 *
 * Logic does not keep the slots' member lists: a job for a whole slot carries the slot's digest
 * (member count and an order-free hash of the ids), and the task role delivers to its own copy of
 * the slot's members, which it reads from the repo again when the digests differ. Both sides
 * keep their digests current member by member, so a join or a leave costs logic O(1).
 */
import { partitionFor } from '../../transport/log/partitioner.js';
import type { SlotDigest } from '../records/types.js';

/** The slot of a member: Kafka's murmur2 rule over the pool size, like every other key here. */
export function slotOf(user: string, poolSize: number): number {
  return partitionFor(user, poolSize);
}

/** The task-topic key of one slot of one conversation's jobs. */
export function slotKey(conv: string, slot: number): string {
  return `${conv}#${slot}`;
}

/** `users` grouped by slot (each group in the order given). */
export function bySlot(users: Iterable<string>, poolSize: number): string[][] {
  const slots: string[][] = Array.from({ length: poolSize }, () => []);
  for (const user of users) slots[slotOf(user, poolSize)]!.push(user);
  return slots;
}

/**
 * The 32-bit FNV-1a hash of a user id's UTF-16 code units. A slot's hash is the XOR of its
 * members' hashes, so adding and removing a member are each one XOR, in any order. It differs
 * from the slot rule (murmur2) so that the ids of one slot do not share low bits.
 */
export function memberHash(user: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Count and hash of one slot, changed in place. */
export interface SlotTally {
  count: number;
  hash: number;
}

/** Counts `user` in (`sign` 1) or out (`sign` -1) of `tally`. */
export function tallyMember(tally: SlotTally, user: string, sign: 1 | -1): void {
  tally.count += sign;
  tally.hash = (tally.hash ^ memberHash(user)) >>> 0;
}

/**
 * The digests of every slot of one group, built once from the member list and then kept current
 * member by member: a join or a leave is one XOR and one count.
 */
export class SlotDigests {
  private readonly tallies: SlotTally[];

  constructor(
    members: Iterable<string>,
    readonly poolSize: number,
    /** When they were counted (SlotDigest.countedAt). */
    readonly countedAt: number = Date.now(),
  ) {
    this.tallies = Array.from({ length: poolSize }, () => ({ count: 0, hash: 0 }));
    for (const user of members) this.add(user);
  }

  add(user: string): void {
    tallyMember(this.tallies[slotOf(user, this.poolSize)]!, user, 1);
  }

  remove(user: string): void {
    tallyMember(this.tallies[slotOf(user, this.poolSize)]!, user, -1);
  }

  /** The digest of every slot that holds members. */
  nonEmpty(): SlotDigest[] {
    const digests: SlotDigest[] = [];
    for (const [slot, tally] of this.tallies.entries()) {
      if (tally.count > 0) digests.push({ slot, poolSize: this.poolSize, count: tally.count, hash: tally.hash, countedAt: this.countedAt });
    }
    return digests;
  }
}
