/**
 * The fanout worker (docs/architecture.md, "Large groups"): on a task node, delivers the jobs of
 * one task pool slot of one large group (key `<conv>#<slot>`, actors/logic/member-slots.ts), one
 * job at a time in log order, so each member gets the group's frames in the order logic produced
 * them while the group's other slots go on in parallel.
 *
 * A job names its members, or stands for every member of its slot, whom the node's copy of the
 * group gives (member-directory.ts; `members` jobs keep it current, in the slot's order). Their
 * presence is looked up a chunk of `task.chunkSize` at a time, and each frame goes out as one
 * deliver record per gateway that holds any of their connections (the sending connection, or the
 * typing or reading user, left out). An announce job's frame is the conversation with each
 * member's own read cursor: one deliver record per gateway per distinct cursor. The job's record
 * is marked finished only once those records are produced, so the partition's watermark never
 * commits past an undelivered job.
 *
 * A job that fails with a retriable error (presence, log or repo unavailable) is retried with backoff,
 * `attempts` times; the slot's later jobs wait behind it, and a partition whose jobs
 * pile up is paused by its host. If it still fails, the worker throws: its host
 * (actors/runtime/partition-host.ts) makes a fresh worker after a backoff and tries again, and
 * after its record attempts gives the job up (logged and counted; members catch up by seq).
 * When the host stops the worker (revocation after the drain timeout, fencing, lease loss) the
 * job is left unfinished: the partition's next owner replays it. A job that can never succeed
 * (a non-retriable error) is dropped with an error log; the message is durable and members
 * catch up by seq.
 *
 * Replays are harmless: a job delivered again pushes a (conv, seq) frame the clients already
 * hold, and they drop it (docs/protocol.md: completeness comes from seq).
 */
import { SpanKind, type Context } from '@opentelemetry/api';
import { retry, TroupeError } from '../../transport/errors.js';
import type { ConversationDto } from '../protocol/dto.js';
import { conversationFrame } from '../protocol/frames.js';
import type { PresenceEntry } from '../../transport/presence/port.js';
import type { TaskRecord } from '../records/types.js';
import type { Envelope, HostedActor } from '../runtime/hosted-kind.js';
import { contextOf, recordFailure, SPAN_TASK_FANOUT, startSpan } from '../runtime/tracing.js';
import { DEFAULT_CHUNK_SIZE, type TaskDeps } from './deps.js';

export class FanoutWorker implements HostedActor<TaskRecord> {
  private stopped = false;

  constructor(
    /** The worker's key, `<conv>#<slot>`. */
    private readonly conv: string,
    private readonly deps: TaskDeps,
  ) {}

  /** The host stopped this worker: give up the job in hand without finishing it. */
  stop(): void {
    this.stopped = true;
  }

  async handle({ message: job, done, trace }: Envelope<TaskRecord>): Promise<void> {
    // A job of a traced send continues its trace: `task.fanout`, then the deliveries it produces.
    const span = trace === undefined ? undefined : startSpan(SPAN_TASK_FANOUT, SpanKind.CONSUMER, trace);
    const ctx = span === undefined ? undefined : contextOf(span, trace);
    try {
      await retry(() => this.deliver(job, ctx), {
        attempts: this.deps.attempts ?? 8,
        initialDelayMs: this.deps.retryDelayMs ?? 50,
        maxDelayMs: this.deps.maxRetryDelayMs ?? 2000,
        abort: () => this.stopped,
        onRetry: (err, attempt, delayMs) =>
          this.deps.logger.warn('fanout job failed; retrying', { ...describe(job), attempt, delayMs, error: err.message }),
      });
    } catch (raw) {
      if (this.stopped) {
        span?.end();
        return; // unfinished: the partition's next owner replays it
      }
      const err = raw as TroupeError;
      if (err.retriable) {
        span?.end();
        throw err; // still failing: the host restarts this worker and tries again
      }
      if (span !== undefined) recordFailure(span, err);
      this.deps.logger.error('fanout job dropped; its members catch up on sync', {
        ...describe(job),
        code: err.code,
        error: err.message,
      });
    }
    span?.end();
    done();
  }

  /**
   * A `members` job changes the node's copy of the group. Any other job's members (named, or the
   * whole slot from that copy) are looked up in presence a chunk at a time, and each frame goes
   * out as one record per gateway holding any of their connections.
   */
  private async deliver(job: TaskRecord, trace: Context | undefined): Promise<void> {
    if (this.stopped) throw new TroupeError('closed', `fanout worker of ${this.conv} stopped`);
    if (job.type === 'members') {
      this.deps.members.apply(job);
      return;
    }
    const { outbox } = this.deps;
    const out = outbox.batch();
    if (job.type === 'announce') {
      const cursors = job.wholeSlot === undefined ? new Map(job.members.map((user, i) => [user, job.readSeqs[i] ?? 0])) : await this.deps.members.slot(job.conv, job.wholeSlot);
      const online = await this.online(cursors.keys(), undefined);
      const shared = JSON.parse(job.conversation) as Omit<ConversationDto, 'readSeq'>;
      for (const [readSeq, same] of byReadSeq(online.keys(), cursors)) out.toUsers(job.conv, same, online, conversationFrame({ ...shared, readSeq }), undefined, trace);
    } else {
      const members = job.wholeSlot === undefined ? job.members : (await this.deps.members.slot(job.conv, job.wholeSlot)).keys();
      const online = await this.online(members, job.exceptUser);
      for (const frame of job.frames) out.toUsers(job.conv, online.keys(), online, frame, job.except, trace);
    }
    await out.flush();
  }

  /**
   * The online ones of `members` (but `exceptUser`) with their connections, looked up in presence a
   * chunk of `chunkSize` at a time, one chunk after another: each lookup stays small, and the
   * event loop turns between them however large the slot. Frames are then built for the online
   * members only, so a job of many frames (the joins of a bulk add) costs frames × online, not
   * frames × members.
   */
  private async online(members: Iterable<string>, exceptUser: string | undefined): Promise<Map<string, PresenceEntry[]>> {
    const size = Math.max(1, this.deps.chunkSize ?? DEFAULT_CHUNK_SIZE);
    const online = new Map<string, PresenceEntry[]>();
    let chunk: string[] = [];
    const lookUp = async (): Promise<void> => {
      for (const [user, entries] of await this.deps.outbox.lookup(chunk)) online.set(user, entries);
      chunk = [];
    };
    for (const user of members) {
      if (user === exceptUser) continue;
      chunk.push(user);
      if (chunk.length >= size) await lookUp();
    }
    if (chunk.length > 0) await lookUp();
    return online;
  }
}

/** `users` grouped by read cursor: users on one cursor share one frame. */
function byReadSeq(users: Iterable<string>, cursors: ReadonlyMap<string, number>): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const user of users) {
    const readSeq = cursors.get(user) ?? 0;
    let same = groups.get(readSeq);
    if (same === undefined) groups.set(readSeq, (same = []));
    same.push(user);
  }
  return groups;
}

/** What a log line says of a job. */
function describe(job: TaskRecord): Record<string, unknown> {
  switch (job.type) {
    case 'members':
      return { conv: job.conv, type: job.type, added: job.added.length, removed: job.removed.length, cursors: job.cursors.length };
    case 'announce':
      return { conv: job.conv, type: job.type, members: job.wholeSlot === undefined ? job.members.length : `slot ${job.wholeSlot.slot}` };
    default:
      return { conv: job.conv, type: job.type, seq: job.seq, frames: job.frames.length, members: job.wholeSlot === undefined ? job.members.length : `slot ${job.wholeSlot.slot}` };
  }
}
