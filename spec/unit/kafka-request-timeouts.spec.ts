/**
 * kafkajs request timeouts without a timer per connection (transport/log/kafka-idle-spin-fix.ts):
 * a connection arms no interval, a request in flight past its timeout is still rejected with
 * kafkajs' timeout error (its slot freed for the next), and an answered or rejected request
 * leaves no timer behind. Driven on kafkajs' own RequestQueue, with requests that a spec answers
 * or leaves unanswered, as a broker that stopped talking would.
 */
import { expect } from 'chai';
import { fixKafkaIdleSpin, kafkaRequestQueue } from '../../transport/log/kafka-idle-spin-fix.js';
import { waitFor } from '../support/wait-for.js';

interface Entry {
  correlationId: number;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Queue {
  inflight: Map<number, unknown>;
  pending: unknown[];
  scheduleRequestTimeoutCheck(): void;
  push(request: { entry: Entry; expectResponse: boolean; sendRequest(): void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  rejectAll(error: Error): void;
  destroy(): void;
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('kafkajs request timeouts, one timer per request in flight', function () {
  let queue: Queue;
  let sent: number[];

  beforeEach(function () {
    expect(fixKafkaIdleSpin(), 'the fix applies to this kafkajs').to.equal(true);
    const RequestQueue = kafkaRequestQueue() as unknown as new (options: Record<string, unknown>) => Queue;
    queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 40, enforceRequestTimeout: true, clientId: 'spec', broker: 'spec:9092', logger: quiet, isConnected: () => true });
    sent = [];
  });

  afterEach(function () {
    queue.destroy();
  });

  /** Pushes a request with `correlationId`; its outcome settles the returned promise. */
  function request(correlationId: number): Promise<{ ok: true } | { ok: false; error: Error }> {
    return new Promise((resolve) => {
      queue.push({
        entry: { correlationId, apiKey: 18, apiName: 'ApiVersions', apiVersion: 0, resolve: () => resolve({ ok: true }), reject: (error) => resolve({ ok: false, error }) },
        expectResponse: true,
        sendRequest: () => sent.push(correlationId),
      });
    });
  }

  it('arms no interval when a connection is made', function () {
    const original = globalThis.setInterval;
    let armed = 0;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => (armed++, original(...args))) as typeof setInterval;
    try {
      queue.scheduleRequestTimeoutCheck();
    } finally {
      globalThis.setInterval = original;
    }
    expect(armed).to.equal(0);
  });

  it('rejects a request left unanswered past its timeout with kafkajs’ timeout error, and sends the one waiting behind it', async function () {
    queue.scheduleRequestTimeoutCheck();
    const first = request(1);
    const second = request(2); // waits: one request in flight at most
    expect(sent).to.deep.equal([1]);
    const outcome = await first;
    expect(outcome.ok).to.equal(false);
    expect(outcome.ok === false && outcome.error.name).to.equal('KafkaJSRequestTimeoutError');
    await waitFor(() => sent.length === 2, { message: 'the waiting request sent' });
    queue.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    expect(await second).to.deep.equal({ ok: true });
  });

  /** Timers the process holds now. */
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('holds one timer per request in flight, cleared when the request is answered', async function () {
    queue.scheduleRequestTimeoutCheck();
    const before = timers();
    const answered = request(1);
    expect(timers(), 'a timer while the request is in flight').to.equal(before + 1);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(timers(), 'none once it is answered').to.equal(before);
    expect(await answered).to.deep.equal({ ok: true });
  });

  it('clears the timers of requests rejected with their connection', async function () {
    queue.scheduleRequestTimeoutCheck();
    const before = timers();
    const inFlight = request(1);
    queue.rejectAll(new Error('connection closed'));
    expect(timers()).to.equal(before);
    const outcome = await inFlight;
    expect(outcome.ok === false && outcome.error.message).to.equal('connection closed');
    expect(queue.inflight.size).to.equal(0);
  });
});
