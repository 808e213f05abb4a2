/**
 * The open-loop schedule: send i is due at `startAt + i / rate`, whatever happened before it.
 * A tick hands out every send that is due by `now`, each with its *intended* time, so a slow
 * server or a busy generator cannot slow the clock: latency measured from the intended time
 * includes the time a send waited to be sent (no coordinated omission).
 *
 * The clock is passed in, so the schedule is tested with a fake one.
 */

export interface ScheduledSend {
  /** 0, 1, 2, … in schedule order. */
  index: number;
  /** When it should have gone out, on the caller's clock (ms). */
  intendedAt: number;
}

export interface OpenLoopOptions {
  /** Sends per second. */
  rate: number;
  /** Time of send 0, on the caller's clock (ms). */
  startAt: number;
  /** Sends in all. */
  total: number;
  /** At most this many sends per tick, so replies are still read while the generator catches up. */
  maxPerTick?: number;
}

export class OpenLoopSchedule {
  private next = 0;
  private readonly intervalMs: number;
  private readonly maxPerTick: number;

  constructor(private readonly options: OpenLoopOptions) {
    this.intervalMs = 1000 / options.rate;
    this.maxPerTick = options.maxPerTick ?? 2000;
  }

  /** Every send due by `now` (at most maxPerTick), in order; the rest wait for the next tick. */
  due(now: number): ScheduledSend[] {
    const out: ScheduledSend[] = [];
    while (this.next < this.options.total && out.length < this.maxPerTick) {
      const intendedAt = this.options.startAt + this.next * this.intervalMs;
      if (intendedAt > now) break;
      out.push({ index: this.next, intendedAt });
      this.next += 1;
    }
    return out;
  }

  /** Sends handed out so far. */
  get handedOut(): number {
    return this.next;
  }

  get done(): boolean {
    return this.next >= this.options.total;
  }

  /** When the last send is due (ms, caller's clock). */
  get endsAt(): number {
    return this.options.startAt + Math.max(0, this.options.total - 1) * this.intervalMs;
  }
}
