/**
 * Fanout jobs of large groups (docs/architecture.md, "The send path, step by step", step 4). For a group over the
 * large-group threshold a conversation actor does not look up every member's presence nor
 * deliver itself: it splits the member list into chunks and produces one job per chunk to the
 * task topic, and the task role (actors/task/) delivers them.
 *
 * Jobs are keyed by conversation id, so one conversation's jobs share a partition and keep the
 * order they were produced in: members receive a group's messages in seq order. A batch's jobs
 * go out in one `send` (retried as a whole; a job appended twice is a frame pushed twice, which
 * clients drop by seq).
 */
import { retry } from '../../transport/errors.js';
import type { ProduceRecord, Producer } from '../../transport/log/port.js';
import type { Context } from '@opentelemetry/api';
import { encodeTask } from '../records/codec.js';
import { injectHeaders } from '../runtime/tracing.js';
import type { ConnAddress } from '../records/types.js';

/** One stored message to fan out. */
export interface FanoutMessage {
  conv: string;
  seq: number;
  /** The `msg` frame's JSON text. */
  frame: string;
  /** The sending connection, which gets the ack instead. */
  except?: ConnAddress;
  /** The send's trace context: the jobs carry it in their headers, so deliveries join the trace. */
  trace?: Context;
}

export class FanoutJobs {
  constructor(
    private readonly producer: Producer,
    /** The task topic (`log.taskTopic`). */
    readonly topic: string,
  ) {}

  batch(): FanoutBatch {
    return new FanoutBatch(this);
  }

  /** @internal */
  async send(records: ProduceRecord[]): Promise<void> {
    await retry(() => this.producer.send(this.topic, records), { attempts: 5 });
  }
}

export class FanoutBatch {
  private records: ProduceRecord[] = [];

  constructor(private readonly jobs: FanoutJobs) {}

  /** Jobs collected and not yet flushed. */
  get size(): number {
    return this.records.length;
  }

  /** Adds the jobs that deliver `message` to `members`: one job per `chunkSize` members. */
  add(message: FanoutMessage, members: readonly string[], chunkSize: number): void {
    const size = Math.max(1, Math.floor(chunkSize));
    const { trace, ...job } = message;
    const headers = trace === undefined ? undefined : injectHeaders(trace, {});
    for (let start = 0; start < members.length; start += size) {
      const value = encodeTask({ type: 'fanout', ...job, members: members.slice(start, start + size) });
      this.records.push(headers === undefined ? { key: message.conv, value } : { key: message.conv, value, headers });
    }
  }

  /** Produces every collected job in one send; resolves once all are appended. */
  async flush(): Promise<void> {
    if (this.records.length === 0) return;
    const records = this.records;
    this.records = [];
    await this.jobs.send(records);
  }
}
