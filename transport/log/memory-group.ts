/**
 * Membership and rebalancing of one consumer group of the in-process log (memory.ts).
 *
 * Rebalances of a group run one at a time. Each computes a range assignment over the members
 * present, then, in two phases: every member first gives up the partitions it loses (awaiting
 * the in-flight batch and its `onRevoked`), and only when all of them have finished does any
 * member receive its new partitions (`onAssigned`, then delivery). So a partition is never held
 * by two members, and its new owner starts after its old owner committed.
 */

import type { TopicPartition } from './port.js';

/** What the group needs of a member (memory-consumer.ts implements it). */
export interface GroupMember {
  readonly topics: readonly string[];
  /** Its id in the group, given at each join (`joined`). */
  readonly memberId: string | null;
  /** Told its id once a join that includes it has been asked for. */
  joined(memberId: string): void;
  /** Told after `evict` removed it from the group (its partitions revoked and reassigned). */
  evicted(): void;
  /** Gives up every assigned partition not in `keep`; resolves after `onRevoked` settled. */
  revokeExcept(keep: readonly TopicPartition[]): Promise<void>;
  /** Takes the partitions of `target` it does not hold yet; resolves after `onAssigned` settled. */
  assign(target: readonly TopicPartition[]): Promise<void>;
}

const NONE: readonly TopicPartition[] = [];

export class ConsumerGroup {
  /** In join order, which is the order of the range assignment. */
  private members: GroupMember[] = [];
  private readonly leaving = new Set<GroupMember>();
  private dirty = false;
  private running: Promise<void> | null = null;
  private joins = 0;

  constructor(
    readonly groupId: string,
    /** Partition count of a topic, or undefined while it does not exist. */
    private readonly partitionCountOf: (topic: string) => number | undefined,
    /** Called when the last member has left and no rebalance is running. */
    private readonly onEmpty: (group: ConsumerGroup) => void,
  ) {}

  /** Adds a member; resolves once a rebalance that includes it has finished. */
  join(member: GroupMember): Promise<void> {
    this.members.push(member);
    member.joined(`${this.groupId}-member-${++this.joins}`);
    return this.rebalance();
  }

  /**
   * Removes the member with this id, as Kafka's coordinator does on a LeaveGroup sent for it;
   * resolves once its partitions are revoked and reassigned. An unknown id does nothing.
   */
  async evict(memberId: string): Promise<void> {
    const member = this.members.find((m) => m.memberId === memberId && !this.leaving.has(m));
    if (member === undefined) return;
    await this.leave(member);
    member.evicted();
  }

  /** Removes a member; resolves once its partitions are revoked and reassigned. */
  leave(member: GroupMember): Promise<void> {
    this.leaving.add(member);
    return this.rebalance();
  }

  subscribesTo(topic: string): boolean {
    return this.members.some((member) => member.topics.includes(topic));
  }

  /**
   * Asks for a rebalance (after a join, a leave or a new topic). Resolves when the group has
   * settled: no rebalance pending that was asked for before this call.
   */
  rebalance(): Promise<void> {
    this.dirty = true;
    this.running ??= this.runUntilSettled();
    return this.running;
  }

  private async runUntilSettled(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await this.pass();
      }
    } finally {
      this.running = null;
      if (this.members.length === 0) this.onEmpty(this);
    }
  }

  private async pass(): Promise<void> {
    const departing = new Set(this.leaving);
    const staying = this.members.filter((member) => !departing.has(member));
    const target = assignRanges(staying, this.partitionCountOf);
    await Promise.all(this.members.map((member) => member.revokeExcept(target.get(member) ?? NONE)));
    this.members = this.members.filter((member) => !departing.has(member));
    for (const member of departing) this.leaving.delete(member);
    await Promise.all(staying.map((member) => member.assign(target.get(member) ?? NONE)));
  }
}

/**
 * Range assignment, per topic: the members subscribed to it, in join order, each take a
 * contiguous run of its partitions, the first `count % members` one more than the rest.
 * Deterministic, so the same membership always gives the same assignment.
 */
export function assignRanges(
  members: readonly GroupMember[],
  partitionCountOf: (topic: string) => number | undefined,
): Map<GroupMember, TopicPartition[]> {
  const target = new Map<GroupMember, TopicPartition[]>();
  const topics = new Set<string>();
  for (const member of members) for (const topic of member.topics) topics.add(topic);
  for (const topic of topics) {
    const count = partitionCountOf(topic);
    if (count === undefined) continue;
    const subscribers = members.filter((member) => member.topics.includes(topic));
    const share = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    let next = 0;
    subscribers.forEach((member, i) => {
      const take = share + (i < extra ? 1 : 0);
      let list = target.get(member);
      if (list === undefined) target.set(member, (list = []));
      for (let p = next; p < next + take; p++) list.push({ topic, partition: p });
      next += take;
    });
  }
  return target;
}
