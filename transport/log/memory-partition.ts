/**
 * One partition of the in-process log (memory.ts): its retained records, the committed offsets
 * of the groups that read it, and the delivery loops waiting for its next record.
 *
 * Offsets are plain numbers here (exact up to 2^53, which an embedded server never reaches) and
 * become decimal strings only at the port. Records live in one array with an offset `base` and a
 * `head` below which entries are dropped; the array is compacted (one copy) once the dropped
 * prefix is at least half of it, so trimming costs O(1) amortised per record, not a shift each.
 */

import type { LogHeaders, LogRecord } from './port.js';

/** Something that wants to hear once when the partition gets a new record. */
export interface AppendWaiter {
  wake(): void;
}

/** Dropped entries below this many are not worth a compaction copy yet. */
const MIN_COMPACTION = 1024;

export class MemoryPartition {
  /** records[i] has offset base + i; entries below `head` are dropped (undefined). */
  private records: (LogRecord | undefined)[] = [];
  private base = 0;
  private head = 0;
  /** Committed offset (the next to read) per consumer group. */
  private readonly commits = new Map<string, number>();
  private readonly waiters = new Set<AppendWaiter>();

  constructor(
    readonly topic: string,
    readonly index: number,
    private readonly maxRetained: number,
  ) {}

  /** Offset of the oldest retained record (equal to `end` when none is retained). */
  get earliest(): number {
    return this.base + this.head;
  }

  /** Offset the next appended record gets. */
  get end(): number {
    return this.base + this.records.length;
  }

  /**
   * Appends one record and wakes the waiting delivery loops (they run in a later microtask, never
   * inside the producer's call). Enforces the retention cap by dropping the oldest records.
   */
  append(key: string, value: Uint8Array, headers: LogHeaders, timestamp: number): LogRecord {
    const record: LogRecord = {
      topic: this.topic,
      partition: this.index,
      offset: String(this.end),
      key,
      value,
      headers,
      timestamp,
    };
    this.records.push(record);
    if (this.records.length - this.head > this.maxRetained) this.trimTo(this.end - this.maxRetained);
    if (this.waiters.size > 0) {
      for (const waiter of this.waiters) waiter.wake();
      this.waiters.clear();
    }
    return record;
  }

  /** Up to `max` records from `from` (which must be within [earliest, end]). */
  read(from: number, max: number): LogRecord[] {
    const start = from - this.base;
    return this.records.slice(start, start + max) as LogRecord[];
  }

  /** Wakes `waiter` once, at the next append. */
  waitForAppend(waiter: AppendWaiter): void {
    this.waiters.add(waiter);
  }

  cancelWait(waiter: AppendWaiter): void {
    this.waiters.delete(waiter);
  }

  committed(groupId: string): number | undefined {
    return this.commits.get(groupId);
  }

  /** Records a group's commit; a lower offset than the current one is ignored. */
  commit(groupId: string, offset: number): void {
    const current = this.commits.get(groupId);
    if (current === undefined || offset > current) this.commits.set(groupId, offset);
  }

  /**
   * Drops the records every one of `groups` has committed past. A group that has not committed
   * on this partition yet may still want everything, so it keeps every record.
   */
  trimCommitted(groups: Iterable<string>): void {
    let lowest = Infinity;
    for (const group of groups) {
      const offset = this.commits.get(group);
      if (offset === undefined) return;
      if (offset < lowest) lowest = offset;
    }
    if (lowest !== Infinity) this.trimTo(lowest);
  }

  /** Drops every record below `offset` (clamped to the retained range). */
  private trimTo(offset: number): void {
    const target = Math.min(offset, this.end) - this.base;
    if (target <= this.head) return;
    for (let i = this.head; i < target; i++) this.records[i] = undefined;
    this.head = target;
    if (this.head >= MIN_COMPACTION && this.head * 2 >= this.records.length) {
      this.records = this.records.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
