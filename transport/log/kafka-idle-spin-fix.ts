/**
 * Stops kafkajs 2.2.4 from spinning on every idle connection.
 *
 * Each broker connection has a request queue whose `scheduleCheckPendingRequests` re-arms a
 * timer after every check, even with nothing pending and no throttle in force. Its delay is then
 * `throttledUntil - Date.now()`, a large negative number, which Node runs as 1 ms. So every
 * connection that ever finished a request wakes the event loop a thousand times a second for
 * good (measured on an idle logic node: 1,750 wakeups a second, about 4 % of a core per role
 * process, the bulk of an idle cluster's CPU). This is kafkajs issues 1556 and 1704; the fixes
 * proposed upstream are unreleased, and kafkajs is no longer maintained.
 *
 * The same timer also polls every 10 ms while requests wait for an in-flight slot, which is
 * what a consumer's heartbeat does behind a fetch the broker holds (librdkafka's mock holds one
 * for the whole fetch wait): 70 wakeups a second on an idle gateway. That poll is useless too,
 * because every request that leaves the in-flight set (answered or timed out) runs the check
 * itself, which sends what waits.
 *
 * So the timer is armed only while a broker's throttle is in force, the one case in which
 * nothing else would run the check when it ends; otherwise the original does nothing useful and
 * is skipped.
 *
 * It patches the class's prototype, once per process, and checks the shape it relies on first:
 * a kafkajs that changed it is left alone, and spec/transport/log-kafka.spec.ts, which counts
 * the timers an idle consumer arms, then fails.
 */
import { createRequire } from 'node:module';

interface RequestQueueShape {
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('troupe:kafkajs-idle-spin-fix');

/** Whether the guard is in place (false: this kafkajs keeps its request queue elsewhere). */
export function fixKafkaIdleSpin(): boolean {
  let RequestQueue: { prototype: RequestQueueShape & { [PATCHED]?: true } };
  try {
    RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as typeof RequestQueue;
  } catch {
    return false;
  }
  const proto = RequestQueue.prototype;
  if (proto[PATCHED] === true) return true;
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function') return false;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
    if (this.throttledUntil > Date.now()) original.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
