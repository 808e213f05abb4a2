/**
 * Requests that need an actor's answer (a member change must be ordered with the messages its
 * conversation is taking): produced to `im-upstream` with this gateway as the reply address,
 * answered by a `reply` record on this gateway's downstream topic.
 */
import { randomBytes } from 'node:crypto';
import { TroupeError, type ErrorCode } from '../../transport/errors.js';
import type { Producer } from '../../transport/log/port.js';
import { upstreamRecord } from '../records/upstream-record.js';
import type { ReplyAddress, ReplyRecord, UpstreamRecord } from '../records/types.js';

interface Waiting {
  resolve: (result: unknown) => void;
  reject: (err: TroupeError) => void;
  timer: NodeJS.Timeout;
}

export class LogRequests {
  private readonly waiting = new Map<string, Waiting>();
  private counter = 0;
  private readonly prefix = randomBytes(6).toString('base64url');

  constructor(
    private readonly producer: Producer,
    private readonly upstreamTopic: string,
    private readonly gatewayId: string,
    private readonly timeoutMs: number,
  ) {}

  /** Produces the record made by `build` (given the reply address) and waits for its answer. */
  async request(key: string, build: (reply: ReplyAddress) => UpstreamRecord): Promise<unknown> {
    const requestId = `${this.prefix}-${++this.counter}`;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new TroupeError('timeout', 'no answer in time; the change may or may not have happened'));
      }, this.timeoutMs);
      timer.unref();
      this.waiting.set(requestId, { resolve, reject, timer });
    });
    try {
      await this.producer.send(this.upstreamTopic, [upstreamRecord(key, build({ gatewayId: this.gatewayId, requestId }))]);
    } catch (err) {
      this.settle(requestId)?.reject(new TroupeError('unavailable', 'could not reach logic', { cause: err }));
    }
    return answer;
  }

  /** A `reply` record from the downstream topic. Unknown ids (timed out) are ignored. */
  onReply(reply: ReplyRecord): void {
    const waiting = this.settle(reply.requestId);
    if (waiting === undefined) return;
    if (reply.error !== undefined) {
      waiting.reject(new TroupeError(reply.error.code as ErrorCode, reply.error.message));
      return;
    }
    // A reply that does not parse fails its own request, never the downstream consumer.
    try {
      waiting.resolve(reply.result === undefined ? null : JSON.parse(reply.result));
    } catch (err) {
      waiting.reject(new TroupeError('internal', 'a reply from logic did not parse', { cause: err }));
    }
  }

  /** Fails every waiting request (shutdown). */
  close(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(new TroupeError('closed', 'gateway shutting down'));
  }

  private settle(requestId: string): Waiting | undefined {
    const waiting = this.waiting.get(requestId);
    if (waiting === undefined) return undefined;
    clearTimeout(waiting.timer);
    this.waiting.delete(requestId);
    return waiting;
  }
}
