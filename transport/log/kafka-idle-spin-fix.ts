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
 * **Request timeouts.** Each connection also runs a 100 ms interval for its whole life, checking
 * whether any in-flight request is past its timeout: ten wakeups a second per connection,
 * whether or not anything is in flight (an idle logic node: three connections, thirty wakeups a
 * second, most of what it then spends). Instead, each request in flight gets its own timer, due
 * when its timeout runs out and cleared when it is answered or rejected: nothing runs until a
 * request really times out, and what times out does so as before (the request rejected with
 * kafkajs' request timeout error, its slot freed for the next).
 *
 * It patches the class's prototype, once per process, and checks the shape it relies on first:
 * a kafkajs that changed it is left alone, and spec/transport/log-kafka.spec.ts, which counts
 * the timers an idle consumer arms, then fails.
 */
import { createRequire } from 'node:module';

/** kafkajs' SocketRequest, as far as the timeout relies on it. */
interface SocketRequestShape {
  correlationId: number;
  requestTimeout: number;
  timeoutRequest(): void;
  [TIMEOUT]?: NodeJS.Timeout;
}

interface RequestQueueShape {
  throttledUntil: number;
  enforceRequestTimeout: boolean;
  inflight: Map<number, SocketRequestShape>;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest(request: SocketRequestShape): void;
  fulfillRequest(response: { correlationId: number }): void;
  rejectAll(error: Error): void;
  destroy(): void;
}

const PATCHED = Symbol.for('troupe:kafkajs-idle-spin-fix');
const TIMEOUT = Symbol('troupe:kafkajs-request-timeout');

type RequestQueueClass = { prototype: RequestQueueShape & { [PATCHED]?: true } };

/** kafkajs' RequestQueue class, or null when this kafkajs keeps it elsewhere. */
export function kafkaRequestQueue(): RequestQueueClass | null {
  try {
    return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
  } catch {
    return null;
  }
}

/** Whether the guards are in place (false: this kafkajs keeps its request queue elsewhere, or in another shape). */
export function fixKafkaIdleSpin(): boolean {
  const RequestQueue = kafkaRequestQueue();
  if (RequestQueue === null) return false;
  const proto = RequestQueue.prototype;
  if (proto[PATCHED] === true) return true;
  const { scheduleCheckPendingRequests, sendSocketRequest, fulfillRequest, rejectAll } = proto;
  const shaped = [scheduleCheckPendingRequests, proto.scheduleRequestTimeoutCheck, sendSocketRequest, fulfillRequest, rejectAll, proto.destroy].every((f) => typeof f === 'function');
  if (!shaped) return false;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
    if (this.throttledUntil > Date.now()) scheduleCheckPendingRequests.call(this);
  };
  // No interval per connection: clear what the original cleared, and arm nothing.
  proto.scheduleRequestTimeoutCheck = function (this: RequestQueueShape): void {
    this.destroy();
  };
  proto.sendSocketRequest = function (this: RequestQueueShape, request: SocketRequestShape): void {
    sendSocketRequest.call(this, request);
    if (!this.enforceRequestTimeout || this.inflight.get(request.correlationId) !== request) return;
    request[TIMEOUT] = setTimeout(() => {
      if (this.inflight.get(request.correlationId) === request) request.timeoutRequest();
    }, request.requestTimeout);
  };
  proto.fulfillRequest = function (this: RequestQueueShape, response: { correlationId: number }): void {
    clearTimeout(this.inflight.get(response.correlationId)?.[TIMEOUT]);
    fulfillRequest.call(this, response);
  };
  proto.rejectAll = function (this: RequestQueueShape, error: Error): void {
    for (const request of this.inflight.values()) clearTimeout(request[TIMEOUT]);
    rejectAll.call(this, error);
  };
  proto[PATCHED] = true;
  return true;
}
