/**
 * Periodic callbacks that share one timer per period across the process.
 *
 * Every hosted partition runs the same chores (commit its watermark, passivate idle actors,
 * enforce record deadlines) on the same periods. With a timer each, a logic node hosting eight
 * partitions woke up eight times per commit period, and issued eight offset commits where one
 * request could carry them all. Here the callbacks of one period run together, in one timer
 * callback: one wakeup, and work the log batches (the Kafka consumer's commits of one turn leave
 * as one request, kafka-consumer.ts).
 *
 * Timers are unref'd: a periodic chore never holds the process open. A callback that throws does
 * not stop the others (the error is reported to `onError`, by default rethrown asynchronously
 * like any timer's).
 */

type Tick = () => void;

interface Shared {
  timer: NodeJS.Timeout;
  ticks: Set<Tick>;
}

const byPeriod = new Map<number, Shared>();

/** Runs `tick` every `periodMs` with every other tick of that period; returns the cancel. */
export function everyMs(periodMs: number, tick: Tick): () => void {
  let shared = byPeriod.get(periodMs);
  if (shared === undefined) {
    const ticks = new Set<Tick>();
    const timer = setInterval(() => runAll(ticks), periodMs);
    timer.unref();
    shared = { timer, ticks };
    byPeriod.set(periodMs, shared);
  }
  // A callback added twice runs twice: each registration is its own entry.
  const own: Tick = () => tick();
  shared.ticks.add(own);
  const registered = shared;
  return () => {
    if (!registered.ticks.delete(own)) return;
    if (registered.ticks.size === 0 && byPeriod.get(periodMs) === registered) {
      clearInterval(registered.timer);
      byPeriod.delete(periodMs);
    }
  };
}

/** Periods with a live timer (for specs). */
export function sharedIntervalCount(): number {
  return byPeriod.size;
}

function runAll(ticks: Set<Tick>): void {
  for (const tick of [...ticks]) {
    try {
      tick();
    } catch (err) {
      // Like an uncaught error in a timer of its own, but after the other ticks have run.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
