/**
 * The frames of a large group (more members than `largeGroupThreshold`, read at each use) go
 * out as fanout jobs through the task role instead of from the conversation actor
 * (docs/architecture.md, "Large groups"): the actor never looks up presence for the group nor
 * builds a frame per member, so a message, a typing or read signal, and a membership change cost
 * it the jobs' member ids and nothing per member beyond; presence and delivery are the task
 * pool's work.
 */
import { asTroupeError } from '../../transport/errors.js';
import type { FanoutBatch } from '../logic/fanout-jobs.js';
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
    return this.state.members.size > this.deps.settings.largeGroupThreshold;
  }

  /** Jobs that push `frames` to every live connection of the members named (or of all). */
  push(jobs: FanoutBatch, group: GroupFrames): void {
    const { conv, seq = 0, frames, except, exceptUser } = { conv: this.state.id, ...group };
    jobs.add(
      conv,
      this.slotsOf(group.to),
      this.deps.settings.fanoutChunkSize,
      (members) => ({ type: 'fanout', conv, seq, frames, members, ...(except === undefined ? {} : { except }), ...(exceptUser === undefined ? {} : { exceptUser }) }),
      group.trace,
    );
  }

  /**
   * Jobs that push the `conversation` frame to the members named (or to all), each with its own
   * read cursor: the task role builds the frames, the actor only reads the cursors.
   */
  announce(jobs: FanoutBatch, to?: Iterable<string>): void {
    const conv = this.state.conv;
    if (conv === null) return;
    const { readSeq: _perMember, ...shared } = conversationDto(conv, () => this.state.memberIds(), 0);
    const conversation = JSON.stringify(shared);
    const readSeqOf = (user: string): number => this.state.members.get(user)?.readSeq ?? 0;
    jobs.add(conv.id, this.slotsOf(to), this.deps.settings.fanoutChunkSize, (members) => ({ type: 'announce', conv: conv.id, conversation, members, readSeqs: members.map(readSeqOf) }));
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

  private slotsOf(users: Iterable<string> | undefined): readonly (readonly string[])[] {
    const poolSize = this.deps.settings.taskPoolSize;
    return users === undefined ? this.state.slots(poolSize) : bySlot(users, poolSize);
  }
}
