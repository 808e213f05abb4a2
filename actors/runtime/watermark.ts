/**
 * Tracks the records of one partition that are in flight and answers which offset may be
 * committed: the lowest one not yet finished (docs/architecture.md, "The send path, step by step", step 2).
 *
 * Records are tracked in offset order and may finish in any order; committing the lowest
 * unfinished offset means a crash replays finished records after it (at-least-once), but never
 * skips an unfinished one.
 */
export class Watermark {
  /** Offsets in flight, ascending; entries before `head` are finished and popped. */
  private offsets: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  /** Next offset to commit when nothing is in flight: one past the last tracked record. */
  private next: number;

  constructor(startOffset: number) {
    this.next = startOffset;
  }

  get inFlight(): number {
    return this.offsets.length - this.head;
  }

  track(offset: number): void {
    this.offsets.push(offset);
    this.next = offset + 1;
  }

  finish(offset: number): void {
    if (this.offsets[this.head] !== offset) {
      this.finished.add(offset);
      return;
    }
    this.head++;
    while (this.head < this.offsets.length && this.finished.delete(this.offsets[this.head] as number)) this.head++;
    if (this.head === this.offsets.length) {
      this.offsets = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** The offset of the next record to read after a restart: the lowest unfinished one. */
  committable(): number {
    return this.head < this.offsets.length ? (this.offsets[this.head] as number) : this.next;
  }
}
