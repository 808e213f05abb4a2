/**
 * Fanout jobs of large groups (docs/architecture.md, "Large groups"). For a group over the
 * large-group threshold a conversation actor does not look up members' presence nor deliver
 * itself: every frame the group produces (msg, typing, read, member, conversation) becomes
 * jobs on the task topic, and the task role (actors/task/) delivers them. A frame for every
 * member is one job per task pool slot that names no member, only the slot's digest
 * (member-slots.ts); a frame for some members (the ones added, the one who left) is one job per
 * chunk of at most `task.chunkSize` of them per slot; a change of members or of a read cursor
 * is one `members` job per slot it touches, which keeps the task role's copy of the slot current.
 *
 * A slot's jobs are keyed `<conv>#<slot>`, so they share a partition and a worker and keep the
 * order they were produced in: each member receives a group's frames in order, while the
 * group's slots proceed in parallel. A batch's jobs go out in one `send` (retried as a whole; a
 * job appended twice is a frame pushed twice, which clients drop by seq).
 */
import { retry } from '../../transport/errors.js';
import type { LogHeaders, ProduceRecord, Producer } from '../../transport/log/port.js';
import type { Context } from '@opentelemetry/api';
import { encodeTask } from '../records/codec.js';
import type { MembersJobRecord, SlotDigest, TaskRecord } from '../records/types.js';
import { injectHeaders } from '../runtime/tracing.js';
import { slotKey, slotOf } from './member-slots.js';

/** Bytes of job values in one send at most (a single larger job goes alone). */
export const MAX_SEND_BYTES = 512 * 1024;

/** Members who joined or left a large group, and read cursors that moved. */
export interface MemberChange {
  added?: readonly string[];
  removed?: readonly string[];
  cursors?: ReadonlyArray<{ user: string; seq: number }>;
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

  /**
   * @internal Produces the records in sends of at most MAX_SEND_BYTES each, one after another (so
   * each key keeps its order): a 100,000-member group's message is about 2 MB of jobs, and Kafka
   * refuses a record batch over `message.max.bytes` (1 MB by default).
   */
  async send(records: ProduceRecord[]): Promise<void> {
    for (const part of underBytes(records, MAX_SEND_BYTES)) await retry(() => this.producer.send(this.topic, part), { attempts: 5 });
  }
}

export class FanoutBatch {
  private records: ProduceRecord[] = [];

  constructor(private readonly jobs: FanoutJobs) {}

  /** Jobs collected and not yet flushed. */
  get size(): number {
    return this.records.length;
  }

  /**
   * Adds one job per chunk of at most `chunkSize` members of each slot, made by `make` from the
   * chunk's members. With `trace`, the jobs' headers carry it on, so deliveries join the trace.
   */
  add(conv: string, slots: readonly (readonly string[])[], chunkSize: number, make: (members: string[]) => TaskRecord, trace?: Context): void {
    const size = Math.max(1, Math.floor(chunkSize));
    const headers = headersOf(trace);
    for (const [slot, members] of slots.entries()) {
      for (let start = 0; start < members.length; start += size) this.push(slotKey(conv, slot), make(members.slice(start, start + size)), headers);
    }
  }

  /**
   * Adds one job for every member of each slot digested, made by `make` from the digest: the job
   * names no member, the task role takes them from its copy of the slot (member-slots.ts).
   */
  addWhole(conv: string, slots: readonly SlotDigest[], make: (digest: SlotDigest) => TaskRecord, trace?: Context): void {
    const headers = headersOf(trace);
    for (const digest of slots) this.push(slotKey(conv, digest.slot), make(digest), headers);
  }

  /**
   * Adds, for each slot the change touches, the job that carries it to the task role's copy of
   * the slot; it goes ahead of the jobs added after it.
   */
  addChange(conv: string, poolSize: number, change: MemberChange): void {
    const bySlotOf = new Map<number, MembersJobRecord>();
    const jobOf = (user: string): MembersJobRecord => {
      const slot = slotOf(user, poolSize);
      let job = bySlotOf.get(slot);
      if (job === undefined) bySlotOf.set(slot, (job = { type: 'members', conv, added: [], removed: [], cursors: [] }));
      return job;
    };
    for (const user of change.added ?? []) jobOf(user).added.push(user);
    for (const user of change.removed ?? []) jobOf(user).removed.push(user);
    for (const cursor of change.cursors ?? []) jobOf(cursor.user).cursors.push(cursor);
    for (const [slot, job] of bySlotOf) this.push(slotKey(conv, slot), job, undefined);
  }

  private push(key: string, job: TaskRecord, headers: LogHeaders | undefined): void {
    const value = encodeTask(job);
    this.records.push(headers === undefined ? { key, value } : { key, value, headers });
  }

  /** Produces every collected job in one send; resolves once all are appended. */
  async flush(): Promise<void> {
    if (this.records.length === 0) return;
    const records = this.records;
    this.records = [];
    await this.jobs.send(records);
  }
}

function headersOf(trace: Context | undefined): LogHeaders | undefined {
  return trace === undefined ? undefined : injectHeaders(trace, {});
}

/** `records` cut, in order, into runs whose values add up to at most `limit` bytes (a larger record alone). */
function underBytes(records: ProduceRecord[], limit: number): ProduceRecord[][] {
  const runs: ProduceRecord[][] = [];
  let run: ProduceRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    if (run.length > 0 && bytes + record.value.byteLength > limit) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(record);
    bytes += record.value.byteLength;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
