/**
 * A large group's members split over the task pool's slots (`task.poolSize`), by a hash of the
 * user id (docs/architecture.md, "Large groups"). A member's slot never changes as others join
 * or leave, and every job of one slot of one conversation is keyed `<conv>#<slot>`: one fanout
 * worker takes them in the order they were produced, so each member gets the group's frames in
 * order, while the slots of one group are delivered in parallel by different workers.
 */
import { partitionFor } from '../../transport/log/partitioner.js';

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
 * Every member of one group by slot, built once from the member list and then kept current
 * member by member: a join costs one push, a leave one search of its slot.
 */
export class MemberSlots {
  readonly slots: string[][];

  constructor(
    members: Iterable<string>,
    readonly poolSize: number,
  ) {
    this.slots = bySlot(members, poolSize);
  }

  add(user: string): void {
    this.slots[slotOf(user, this.poolSize)]!.push(user);
  }

  remove(user: string): void {
    const slot = this.slots[slotOf(user, this.poolSize)]!;
    const at = slot.indexOf(user);
    if (at >= 0) slot.splice(at, 1);
  }
}
