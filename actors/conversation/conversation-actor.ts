/**
 * The conversation actor (DESIGN.md, "Sending a message", steps 3–4): one per conversation
 * (direct or group), on the logic node that hosts the conversation's upstream partition.
 *
 * It alone assigns seqs of its conversation. Sends are accepted in record order and written in
 * batches, one batch in flight at a time: while a batch is being made durable, later sends
 * queue and form the next batch, so a busy conversation writes many messages per round trip
 * and an idle one writes each at once. Seqs are given only to messages about to be written and
 * only after the previous batch is durable, so a failed write leaves no gap: the batch is
 * retried (the database refuses partial batches) with seqs computed afresh.
 *
 * De-duplication: a (sender, client id) seen recently answers from memory. Anything older is
 * caught by the database's unique key (conversation, sender, client id): the batch fails whole
 * with `conflict`, and is retried after looking its client ids up in one query, so a re-send
 * after a restart or passivation still gets its original ack while the common case (a new
 * message) costs no read.
 */
import { dispatch, spawn, type Ref } from 'nact';
import { asTroupeError, type TroupeError } from '../../transport/errors.js';
import type { ConversationRow, MemberRow, MessageRow } from '../../transport/store/port.js';
import { newId } from '../ids.js';
import type { LogicDeps } from '../logic/deps.js';
import type { OutboxBatch } from '../logic/outbox.js';
import type { PresenceEntry } from '../../transport/presence/port.js';
import { conversationDto } from '../protocol/dto.js';
import { ackFrame, conversationFrame, errorFrame, memberFrame, msgFrame, readFrame, typingFrame } from '../protocol/frames.js';
import type { ConnAddress, ReplyAddress, MemberRemoveRecord, MembersAddRecord, ReadRecord, SendRecord, TypingRecord, UpstreamRecord } from '../records/types.js';
import type { Envelope, UnitContext } from '../runtime/partition-host.js';

interface PendingSend {
  record: SendRecord;
  done: () => void;
  /** Re-sends of the same client id that arrived while this one was pending. */
  waiters: Array<{ origin: ConnAddress; done: () => void }>;
}

interface WriteOutcome {
  pending: PendingSend;
  /** The stored message: new, or found already stored (a re-send). */
  row: Pick<MessageRow, 'seq' | 'ts' | 'id'>;
  /** Set when this write stored it (not a re-send). */
  stored?: MessageRow;
}

type Internal =
  | { internal: 'written'; outcomes: WriteOutcome[]; lastSeq: number }
  | { internal: 'write_failed'; error: TroupeError }
  | { internal: 'retry_write' };

export type ConversationMessage = Envelope<UpstreamRecord> | Internal;

const RECENT_VALUE_SEP = '\u0000';

export class ConversationActor {
  private conv: ConversationRow | null = null;
  private loaded = false;
  private fenced = false;
  /** userId → member row, in join order. */
  private members = new Map<string, MemberRow>();
  /** Durable last seq. */
  private lastSeq = 0;
  /** sender + NUL + client id → stored message, most recent last (an LRU by insertion). */
  private readonly recent = new Map<string, Pick<MessageRow, 'seq' | 'ts' | 'id'>>();
  /** Sends accepted but not yet durable, by sender + NUL + client id. */
  private readonly pendingByKey = new Map<string, PendingSend>();
  private queued: PendingSend[] = [];
  private inWrite: PendingSend[] | null = null;
  private writeAttempts = 0;
  /** Conflicts of the batch in flight, counted apart from outages so these cannot use them up. */
  private conflicts = 0;
  /** Look the batch's client ids up before writing (after a conflict showed a re-send). */
  private lookupFirst = false;

