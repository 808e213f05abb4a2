/**
 * Appends of one turn that go to the same repo node leave as one `AppendEach` call.
 *
 * A logic node handles the records of one log fetch together, so the conversation actors it
 * hosts ask to append in bursts, one conversation each. As separate unary calls, each woke the
 * repo node and then the logic node once, and paid gRPC's per-call cost on both sides; on small
 * machines a wakeup costs more CPU than the append (docs/architecture.md, "Where the cluster's
 * CPU goes"). Here the appends of one turn (gathered until `setImmediate`) are grouped by the
 * node their routing key resolves to: a group of one goes as the usual `AppendMessages`, a
 * larger one as one `AppendEach`, whose appends the node runs side by side (its group commit
 * may put them in one transaction) and answers one by one.
 *
 * Each caller's promise keeps the meaning of a call of its own:
 * - an append the node wrote resolves; one it refused rejects with that TroupeError;
 * - an append refused with `not_owner` (its shard is not, or no longer, on that node: nothing
 *   was done) is sent again alone, as `AppendMessages`, which follows the route to the owner;
 * - a failed `AppendEach` call (the node unreachable, the deadline passed) rejects every append
 *   in it with that error, as each would have failed alone. Appends are never retried after
 *   such a failure: whether they were written is unknown, and a repeat is a `conflict`.
 */
import type * as wire from '../../proto/gen/troupe/v1/repo.js';
import { TroupeError } from '../errors.js';
import { isTroupeErrorCode } from '../rpc/status.js';
import { TurnBatch } from '../turn-batch.js';

export interface AppendTransport {
  /** The node (`host:port`) an append goes to, or undefined when no node owns its shard. */
  targetOf(request: wire.AppendMessagesRequest): string | undefined;
  /** One append as `AppendMessages`, routed (and re-routed) by its own key. */
  one(request: wire.AppendMessagesRequest): Promise<void>;
  /** Several as `AppendEach`, routed by the first one's key. */
  each(request: wire.AppendEachRequest): Promise<wire.AppendEachResponse>;
}

interface Waiter {
  request: wire.AppendMessagesRequest;
  resolve(): void;
  reject(error: unknown): void;
}

export class AppendCoalescer {
  private readonly waiting = new TurnBatch<Waiter>((waiters) => this.flush(waiters));
  /** `AppendEach` calls made (for specs and metrics). */
  eachCalls = 0;

  constructor(private readonly transport: AppendTransport) {}

  append(request: wire.AppendMessagesRequest): Promise<void> {
    return new Promise((resolve, reject) => this.waiting.add({ request, resolve, reject }));
  }

  private flush(waiters: Waiter[]): void {
    // Alone in its turn: the usual call, which resolves its own route.
    if (waiters.length === 1) return this.sendAlone(waiters[0]!);
    const byNode = new Map<string, Waiter[]>();
    for (const waiter of waiters) {
      const node = this.nodeOf(waiter.request);
      // No owner known: alone, so that the usual call reports (or waits out) the missing route.
      if (node === undefined) {
        this.sendAlone(waiter);
        continue;
      }
      const group = byNode.get(node);
      if (group === undefined) byNode.set(node, [waiter]);
      else group.push(waiter);
    }
    for (const group of byNode.values()) {
      if (group.length === 1) this.sendAlone(group[0]!);
      else this.sendTogether(group);
    }
  }

  /** The append's node; a route lookup that throws counts as none known (the usual call then reports it). */
  private nodeOf(request: wire.AppendMessagesRequest): string | undefined {
    try {
      return this.transport.targetOf(request);
    } catch {
      return undefined;
    }
  }

  private sendAlone(waiter: Waiter): void {
    // Through a promise, so that a transport that throws rejects its caller rather than the flush.
    Promise.resolve()
      .then(() => this.transport.one(waiter.request))
      .then(waiter.resolve, waiter.reject);
  }

  private sendTogether(group: Waiter[]): void {
    this.eachCalls++;
    Promise.resolve()
      .then(() => this.transport.each({ appends: group.map((w) => w.request) }))
      .then(
      ({ outcomes }) => {
        if (outcomes.length !== group.length) {
          const error = new TroupeError('internal', `appendEach: ${outcomes.length} outcomes for ${group.length} appends`);
          for (const waiter of group) waiter.reject(error);
          return;
        }
        group.forEach((waiter, i) => this.settle(waiter, outcomes[i]!));
      },
      (error: unknown) => {
        for (const waiter of group) waiter.reject(error);
      },
    );
  }

  private settle(waiter: Waiter, outcome: wire.AppendOutcome): void {
    if (outcome.code === '') return waiter.resolve();
    if (outcome.code === 'not_owner') return this.sendAlone(waiter);
    const code = isTroupeErrorCode(outcome.code) ? outcome.code : 'internal';
    waiter.reject(new TroupeError(code, outcome.message, { retriable: outcome.retriable }));
  }
}
