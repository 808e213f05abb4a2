/**
 * The conversation actor's sends (docs/architecture.md, "The send path, step by step", steps 3–4).
 *
 * Sends are accepted in record order and written in batches, one batch in flight at a time:
 * while a batch is being made durable, later sends queue and form the next batch, so a busy
 * conversation writes many messages per round trip and an idle one writes each at once. Seqs
 * are given only to messages about to be written and only after the previous batch is durable,
 * so a failed write leaves no gap: the batch is retried (the database refuses partial batches)
 * with seqs computed afresh.
 *
 * De-duplication: a (sender, client id) seen recently answers from memory (recent-sends.ts).
 * Anything older is caught by the database's unique key (conversation, sender, client id): the
 * batch fails whole with `conflict`, and is retried after looking its client ids up in one
 * query, so a re-send after a restart or passivation still gets its original ack while the
 * common case (a new message) costs no read.
 *
 * Delivery, once a batch is durable: the acks to the senders, and each new message to every
 * online member's connections (one presence lookup for the batch). A large group
 * (large-group.ts) is not looked up here: its messages become fanout jobs, produced to the task
 * topic in one send alongside the acks, and the task role delivers them.
 *
 * The write runs outside the actor's message handler; its result comes back as a
 * `SendPipelineMessage` posted to the actor's own mailbox, so state changes only in turn.
 */
import { asTroupeError, type TroupeError } from '../../transport/errors.js';
import type { MessageRow } from '../../transport/store/port.js';
import { newOrderedId } from '../ids.js';
import type { LogicDeps } from '../logic/deps.js';
import type { OutboxBatch } from '../logic/outbox.js';
import { ackFrame, errorFrame, msgFrame } from '../protocol/frames.js';
import type { SendRecord } from '../records/types.js';
import type { UnitContext } from '../runtime/hosted-kind.js';
import { recordFailureIn, type Context } from '../runtime/tracing.js';
import type { ConversationState } from './conversation-state.js';
import { LargeGroup } from './large-group.js';
import { RecentSends, sendKey, type PendingSend, type StoredSend } from './recent-sends.js';
import { writeInSpan } from './send-trace.js';

interface WriteOutcome {
  pending: PendingSend;
  /** The stored message: new, or found already stored (a re-send). */
  row: StoredSend;
  /** Set when this write stored it (not a re-send). */
  stored?: MessageRow;
}

/** Reports of the write in flight, posted back to the actor. */
export type SendPipelineMessage =
  | { internal: 'written'; outcomes: WriteOutcome[]; lastSeq: number }
  | { internal: 'write_failed'; error: TroupeError }
  | { internal: 'retry_write' };

/** What the pipeline needs from the actor that hosts it. */
export interface SendPipelineHost {
  /** Posts a report to the actor's own mailbox, to be handled in turn with records. */
  post(message: SendPipelineMessage): void;
  /**
   * Flushes `out`, then calls every `dones` whatever happened; with `alongside` (work already
   * started that never rejects, e.g. producing fanout jobs), only once that has settled too.
   */
  flushThen(out: OutboxBatch, dones: Array<() => void>, alongside?: Promise<void>): Promise<void>;
}

/** Attempts at one batch that fails with a retriable error, the first included. */
const MAX_WRITE_ATTEMPTS = 8;

export class SendPipeline {
  private readonly recent: RecentSends;
  private readonly large: LargeGroup;
  private queued: PendingSend[] = [];
  private inWrite: PendingSend[] | null = null;
  private writeAttempts = 0;
  /** Conflicts of the batch in flight, counted apart from outages so these cannot use them up. */
  private conflicts = 0;
  /** Look the batch's client ids up before writing (after a conflict showed a re-send). */
  private lookupFirst = false;
  /**
   * The conversation's last seq when the batch in write was first tried. A stored row the
   * look-up finds above it was written by an earlier attempt of this very batch, whose answer
   * was lost (a deadline, a dropped connection): it was never delivered, so it is delivered now.
   * A row at or below it was stored before the batch: a re-send, only acked again.
   */
  private batchBaseSeq = 0;
  private isFenced = false;

