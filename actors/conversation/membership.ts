/**
 * The conversation actor's membership records: members_add and member_remove (owner-checked,
 * written through the store, then announced), and the announcement of a new conversation to
 * its members. A `conversation` frame goes only to members online now.
 *
 * A large group's announcements and member frames go out as fanout jobs (large-group.ts): the
 * actor then touches only the changed members (a change job tells the task role's copy of the
 * group first), and never lists the group's members nor looks them up in presence.
 */
import type { PresenceEntry } from '../../transport/presence/port.js';
import type { LogicDeps } from '../logic/deps.js';
import type { OutboxBatch } from '../logic/outbox.js';
import { conversationDto } from '../protocol/dto.js';
import { conversationFrame, memberFrame } from '../protocol/frames.js';
import type { MemberRemoveRecord, MembersAddRecord, ReplyAddress } from '../records/types.js';
import type { UnitContext } from '../runtime/hosted-kind.js';
import type { ConversationState } from './conversation-state.js';
import { fencedWrite } from './fenced-write.js';
import { LargeGroup } from './large-group.js';

/**
 * Flushes `out`, then calls every `dones` whatever happened (the actor's delivery); with
 * `alongside` (fanout jobs being produced), only once that has settled too.
 */
export type FlushThen = (out: OutboxBatch, dones: Array<() => void>, alongside?: Promise<void>) => Promise<void>;

export class Membership {
  private readonly large: LargeGroup;

  constructor(
    private readonly state: ConversationState,
    private readonly deps: LogicDeps,
    /** The actor's unit: member writes carry its fence (fenced-write.ts). */
    private readonly unit: UnitContext,
    private readonly flushThen: FlushThen,
  ) {
    this.large = new LargeGroup(state, deps);
  }

  async handleMembersAdd(record: MembersAddRecord, done: () => void): Promise<void> {
    const id = this.state.id;
    const out = this.deps.outbox.batch();
    const conv = this.state.conv;
    const refuse = (code: string, message: string): Promise<void> => this.refuseRequest(out, record.reply, done, code, message);
    if (conv === null || !this.state.isMember(record.actor)) return refuse('not_found', 'no such conversation');
    if (conv.type === 'direct') return refuse('invalid_argument', 'members: a direct conversation has no members to add');
    if (conv.ownerId !== record.actor) return refuse('forbidden', 'only the owner adds members');
    const candidates = [...new Set(record.members)].filter((user) => !this.state.members.has(user));
    if (candidates.length > 0) {
      const existing = new Set((await this.deps.store.getUsers(candidates)).map((u) => u.id));
      const unknown = candidates.find((user) => !existing.has(user));
      if (unknown !== undefined) return refuse('not_found', `members: no user ${unknown}`);
      if (this.state.members.size + candidates.length > this.deps.settings.maxMembers) {
        return refuse('invalid_argument', `members: a group holds at most ${this.deps.settings.maxMembers} members`);
      }
    }
    const now = (this.deps.now ?? Date.now)();
    const added = candidates.length > 0 ? await fencedWrite(this.unit, `conversation ${id}`, (fence) => this.deps.store.addMembers(id, candidates, now, fence)) : [];
    for (const user of added) this.state.addMember({ userId: user, readSeq: 0, joinedAt: now });
    conv.memberCount = this.state.members.size;
    out.reply(record.reply, conversationDto(conv, () => this.state.memberIds(), this.state.members.get(record.actor)?.readSeq ?? 0));
    if (added.length === 0) return this.flushThen(out, [done]);
    // The added users learn of the conversation, everyone else of its change; then every
    // member hears who joined.
    const joined = added.map((user) => memberFrame(id, 'joined', user));
    if (this.large.isLarge) {
      // The answer goes first: a 100,000-member group's jobs take a while to build.
      await this.flushThen(out, []);
      const jobs = this.deps.fanout.batch();
      this.large.change(jobs, { added });
      this.large.announce(jobs);
      this.large.push(jobs, { frames: joined });
      return this.flushThen(this.deps.outbox.batch(), [done], this.large.produce(jobs, 'members joined'));
    }
    const memberIds = this.state.memberIds();
    const online = await this.deps.outbox.lookup(memberIds);
    this.announceTo(out, memberIds, memberIds, online);
    for (const frame of joined) out.toUsers(id, memberIds, online, frame);
    return this.flushThen(out, [done]);
  }

