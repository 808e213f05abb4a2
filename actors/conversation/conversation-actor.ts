/**
 * The conversation actor (docs/architecture.md, "The send path, step by step", steps 3–4): one per conversation
 * (direct or group), on the logic node that hosts the conversation's upstream partition.
 *
 * It alone assigns seqs of its conversation: sends go through its write pipeline
 * (send-pipeline.ts, with the de-duplication memory in recent-sends.ts). Membership records
 * and conversation announcements are in membership.ts; read cursors and typing are answered
 * here. All parts share one `ConversationState`, touched only from this actor's handler.
 */
import { asTroupeError } from '../../transport/errors.js';
import type { LogicDeps } from '../logic/deps.js';
import type { OutboxBatch } from '../logic/outbox.js';
import { errorFrame, readFrame, typingFrame } from '../protocol/frames.js';
import type { ReadRecord, SendRecord, TypingRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, HostedActor, UnitContext } from '../runtime/hosted-kind.js';
import { contextOf, endingWith, ROOT_CONTEXT, SPAN_CONVERSATION_SEND, SpanKind, startSpan } from '../runtime/tracing.js';
import { ConversationState } from './conversation-state.js';
import { fencedWrite } from './fenced-write.js';
import type { MemberChange } from '../logic/fanout-jobs.js';
import { LargeGroup } from './large-group.js';
import { Membership } from './membership.js';
import { SendPipeline, type SendPipelineMessage } from './send-pipeline.js';

export class ConversationActor implements HostedActor<UpstreamRecord> {
  private readonly state: ConversationState;
  private readonly sends: SendPipeline;
  private readonly membership: Membership;
  private readonly large: LargeGroup;

  /** `post` puts a message in this actor's own mailbox (the host's), handled by `handleInternal`. */
  constructor(
    private readonly id: string,
    private readonly deps: LogicDeps,
    private readonly unit: UnitContext,
    post: (message: SendPipelineMessage) => void,
  ) {
    const flushThen = (out: OutboxBatch, dones: Array<() => void>, alongside?: Promise<void>): Promise<void> => this.flushThen(out, dones, alongside);
    this.state = new ConversationState(id, deps.store);
    this.sends = new SendPipeline(this.state, deps, unit, { post, flushThen });
    this.membership = new Membership(this.state, deps, unit, flushThen);
    this.large = new LargeGroup(this.state, deps);
  }

  /**
   * A step that throws (the store or presence unreachable, a bug) crashes this actor: its host
   * (actors/runtime/partition-host.ts) stops it, and a fresh one reloads the conversation from
   * the store and takes the record again, so no half-updated state outlives a failure.
   */
  async handle(envelope: Envelope<UpstreamRecord>): Promise<void> {
    if (this.sends.fenced) return; // the unit is fenced: its host takes the records back
    if (!this.state.loaded) await this.state.load();
    const record = envelope.message;
    switch (record.type) {
      case 'send':
        return this.acceptSend(record, envelope);
      case 'read':
        return await this.handleRead(record, envelope.done);
      case 'typing':
        return await this.handleTyping(record, envelope.done);
      case 'members_add':
        return await this.membership.handleMembersAdd(record, envelope.done);
      case 'member_remove':
        return await this.membership.handleMemberRemove(record, envelope.done);
      case 'conv_created':
        await this.state.load();
        return await this.membership.announceConversation(record.actor, envelope.done);
      default:
        this.deps.logger.warn('conversation actor got a record it does not handle', { conv: this.id, type: record.type });
        envelope.done();
    }
  }

  /** Reports of the write pipeline, in turn with records. */
  async handleInternal(message: unknown): Promise<void> {
    if (this.sends.fenced) return;
    await this.sends.handle(message as SendPipelineMessage);
  }

  /**
   * A send is handled in a `conversation.send` span (child of the sender's frame span, through
   * the record's headers), which ends when the record is done: stored, acked and delivered.
   */
  private acceptSend(record: SendRecord, envelope: Envelope<UpstreamRecord>): void {
    const parent = envelope.trace ?? ROOT_CONTEXT;
    const span = startSpan(SPAN_CONVERSATION_SEND, SpanKind.CONSUMER, parent);
    if (span === undefined) return this.sends.accept(record, envelope.done);
    if (span.isRecording()) span.setAttribute('troupe.conversation', this.id);
    this.sends.accept(record, endingWith(span, envelope.done), contextOf(span, parent));
  }

  // ---- read cursors and typing

  private async handleRead(record: ReadRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const member = this.state.members.get(record.user);
    if (member === undefined || this.state.conv === null) {
      out.toConn(record.user, record.origin, errorFrame('not_found', 'no such conversation', record.ref));
      return this.flushThen(out, [done]);
    }
    const target = Math.min(record.seq, this.state.lastSeq);
    if (target > member.readSeq) {
      const cursor = await fencedWrite(this.unit, `conversation ${this.id}`, (fence) => this.deps.store.advanceReadSeq(this.id, record.user, target, fence));
      if (cursor !== null && cursor > member.readSeq) {
        member.readSeq = cursor;
        return this.toOthers(out, record.user, readFrame(this.id, record.user, cursor), done, { cursors: [{ user: record.user, seq: cursor }] });
      }
    }
    return this.flushThen(out, [done]);
  }

  private async handleTyping(record: TypingRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    if (!this.state.isMember(record.user)) {
      out.toConn(record.user, record.origin, errorFrame('not_found', 'no such conversation', record.ref));
      return this.flushThen(out, [done]);
    }
    return this.toOthers(out, record.user, typingFrame(this.id, record.user), done);
  }

  /**
   * `frame` to every member but `user`: from here, or through the task role for a large group,
   * after the `change` its copy of the group must see (a moved read cursor).
   */
  private async toOthers(out: OutboxBatch, user: string, frame: string, done: () => void, change?: MemberChange): Promise<void> {
    if (!this.large.isLarge) {
      const others = this.state.othersThan(user);
      out.toUsers(this.id, others, await this.deps.outbox.lookup(others), frame);
      return this.flushThen(out, [done]);
    }
    const jobs = this.deps.fanout.batch();
    if (change !== undefined) this.large.change(jobs, change);
    this.large.push(jobs, { frames: [frame], exceptUser: user });
    return this.flushThen(out, [done], this.large.produce(jobs, 'typing or read'));
  }

  // ---- plumbing

  /**
   * Flushes, then marks records finished whatever happened: answers are best effort. Work
   * started `alongside` (never rejecting) is awaited first, so a record is not committed
   * before the fanout jobs of its message are produced.
   */
  private async flushThen(out: OutboxBatch, dones: Array<() => void>, alongside?: Promise<void>): Promise<void> {
    try {
      await out.flush();
    } catch (raw) {
      this.deps.logger.warn('could not deliver to gateways', { conv: this.id, error: asTroupeError(raw).message });
    } finally {
      if (alongside !== undefined) await alongside;
      for (const done of dones) done();
    }
  }
}