  constructor(
    private readonly state: ConversationState,
    private readonly deps: LogicDeps,
    private readonly unit: UnitContext,
    private readonly host: SendPipelineHost,
  ) {
    this.recent = new RecentSends(deps.settings.dedupeWindow);
    this.large = new LargeGroup(state, deps);
  }

  /** The unit was found fenced by a write: the actor must leave its records uncommitted. */
  get fenced(): boolean {
    return this.isFenced;
  }

  /** `trace`: the context of the send's `conversation.send` span, carried to its write and answers. */
  accept(record: SendRecord, done: () => void, trace?: Context): void {
    const id = this.state.id;
    const out = this.deps.outbox.batch();
    if (!this.state.isMember(record.from)) {
      out.toConn(record.from, record.origin, errorFrame('not_found', 'no such conversation', record.clientId), trace);
      void this.host.flushThen(out, [done]);
      return;
    }
    const key = sendKey(record.from, record.clientId);
    const known = this.recent.storedFor(key);
    if (known !== undefined) {
      out.toConn(record.from, record.origin, ackFrame(record.clientId, id, known.seq, known.ts), trace);
      void this.host.flushThen(out, [done]);
      return;
    }
    const pending = this.recent.pendingFor(key);
    if (pending !== undefined) {
      pending.waiters.push({ origin: record.origin, done });
      return;
    }
    const entry: PendingSend = { record, done, waiters: [], trace };
    this.recent.addPending(key, entry);
    this.queued.push(entry);
    this.startWrite();
  }

