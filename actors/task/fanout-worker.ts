/**
 * The fanout worker (docs/architecture.md, "The actors"): on a task node, delivers the fanout jobs of one
 * conversation (a group over the large-group threshold), one job at a time in log order.
 *
 * A job is one chunk of the group's members: their presence is looked up in one batch, and the
 * frame goes out as one deliver record per gateway that holds any of their connections (the
 * sending connection left out). The job's record is marked finished only once those records
 * are produced, so the partition's watermark never commits past an undelivered job.
 *
 * A job that fails with a retriable error (presence or log unavailable) is retried with backoff,
 * `attempts` times; the conversation's later jobs wait behind it, and a partition whose jobs
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
import type { TaskRecord } from '../records/types.js';
import type { Envelope, HostedActor } from '../runtime/hosted-kind.js';
import { contextOf, recordFailure, SPAN_TASK_FANOUT, startSpan } from '../runtime/tracing.js';
import type { TaskDeps } from './deps.js';

export class FanoutWorker implements HostedActor<TaskRecord> {
  private stopped = false;

  constructor(
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
          this.deps.logger.warn('fanout job failed; retrying', { conv: this.conv, seq: job.seq, attempt, delayMs, error: err.message }),
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
      this.deps.logger.error('fanout job dropped; its members get the message on sync', {
        conv: this.conv,
        seq: job.seq,
        members: job.members.length,
        code: err.code,
        error: err.message,
      });
    }
    span?.end();
    done();
  }

  /** One presence lookup for the chunk, then one deliver record per gateway, all produced. */
  private async deliver(job: TaskRecord, trace: Context | undefined): Promise<void> {
    if (this.stopped) throw new TroupeError('closed', `fanout worker of ${this.conv} stopped`);
    const { outbox } = this.deps;
    const online = await outbox.lookup(job.members);
    const out = outbox.batch();
    out.toUsers(job.conv, job.members, online, job.frame, job.except, trace);
    await out.flush();
  }
}
