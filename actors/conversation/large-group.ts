/**
 * The frames of a large group (more members than `largeGroupThreshold`, read at each use) go
 * out as fanout jobs through the task role instead of from the conversation actor
 * (docs/architecture.md, "Large groups"): the actor never looks up presence for the group nor
 * builds a frame per member. A frame for every member is one job per task pool slot naming no
 * member (the task role holds its own copy of the members, kept current by `members` jobs), so a
 * message, a typing or read signal and a membership change cost the actor O(1) per slot plus
 * O(changed members), whatever the group's size; presence and delivery are the task pool's work.
 */
import { asTroupeError } from '../../transport/errors.js';
import type { FanoutBatch, MemberChange } from '../logic/fanout-jobs.js';
import type { LogicDeps } from '../logic/deps.js';
import { bySlot } from '../logic/member-slots.js';
import { conversationDto } from '../protocol/dto.js';
import type { ConnAddress } from '../records/types.js';
import type { Context } from '../runtime/tracing.js';
import type { ConversationState } from './conversation-state.js';

export interface GroupFrames {
  /** Protocol frames' JSON texts, delivered in this order. */
  frames: string[];
  /** The seq of a `msg` frame (0 otherwise). */
  seq?: number;
  /** Only these users (the added ones, the one who left); every member when absent. */
  to?: Iterable<string>;
  /** The sending connection, which gets the ack instead. */
  except?: ConnAddress;
  /** A member left out entirely (the typing or reading user). */
  exceptUser?: string;
  trace?: Context;
}

export class LargeGroup {
  constructor(
    private readonly state: ConversationState,
    private readonly deps: LogicDeps,
  ) {}

  /** Whether this group's frames go through the task role now. */
  get isLarge(): boolean {
    const large = this.state.members.size > this.deps.settings.largeGroupThreshold;
    if (!large) this.state.forgetSlots();
    return large;
  }

  /** Jobs that push `frames` to every live connection of the members named (or of all). */
  push(jobs: FanoutBatch, group: GroupFrames): void {
    const { conv, seq = 0, frames, except, exceptUser } = { conv: this.state.id, ...group };
    const job = { type: 'fanout' as const, conv, seq, frames, ...(except === undefined ? {} : { except }), ...(exceptUser === undefined ? {} : { exceptUser }) };
    if (group.to === undefined) {
      jobs.addWhole(conv, this.state.slots(this.poolSize), (wholeSlot) => ({ ...job, members: [], wholeSlot }), group.trace);
    } else {
      jobs.add(conv, bySlot(group.to, this.poolSize), this.deps.settings.fanoutChunkSize, (members) => ({ ...job, members }), group.trace);
    }
  }

  /**
   * Jobs that push the `conversation` frame to the members named (or to all), each with its own
   * read cursor: the task role builds the frames. For all members the task role also holds
   * the cursors (they reach it in `members` jobs); for some, the actor reads theirs.
   */
  announce(jobs: FanoutBatch, to?: Iterable<string>): void {
    const conv = this.state.conv;
    if (conv === null) return;
    const { readSeq: _perMember, ...shared } = conversationDto(conv, () => this.state.memberIds(), 0);
    const conversation = JSON.stringify(shared);
    if (to === undefined) {
      jobs.addWhole(conv.id, this.state.slots(this.poolSize), (wholeSlot) => ({ type: 'announce', conv: conv.id, conversation, members: [], readSeqs: [], wholeSlot }));
      return;
    }
    const readSeqOf = (user: string): number => this.state.members.get(user)?.readSeq ?? 0;
    jobs.add(conv.id, bySlot(to, this.poolSize), this.deps.settings.fanoutChunkSize, (members) => ({ type: 'announce', conv: conv.id, conversation, members, readSeqs: members.map(readSeqOf) }));
  }

  /**
   * The job that tells the task role's copy of the group of members who joined or left, or of
   * read cursors that moved; it goes before the jobs added after it, which then see the change.
   */
  change(jobs: FanoutBatch, change: MemberChange): void {
    jobs.addChange(this.state.id, this.poolSize, change);
  }

  /**
   * Produces the jobs (FanoutJobs retries the send). A send that still fails is logged as an
   * error and counted, never thrown: the step it belongs to is durable already, pushes are best
   * effort, and members catch up by seq (`sync`) on their next frame or reconnect.
   */
  async produce(jobs: FanoutBatch, what: string): Promise<void> {
    const count = jobs.size;
    if (count === 0) return;
    try {
      await jobs.flush();
    } catch (raw) {
      this.deps.metrics?.fanoutJobsLost.inc(count);
      this.deps.logger.error('could not produce fanout jobs; members catch up on sync', { conv: this.state.id, what, jobs: count, error: asTroupeError(raw).message });
    }
  }

  private get poolSize(): number {
    return this.deps.settings.taskPoolSize;
  }
}
