/**
 * What the conversation actor knows of its conversation: the row, its members and the durable
 * last seq, loaded from the store and kept current by the actor's parts (the send pipeline,
 * membership, read cursors). One instance per actor, shared by its parts; only the actor's
 * message handler touches it, so no two steps change it at once.
 */
import type { ConversationRow, MemberRow, Store } from '../../transport/store/port.js';
import type { SlotDigest } from '../records/types.js';
import { SlotDigests } from '../logic/member-slots.js';

/** The last count's time in this process: each count is later than the one before, within a millisecond too. */
let lastCountedAt = 0;

function countedNow(now: number): number {
  lastCountedAt = Math.max(now, lastCountedAt + 1);
  return lastCountedAt;
}

export class ConversationState {
  conv: ConversationRow | null = null;
  /** userId → member row, in join order. Replaced on every load: read it through the state. */
  members = new Map<string, MemberRow>();
  /** Durable last seq. */
  lastSeq = 0;
  private isLoaded = false;
  /** The digests of the members' task pool slots, made on first use by a large group (member-slots.ts). */
  private slotDigests: SlotDigests | null = null;

  constructor(
    readonly id: string,
    private readonly store: Store,
    /** The clock the slot digests are counted by (SlotDigest.countedAt). */
    private readonly now: () => number = Date.now,
  ) {}

  /** False before the first load and after `invalidate()`: load before the next record. */
  get loaded(): boolean {
    return this.isLoaded;
  }

  async load(): Promise<void> {
    const [conv, members] = await Promise.all([this.store.getConversation(this.id), this.store.getMembers(this.id)]);
    this.conv = conv;
    this.members = new Map(members.map((m) => [m.userId, m]));
    this.lastSeq = conv?.lastSeq ?? 0;
    this.slotDigests = null;
    this.isLoaded = true;
  }

  /** A member joined (written already): O(1), whatever the group's size. */
  addMember(row: MemberRow): void {
    if (this.members.has(row.userId)) return;
    this.members.set(row.userId, row);
    this.slotDigests?.add(row.userId);
  }

  /** A member left (written already): O(1). */
  removeMember(user: string): void {
    if (this.members.delete(user)) this.slotDigests?.remove(user);
  }

  /**
   * The digest of every non-empty slot of a task pool of `poolSize` (kept current by addMember
   * and removeMember; counted again only when the pool size changed or the state was reloaded).
   */
  slots(poolSize: number): SlotDigest[] {
    if (this.slotDigests?.poolSize !== poolSize) this.slotDigests = new SlotDigests(this.members.keys(), poolSize, countedNow(this.now()));
    return this.slotDigests.nonEmpty();
  }

  /**
   * The group is not large now: its digests are counted again (with a new time) when it is
   * next, so the task role reads it again then, rather than trust a copy that missed what
   * changed while the group was small.
   */
  forgetSlots(): void {
    this.slotDigests = null;
  }

  /** A step failed part way: what is held may be stale, so reload before the next record. */
  invalidate(): void {
    this.isLoaded = false;
  }

  /** Messages up to `lastSeq` are durable. */
  advanceSeq(lastSeq: number): void {
    this.lastSeq = lastSeq;
    if (this.conv !== null) this.conv.lastSeq = lastSeq;
  }

  isMember(user: string): boolean {
    return this.conv !== null && this.members.has(user);
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  othersThan(user: string): string[] {
    const others: string[] = [];
    for (const id of this.members.keys()) if (id !== user) others.push(id);
    return others;
  }
}
