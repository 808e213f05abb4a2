/**
 * Periodic chores that share one timer per period across the process, and stop ticking when
 * they have nothing to do.
 *
 * Every hosted partition runs the same chores (commit its watermark, passivate idle actors,
 * enforce record deadlines) on the same periods. With a timer each, a logic node hosting eight
 * partitions woke up eight times per commit period, and issued eight offset commits where one
 * request could carry them all; and it kept waking up when no record had come for hours. Here:
 * - the chores of one period run together, in one timer callback: one wakeup, and work the log
 *   batches (the Kafka consumer's commits of one turn leave as one request, kafka-consumer.ts);
 * - a chore whose run answers `false` (nothing left to do) leaves the timer until its owner
 *   calls `wake()` again, and a period with no chore left has no timer: an idle process does
 *   not wake up for them at all.
 *
 * Timers are unref'd: a chore never holds the process open. A chore that throws does not stop
 * the others of its round (the error is rethrown asynchronously, like any timer's) and is kept.
 */

export class Chore {
  private registered = false;
  private cancelled = false;

  /**
   * `run` does the chore and answers whether it should run again on the next tick (`false`
   * once there is nothing left to do; `wake()` brings it back).
   */
  constructor(
    readonly periodMs: number,
    private readonly run: () => boolean,
  ) {}

  /** Makes sure the chore runs on its period's next tick (a no-op while it is ticking). */
  wake(): void {
    if (this.registered || this.cancelled) return;
    this.registered = true;
    join(this);
  }

  /** Stops the chore for good. */
  cancel(): void {
    this.cancelled = true;
    if (!this.registered) return;
    this.registered = false;
    leave(this);
  }

  /** @internal One tick: runs, and answers whether to stay. */
  tick(): boolean {
    let again = true;
    try {
      again = this.run();
    } catch (err) {
      // Like an uncaught error in a timer of its own, but after the other chores have run.
      queueMicrotask(() => {
        throw err;
      });
    }
    if (again && !this.cancelled) return true;
    this.registered = false;
    return false;
  }
}

interface Shared {
  timer: NodeJS.Timeout;
  chores: Set<Chore>;
}

const byPeriod = new Map<number, Shared>();

function join(chore: Chore): void {
  let shared = byPeriod.get(chore.periodMs);
  if (shared === undefined) {
    const chores = new Set<Chore>();
    const timer = setInterval(() => runAll(chore.periodMs, chores), chore.periodMs);
    timer.unref();
    shared = { timer, chores };
    byPeriod.set(chore.periodMs, shared);
  }
  shared.chores.add(chore);
}

function leave(chore: Chore): void {
  const shared = byPeriod.get(chore.periodMs);
  if (shared === undefined) return;
  shared.chores.delete(chore);
  if (shared.chores.size === 0) {
    clearInterval(shared.timer);
    byPeriod.delete(chore.periodMs);
  }
}

function runAll(periodMs: number, chores: Set<Chore>): void {
  for (const chore of [...chores]) {
    if (!chores.has(chore)) continue; // cancelled by an earlier chore of this round
    if (!chore.tick()) chores.delete(chore);
  }
  if (chores.size === 0 && byPeriod.get(periodMs)?.chores === chores) {
    clearInterval(byPeriod.get(periodMs)!.timer);
    byPeriod.delete(periodMs);
  }
}

/** Periods with a live timer (for specs). */
export function sharedIntervalCount(): number {
  return byPeriod.size;
}
