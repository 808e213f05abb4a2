/**
 * The conversation actor (DESIGN.md, "Sending a message", steps 3–4): one per conversation
 * (direct or group), on the logic node that hosts the conversation's upstream partition.
 *
 * It alone assigns seqs of its conversation: sends go through its write pipeline
 * (send-pipeline.ts, with the de-duplication memory in recent-sends.ts). Membership records
 * and conversation announcements are in membership.ts; read cursors and typing are answered
 * here. All parts share one `ConversationState`, touched only from this actor's handler.
 */
import { dispatch, spawn, type Ref } from 'nact';
import { asTroupeError, type TroupeError } from '../../transport/errors.js';
import type { LogicDeps } from '../logic/deps.js';
import type { OutboxBatch } from '../logic/outbox.js';
import { errorFrame, readFrame, typingFrame } from '../protocol/frames.js';
import type { ReadRecord, SendRecord, TypingRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, UnitContext } from '../runtime/partition-host.js';
import { contextOf, endingWith, ROOT_CONTEXT, SPAN_CONVERSATION_SEND, SpanKind, startSpan } from '../runtime/tracing.js';
import { ConversationState } from './conversation-state.js';
import { Membership } from './membership.js';
import { SendPipeline, type SendPipelineMessage } from './send-pipeline.js';

export type ConversationMessage = Envelope<UpstreamRecord> | SendPipelineMessage;

export class ConversationActor {
  private readonly state: ConversationState;
  private readonly sends: SendPipeline;
  private readonly membership: Membership;

  constructor(
    private readonly id: string,
    private readonly deps: LogicDeps,
    unit: UnitContext,
    self: Ref<ConversationMessage>,
  ) {
    const flushThen = (out: OutboxBatch, dones: Array<() => void>, alongside?: Promise<void>): Promise<void> => this.flushThen(out, dones, alongside);
    this.state = new ConversationState(id, deps.store);
    this.sends = new SendPipeline(this.state, deps, unit, { post: (message) => dispatch(self, message), flushThen });
    this.membership = new Membership(this.state, deps, flushThen);
  }

  static spawn(parent: Ref<unknown>, id: string, deps: LogicDeps, unit: UnitContext): Ref<Envelope<UpstreamRecord>> {
    return spawn(
      parent,
      async (actor: ConversationActor, message: ConversationMessage) => {
        await actor.handle(message);
        return actor;
      },
      id,
      { initialStateFunc: (ctx) => new ConversationActor(id, deps, unit, ctx.self as Ref<ConversationMessage>) },
    ) as Ref<Envelope<UpstreamRecord>>;
  }

  async handle(message: ConversationMessage): Promise<void> {
    try {
      if (this.sends.fenced) return; // the unit is fenced: records stay uncommitted for the next owner
      if ('internal' in message) return await this.sends.handle(message);
      if (!this.state.loaded) await this.state.load();
      const record = message.message;
      switch (record.type) {
        case 'send':
          return this.acceptSend(record, message);
        case 'read':
          return await this.handleRead(record, message.done);
        case 'typing':
          return await this.handleTyping(record, message.done);
        case 'members_add':
          return await this.membership.handleMembersAdd(record, message.done);
        case 'member_remove':
          return await this.membership.handleMemberRemove(record, message.done);
        case 'conv_created':
          await this.state.load();
          return await this.membership.announceConversation(record.actor, message.done);
        default:
          this.deps.logger.warn('conversation actor got a record it does not handle', { conv: this.id, type: record.type });
          message.done();
      }
    } catch (raw) {
      // A failure outside the write pipeline (a read of the store, a produce): answer what can
      // be answered and let the record go; the client sees `unavailable`/`internal` and retries.
      const err = asTroupeError(raw);
      this.deps.logger.error('conversation actor step failed', { conv: this.id, code: err.code, error: err.message });
      if (!('internal' in message)) await this.answerFailure(message, err);
      this.state.invalidate(); // reload state before the next record
    }
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
      const cursor = await this.deps.store.advanceReadSeq(this.id, record.user, target);
      if (cursor !== null && cursor > member.readSeq) {
        member.readSeq = cursor;
        const others = this.state.othersThan(record.user);
        out.toUsers(this.id, others, await this.deps.outbox.lookup(others), readFrame(this.id, record.user, cursor));
      }
    }
    return this.flushThen(out, [done]);
  }

  private async handleTyping(record: TypingRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    if (!this.state.isMember(record.user)) {
      out.toConn(record.user, record.origin, errorFrame('not_found', 'no such conversation', record.ref));
    } else {
      const others = this.state.othersThan(record.user);
      out.toUsers(this.id, others, await this.deps.outbox.lookup(others), typingFrame(this.id, record.user));
    }
    return this.flushThen(out, [done]);
  }

  // ---- plumbing

  private async answerFailure(envelope: Envelope<UpstreamRecord>, err: TroupeError): Promise<void> {
    const record = envelope.message;
    const code = err.retriable ? 'unavailable' : 'internal';
    const message = err.retriable ? 'try again' : 'internal error';
    const out = this.deps.outbox.batch();
    if ('reply' in record) out.replyError(record.reply, code, message);
    else if (record.type === 'send') {
      if (this.sends.answers(record)) return; // the write pipeline answers it
      out.toConn(record.from, record.origin, errorFrame(code, message, record.clientId));
    } else if (record.type === 'read' || record.type === 'typing') out.toConn(record.user, record.origin, errorFrame(code, message, record.ref));
    await this.flushThen(out, [envelope.done]);
  }

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