  async handleMemberRemove(record: MemberRemoveRecord, done: () => void): Promise<void> {
    const id = this.state.id;
    const out = this.deps.outbox.batch();
    const conv = this.state.conv;
    const refuse = (code: string, message: string): Promise<void> => this.refuseRequest(out, record.reply, done, code, message);
    if (conv === null || !this.state.isMember(record.actor)) return refuse('not_found', 'no such conversation');
    if (conv.type === 'direct') return refuse('invalid_argument', 'userId: members of a direct conversation cannot be removed');
    if (record.actor !== record.user && conv.ownerId !== record.actor) return refuse('forbidden', 'only the owner removes other members');
    if (!this.state.members.has(record.user)) return refuse('not_found', 'no such member');
    const updated = await fencedWrite(this.unit, `conversation ${id}`, (fence) => this.deps.store.removeMember(id, record.user, fence));
    if (updated === null) return refuse('not_found', 'no such member');
    this.state.removeMember(record.user);
    this.state.conv = { ...updated, lastSeq: this.state.lastSeq };
    out.reply(record.reply, null);
    const left = memberFrame(id, 'left', record.user);
    if (this.large.isLarge) {
      // The answer first, as above. The one who left hears it too; then the rest see the changed
      // conversation (maybe its owner).
      await this.flushThen(out, []);
      const jobs = this.deps.fanout.batch();
      this.large.change(jobs, { removed: [record.user] });
      this.large.push(jobs, { frames: [left] });
      this.large.push(jobs, { frames: [left], to: [record.user] });
      this.large.announce(jobs);
      return this.flushThen(this.deps.outbox.batch(), [done], this.large.produce(jobs, 'member left'));
    }
    const remaining = this.state.memberIds();
    const online = await this.deps.outbox.lookup([...remaining, record.user]);
    out.toUsers(id, [...remaining, record.user], online, left);
    this.announceTo(out, remaining, remaining, online); // its member list (and maybe owner) changed
    return this.flushThen(out, [done]);
  }

  /** A conversation was created: every member but its creator hears of it. */
  async announceConversation(creator: string, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const conv = this.state.conv;
    if (conv === null) return this.flushThen(out, [done]);
    const others = this.state.othersThan(creator);
    if (this.large.isLarge) {
      const jobs = this.deps.fanout.batch();
      this.large.announce(jobs, others);
      return this.flushThen(out, [done], this.large.produce(jobs, 'conversation created'));
    }
    this.announceTo(out, others, this.state.memberIds(), await this.deps.outbox.lookup(others));
    return this.flushThen(out, [done]);
  }

  /**
   * A `conversation` frame to each of `recipients` (each with its own read cursor), showing
   * `memberIds` as the member list.
   */
  private announceTo(out: OutboxBatch, recipients: readonly string[], memberIds: readonly string[], online: Map<string, PresenceEntry[]>): void {
    const conv = this.state.conv;
    if (conv === null) return;
    for (const user of recipients) {
      if (!online.has(user)) continue;
      out.toUsers(this.state.id, [user], online, conversationFrame(conversationDto(conv, memberIds, this.state.members.get(user)?.readSeq ?? 0)));
    }
  }

  private refuseRequest(out: OutboxBatch, reply: ReplyAddress, done: () => void, code: string, message: string): Promise<void> {
    out.replyError(reply, code, message);
    return this.flushThen(out, [done]);
  }
}