  async handle(message: SendPipelineMessage): Promise<void> {
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

  private startWrite(): void {
    if (this.inWrite !== null || this.queued.length === 0 || this.isFenced) return;
    const max = this.deps.settings.maxBatchPerConversation;
    const batch = this.queued.length <= max ? this.queued : this.queued.slice(0, max);
    this.queued = this.queued.length <= max ? [] : this.queued.slice(max);
    this.inWrite = batch;
    this.writeAttempts = 0;
    this.conflicts = 0;
    this.lookupFirst = false;
    this.batchBaseSeq = this.state.lastSeq;
    this.runWrite(batch);
  }

  /** Looks up re-sends, gives seqs, writes; reports back to the actor as a message. */
  private runWrite(batch: PendingSend[]): void {
    const id = this.state.id;
    const startSeq = this.state.lastSeq;
    const now = this.deps.now ?? Date.now;
    void (async () => {
      const found = !this.lookupFirst
        ? []
        : await this.deps.store.findByClientIds(
            id,
            batch.map((p) => ({ from: p.record.from, clientId: p.record.clientId })),
          );
      const stored = new Map<string, MessageRow>();
      for (const row of found) stored.set(sendKey(row.from, row.clientId), row);
      let seq = startSeq;
      const ts = now();
      const rows: MessageRow[] = [];
      const outcomes: WriteOutcome[] = [];
      for (const pending of batch) {
        const existing = stored.get(sendKey(pending.record.from, pending.record.clientId));
        if (existing !== undefined) {
          outcomes.push(existing.seq > this.batchBaseSeq ? { pending, row: existing, stored: existing } : { pending, row: existing });
          continue;
        }
        seq++;
        const row: MessageRow = { conv: id, seq, id: newOrderedId('m'), from: pending.record.from, clientId: pending.record.clientId, body: pending.record.body, ts };
        rows.push(row);
        outcomes.push({ pending, row, stored: row });
      }
      if (rows.length > 0) {
        const write = [{ unit: this.unit.unit, epoch: this.unit.epoch, messages: rows }];
        await writeInSpan(batch, rows.length, () => this.deps.store.appendMessages(write));
      }
      this.host.post({ internal: 'written', outcomes, lastSeq: seq });
    })().catch((raw: unknown) => this.host.post({ internal: 'write_failed', error: asTroupeError(raw) }));
  }

  private async onWritten(outcomes: WriteOutcome[], lastSeq: number): Promise<void> {
    const id = this.state.id;
    this.state.advanceSeq(lastSeq);
    this.inWrite = null;
    let storedCount = 0;
    for (const outcome of outcomes) {
      this.recent.settle(sendKey(outcome.pending.record.from, outcome.pending.record.clientId), outcome.row);
      if (outcome.stored) storedCount++;
    }
    this.deps.metrics?.messagesStored.inc(storedCount);
    this.startWrite(); // the next batch is written while this one is delivered

    // A large group's messages go out as fanout jobs through the task role; the others here.
    const jobs = this.large.isLarge ? this.deps.fanout.batch() : null;
    const out = this.deps.outbox.batch();
    const online = storedCount > 0 && jobs === null ? await this.deps.outbox.lookup(this.state.memberIds()) : new Map();
    const dones: Array<() => void> = [];
    const fanned: Array<{ pending: PendingSend; stored: MessageRow }> = [];
    for (const { pending, row, stored } of outcomes) {
      const { record } = pending;
      const ack = ackFrame(record.clientId, id, row.seq, row.ts);
      out.toConn(record.from, record.origin, ack, pending.trace);
      dones.push(pending.done);
      for (const waiter of pending.waiters) {
        out.toConn(record.from, waiter.origin, ack);
        dones.push(waiter.done);
      }
      if (stored === undefined) continue;
      if (jobs === null) out.toUsers(id, this.state.members.keys(), online, msgFrame(stored), record.origin, pending.trace);
      else fanned.push({ pending, stored });
    }
    if (jobs === null) return this.host.flushThen(out, dones);
    // A large group: the acks go out first (a 100,000-member group's jobs are about 2 MB a
    // message to build), then the jobs; the records finish once both are produced.
    await this.host.flushThen(out, []);
    for (const { pending: { record, trace }, stored } of fanned) {
      this.large.push(jobs, { frames: [msgFrame(stored)], seq: stored.seq, except: record.origin, ...(trace === undefined ? {} : { trace }) });
    }
    await this.host.flushThen(this.deps.outbox.batch(), dones, this.large.produce(jobs, 'msg'));
  }

  private async onWriteFailed(error: TroupeError): Promise<void> {
    const id = this.state.id;
    const batch = this.inWrite;
    if (batch === null) return;
    if (error.code === 'stale_epoch' || error.code === 'not_owner') {
      this.isFenced = true;
      this.unit.fence(`conversation ${id}: ${error.message}`);
      return;
    }
    this.writeAttempts++;
    // A bounded budget (about 5 s of backoff): the senders then hear `unavailable` and re-send
    // with the same ids, well before the host's record deadline would take the actor for hung.
    if (error.retriable && this.writeAttempts < MAX_WRITE_ATTEMPTS) {
      const delay = Math.min(2000, 25 * 2 ** Math.min(this.writeAttempts, 7));
      this.deps.logger.warn('message write failed; retrying', { conv: id, attempt: this.writeAttempts, error: error.message });
      setTimeout(() => this.host.post({ internal: 'retry_write' }), delay).unref();
      return;
    }
    if (error.code === 'conflict' && ++this.conflicts < 3) {
      // A re-send of a message stored before this actor remembered it, or our view of lastSeq
      // was behind the database: reload, look the client ids up, retry.
      this.deps.logger.debug('message write conflicted; reloading the conversation', { conv: id, error: error.message });
      await this.state.load();
      this.lookupFirst = true;
      this.runWrite(batch);
      return;
    }
    this.deps.logger.error('message write failed for good; refusing the batch', { conv: id, code: error.code, error: error.message });
    this.inWrite = null;
    const out = this.deps.outbox.batch();
    const dones: Array<() => void> = [];
    const code = error.retriable ? 'unavailable' : 'internal';
    for (const pending of batch) {
      this.recent.drop(sendKey(pending.record.from, pending.record.clientId));
      recordFailureIn(pending.trace, error);
      out.toConn(pending.record.from, pending.record.origin, errorFrame(code, 'message not stored; send it again', pending.record.clientId), pending.trace);
      dones.push(pending.done);
      for (const waiter of pending.waiters) {
        out.toConn(pending.record.from, waiter.origin, errorFrame(code, 'message not stored; send it again', pending.record.clientId));
        dones.push(waiter.done);
      }
    }
    this.startWrite();
    await this.host.flushThen(out, dones);
  }
}