  constructor(
    private readonly id: string,
    private readonly deps: LogicDeps,
    private readonly unit: UnitContext,
    private readonly self: Ref<ConversationMessage>,
  ) {}

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
      if (this.fenced) return; // the unit is fenced: records stay uncommitted for the next owner
      if ('internal' in message) return await this.handleInternal(message);
      if (!this.loaded) await this.load();
      const record = message.message;
      switch (record.type) {
        case 'send':
          return this.acceptSend(record, message.done);
        case 'read':
          return await this.handleRead(record, message.done);
        case 'typing':
          return await this.handleTyping(record, message.done);
        case 'members_add':
          return await this.handleMembersAdd(record, message.done);
        case 'member_remove':
          return await this.handleMemberRemove(record, message.done);
        case 'conv_created':
          await this.load();
          return await this.announceConversation(record.actor, message.done);
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
      this.loaded = false; // reload state before the next record
    }
  }

  // ---- loading

  private async load(): Promise<void> {
    const [conv, members] = await Promise.all([this.deps.store.getConversation(this.id), this.deps.store.getMembers(this.id)]);
    this.conv = conv;
    this.members = new Map(members.map((m) => [m.userId, m]));
    this.lastSeq = conv?.lastSeq ?? 0;
    this.loaded = true;
  }

  private isMember(user: string): boolean {
    return this.conv !== null && this.members.has(user);
  }

  // ---- send

  private acceptSend(record: SendRecord, done: () => void): void {
    const out = this.deps.outbox.batch();
    if (!this.isMember(record.from)) {
      out.toConn(record.from, record.origin, errorFrame('not_found', 'no such conversation', record.clientId));
      void this.flushThen(out, [done]);
      return;
    }
    const key = record.from + RECENT_VALUE_SEP + record.clientId;
    const known = this.recent.get(key);
    if (known !== undefined) {
      out.toConn(record.from, record.origin, ackFrame(record.clientId, this.id, known.seq, known.ts));
      void this.flushThen(out, [done]);
      return;
    }
    const pending = this.pendingByKey.get(key);
    if (pending !== undefined) {
      pending.waiters.push({ origin: record.origin, done });
      return;
    }
    const entry: PendingSend = { record, done, waiters: [] };
    this.pendingByKey.set(key, entry);
    this.queued.push(entry);
    this.startWrite();
  }

  private startWrite(): void {
    if (this.inWrite !== null || this.queued.length === 0 || this.fenced) return;
    const max = this.deps.settings.maxBatchPerConversation;
    const batch = this.queued.length <= max ? this.queued : this.queued.slice(0, max);
    this.queued = this.queued.length <= max ? [] : this.queued.slice(max);
    this.inWrite = batch;
    this.writeAttempts = 0;
    this.conflicts = 0;
    this.lookupFirst = false;
    this.runWrite(batch);
  }

  /** Looks up re-sends, gives seqs, writes; reports back to the actor as a message. */
  private runWrite(batch: PendingSend[]): void {
    const startSeq = this.lastSeq;
    const now = this.deps.now ?? Date.now;
    void (async () => {
      const found = !this.lookupFirst
        ? []
        : await this.deps.store.findByClientIds(
            this.id,
            batch.map((p) => ({ from: p.record.from, clientId: p.record.clientId })),
          );
      const stored = new Map<string, MessageRow>();
      for (const row of found) stored.set(row.from + RECENT_VALUE_SEP + row.clientId, row);
      let seq = startSeq;
      const ts = now();
      const rows: MessageRow[] = [];
      const outcomes: WriteOutcome[] = [];
      for (const pending of batch) {
        const existing = stored.get(pending.record.from + RECENT_VALUE_SEP + pending.record.clientId);
        if (existing !== undefined) {
          outcomes.push({ pending, row: existing });
          continue;
        }
        seq++;
        const row: MessageRow = { conv: this.id, seq, id: newId('m'), from: pending.record.from, clientId: pending.record.clientId, body: pending.record.body, ts };
        rows.push(row);
        outcomes.push({ pending, row, stored: row });
      }
      if (rows.length > 0) await this.deps.store.appendMessages([{ unit: this.unit.unit, epoch: this.unit.epoch, messages: rows }]);
      dispatch(this.self, { internal: 'written', outcomes, lastSeq: seq });
    })().catch((raw: unknown) => dispatch(this.self, { internal: 'write_failed', error: asTroupeError(raw) }));
  }

  private async handleInternal(message: Internal): Promise<void> {
    switch (message.internal) {
      case 'written':
        return this.onWritten(message.outcomes, message.lastSeq);
      case 'write_failed':
        return this.onWriteFailed(message.error);
      case 'retry_write':
        if (this.inWrite !== null) this.runWrite(this.inWrite);
        return;
    }
  }

  private async onWritten(outcomes: WriteOutcome[], lastSeq: number): Promise<void> {
    this.lastSeq = lastSeq;
    if (this.conv !== null) this.conv.lastSeq = lastSeq;
    this.inWrite = null;
    let storedCount = 0;
    for (const outcome of outcomes) {
      const key = outcome.pending.record.from + RECENT_VALUE_SEP + outcome.pending.record.clientId;
      this.pendingByKey.delete(key);
      this.remember(key, outcome.row);
      if (outcome.stored) storedCount++;
    }
    this.deps.metrics?.messagesStored.inc(storedCount);
    this.startWrite(); // the next batch is written while this one is delivered

    const out = this.deps.outbox.batch();
    const online = storedCount > 0 ? await this.deps.outbox.lookup([...this.members.keys()]) : new Map();
    const dones: Array<() => void> = [];
    for (const { pending, row, stored } of outcomes) {
      const { record } = pending;
      const ack = ackFrame(record.clientId, this.id, row.seq, row.ts);
      out.toConn(record.from, record.origin, ack);
      dones.push(pending.done);
      for (const waiter of pending.waiters) {
        out.toConn(record.from, waiter.origin, ack);
        dones.push(waiter.done);
      }
      if (stored) out.toUsers(this.id, this.members.keys(), online, msgFrame(stored), record.origin);
    }
    await this.flushThen(out, dones);
  }

  private async onWriteFailed(error: TroupeError): Promise<void> {
    const batch = this.inWrite;
    if (batch === null) return;
    if (error.code === 'stale_epoch' || error.code === 'not_owner') {
      this.fenced = true;
      this.unit.fence(`conversation ${this.id}: ${error.message}`);
      return;
    }
    this.writeAttempts++;
    if (error.retriable && this.writeAttempts < 50) {
      const delay = Math.min(2000, 25 * 2 ** Math.min(this.writeAttempts, 7));
      this.deps.logger.warn('message write failed; retrying', { conv: this.id, attempt: this.writeAttempts, error: error.message });
      setTimeout(() => dispatch(this.self, { internal: 'retry_write' }), delay).unref();
      return;
    }
    if (error.code === 'conflict' && ++this.conflicts < 3) {
      // A re-send of a message stored before this actor remembered it, or our view of lastSeq
      // was behind the database: reload, look the client ids up, retry.
      this.deps.logger.debug('message write conflicted; reloading the conversation', { conv: this.id, error: error.message });
      await this.load();
      this.lookupFirst = true;
      this.runWrite(batch);
      return;
    }
    this.deps.logger.error('message write failed for good; refusing the batch', { conv: this.id, code: error.code, error: error.message });
    this.inWrite = null;
    const out = this.deps.outbox.batch();
    const dones: Array<() => void> = [];
    const code = error.retriable ? 'unavailable' : 'internal';
    for (const pending of batch) {
      this.pendingByKey.delete(pending.record.from + RECENT_VALUE_SEP + pending.record.clientId);
      out.toConn(pending.record.from, pending.record.origin, errorFrame(code, 'message not stored; send it again', pending.record.clientId));
      dones.push(pending.done);
      for (const waiter of pending.waiters) {
        out.toConn(pending.record.from, waiter.origin, errorFrame(code, 'message not stored; send it again', pending.record.clientId));
        dones.push(waiter.done);
      }
    }
    this.startWrite();
    await this.flushThen(out, dones);
  }

  private remember(key: string, row: Pick<MessageRow, 'seq' | 'ts' | 'id'>): void {
    this.recent.delete(key);
    this.recent.set(key, { seq: row.seq, ts: row.ts, id: row.id });
    if (this.recent.size > this.deps.settings.dedupeWindow) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
  }

  // ---- read cursors and typing

  private async handleRead(record: ReadRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const member = this.members.get(record.user);
    if (member === undefined || this.conv === null) {
      out.toConn(record.user, record.origin, errorFrame('not_found', 'no such conversation', record.ref));
      return this.flushThen(out, [done]);
    }
    const target = Math.min(record.seq, this.lastSeq);
    if (target > member.readSeq) {
      const cursor = await this.deps.store.advanceReadSeq(this.id, record.user, target);
      if (cursor !== null && cursor > member.readSeq) {
        member.readSeq = cursor;
        const others = this.othersThan(record.user);
        out.toUsers(this.id, others, await this.deps.outbox.lookup(others), readFrame(this.id, record.user, cursor));
      }
    }
    return this.flushThen(out, [done]);
  }

  private async handleTyping(record: TypingRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    if (!this.isMember(record.user)) {
      out.toConn(record.user, record.origin, errorFrame('not_found', 'no such conversation', record.ref));
    } else {
      const others = this.othersThan(record.user);
      out.toUsers(this.id, others, await this.deps.outbox.lookup(others), typingFrame(this.id, record.user));
    }
    return this.flushThen(out, [done]);
  }

  private othersThan(user: string): string[] {
    const others: string[] = [];
    for (const id of this.members.keys()) if (id !== user) others.push(id);
    return others;
  }

  // ---- membership

  private async handleMembersAdd(record: MembersAddRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const conv = this.conv;
    const refuse = (code: string, message: string): Promise<void> => this.refuseRequest(out, record.reply, done, code, message);
    if (conv === null || !this.isMember(record.actor)) return refuse('not_found', 'no such conversation');
    if (conv.type === 'direct') return refuse('invalid_argument', 'members: a direct conversation has no members to add');
    if (conv.ownerId !== record.actor) return refuse('forbidden', 'only the owner adds members');
    const candidates = [...new Set(record.members)].filter((id) => !this.members.has(id));
    if (candidates.length > 0) {
      const existing = new Set((await this.deps.store.getUsers(candidates)).map((u) => u.id));
      const unknown = candidates.find((id) => !existing.has(id));
      if (unknown !== undefined) return refuse('not_found', `members: no user ${unknown}`);
      if (this.members.size + candidates.length > this.deps.settings.maxMembers) {
        return refuse('invalid_argument', `members: a group holds at most ${this.deps.settings.maxMembers} members`);
      }
    }
    const now = (this.deps.now ?? Date.now)();
    const added = candidates.length > 0 ? await this.deps.store.addMembers(this.id, candidates, now) : [];
    for (const user of added) this.members.set(user, { userId: user, readSeq: 0, joinedAt: now });
    conv.memberCount = this.members.size;
    const memberIds = [...this.members.keys()];
    out.reply(record.reply, conversationDto(conv, memberIds, this.members.get(record.actor)?.readSeq ?? 0));
    if (added.length > 0) {
      // The added users learn of the conversation, everyone else of its new member list; then
      // every member hears who joined.
      const online = await this.deps.outbox.lookup(memberIds);
      this.announceTo(out, memberIds, memberIds, online);
      for (const user of added) out.toUsers(this.id, memberIds, online, memberFrame(this.id, 'joined', user));
    }
    return this.flushThen(out, [done]);
  }

  private async handleMemberRemove(record: MemberRemoveRecord, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const conv = this.conv;
    const refuse = (code: string, message: string): Promise<void> => this.refuseRequest(out, record.reply, done, code, message);
    if (conv === null || !this.isMember(record.actor)) return refuse('not_found', 'no such conversation');
    if (conv.type === 'direct') return refuse('invalid_argument', 'userId: members of a direct conversation cannot be removed');
    if (record.actor !== record.user && conv.ownerId !== record.actor) return refuse('forbidden', 'only the owner removes other members');
    if (!this.members.has(record.user)) return refuse('not_found', 'no such member');
    const updated = await this.deps.store.removeMember(this.id, record.user);
    if (updated === null) return refuse('not_found', 'no such member');
    this.members.delete(record.user);
    this.conv = { ...updated, lastSeq: this.lastSeq };
    out.reply(record.reply, null);
    const remaining = [...this.members.keys()];
    const online = await this.deps.outbox.lookup([...remaining, record.user]);
    out.toUsers(this.id, [...remaining, record.user], online, memberFrame(this.id, 'left', record.user));
    this.announceTo(out, remaining, remaining, online); // its member list (and maybe owner) changed
    return this.flushThen(out, [done]);
  }

  /** A conversation was created: every member but its creator hears of it. */
  private async announceConversation(creator: string, done: () => void): Promise<void> {
    const out = this.deps.outbox.batch();
    const conv = this.conv;
    if (conv !== null) {
      const memberIds = [...this.members.keys()];
      const others = memberIds.filter((id) => id !== creator);
      this.announceTo(out, others, memberIds, await this.deps.outbox.lookup(others));
    }
    return this.flushThen(out, [done]);
  }

  /**
   * A `conversation` frame to each of `recipients` (each with its own read cursor), showing
   * `memberIds` as the member list.
   */
  private announceTo(out: OutboxBatch, recipients: readonly string[], memberIds: readonly string[], online: Map<string, PresenceEntry[]>): void {
    const conv = this.conv;
    if (conv === null) return;
    for (const user of recipients) {
      if (!online.has(user)) continue;
      out.toUsers(this.id, [user], online, conversationFrame(conversationDto(conv, memberIds, this.members.get(user)?.readSeq ?? 0)));
    }
  }

  // ---- plumbing

  private refuseRequest(out: OutboxBatch, reply: ReplyAddress, done: () => void, code: string, message: string): Promise<void> {
    out.replyError(reply, code, message);
    return this.flushThen(out, [done]);
  }

  private async answerFailure(envelope: Envelope<UpstreamRecord>, err: TroupeError): Promise<void> {
    const record = envelope.message;
    const code = err.retriable ? 'unavailable' : 'internal';
    const message = err.retriable ? 'try again' : 'internal error';
    const out = this.deps.outbox.batch();
    if ('reply' in record) out.replyError(record.reply, code, message);
    else if (record.type === 'send') {
      const key = record.from + RECENT_VALUE_SEP + record.clientId;
      if (this.pendingByKey.get(key)?.record === record) return; // the write pipeline answers it
      out.toConn(record.from, record.origin, errorFrame(code, message, record.clientId));
    } else if (record.type === 'read' || record.type === 'typing') out.toConn(record.user, record.origin, errorFrame(code, message, record.ref));
    await this.flushThen(out, [envelope.done]);
  }

  /** Flushes, then marks records finished whatever happened: answers are best effort. */
  private async flushThen(out: OutboxBatch, dones: Array<() => void>): Promise<void> {
    try {
      await out.flush();
    } catch (raw) {
      this.deps.logger.warn('could not deliver to gateways', { conv: this.id, error: asTroupeError(raw).message });
    } finally {
      for (const done of dones) done();
    }
  }
}
